"""The ``render`` entry point: input checks, backend dispatch, and the benchmark's scene."""

from __future__ import annotations

import dataclasses
import importlib
import sys
import types

import pytest
import torch

import core.render as render_api
from core.errors import LcaError
from core.render import Camera, SplatScene, render
from core.render.benchmark import RenderBench, bench_render, body_camera, synthetic_body
from core.render.gsplat_backend import GsplatUnavailableError, render_with
from core.render.render import gsplat_available
from core.render.torch_backend import render_torch

# The module (``core.render.render`` as an attribute is the function, not the module).
RENDER_MODULE = importlib.import_module("core.render.render")
PASSES = ("rgb", "alpha", "depth", "normal", "part")


def _scene(n: int = 20, dtype: torch.dtype = torch.float32) -> SplatScene:
    g = torch.Generator().manual_seed(0)
    quats = torch.randn(n, 4, generator=g)
    return SplatScene(
        means=(torch.rand(n, 3, generator=g) - 0.5).to(dtype),
        quats=(quats / quats.norm(dim=-1, keepdim=True)).to(dtype),
        scales=torch.full((n, 3), 0.03, dtype=dtype),
        opacities=torch.full((n,), 0.8, dtype=dtype),
        sh=torch.zeros(n, 1, 3, dtype=dtype),
        parts=torch.arange(n),
    )


def _camera() -> Camera:
    return render_api.orbit_camera((0.0, 0.0, 0.0), 3.0, 20.0, 10.0, 40, 30, fov_y_deg=40.0)


def test_render_auto_and_torch_agree_and_return_all_passes():
    scene = _scene()
    auto = render(scene, _camera(), background=(0.1, 0.2, 0.3))
    reference = render(scene, _camera(), background=(0.1, 0.2, 0.3), backend="torch", tile_size=16)
    assert auto.rgb.shape == (30, 40, 3) and auto.part.dtype == torch.int64
    assert auto.alpha.max() > 0.5 and (auto.part >= 0).any()
    for name in ("rgb", "alpha", "depth", "normal"):  # float32: summation order differs
        torch.testing.assert_close(getattr(auto, name), getattr(reference, name), atol=1e-4, rtol=0)
    assert (auto.part != reference.part).sum() <= 2  # near-ties may flip


def test_camera_is_cast_to_the_scene_dtype():
    result = render(_scene(dtype=torch.float64), _camera())
    assert result.rgb.dtype == torch.float64


def test_gsplat_backend_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(LcaError) as err:
        render(_scene(), _camera(), backend="gsplat")
    assert (
        str(err.value) == "The gsplat backend needs an NVIDIA GPU with CUDA; use --backend torch."
    )
    assert "gsplat" not in sys.modules


def _same(a, b) -> bool:
    return all(torch.equal(getattr(a, name), getattr(b, name)) for name in PASSES)


def test_auto_picks_torch_without_cuda_and_never_imports_gsplat(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    scene = _scene()
    auto = render(scene, _camera(), backend="auto")
    assert _same(auto, render(scene, _camera(), backend="torch"))
    assert not gsplat_available()
    assert "gsplat" not in sys.modules


def test_gsplat_available_checks_cuda_first_then_the_import(monkeypatch):
    # A stand-in module: importing it is harmless, and the real gsplat is never touched.
    monkeypatch.setitem(sys.modules, "gsplat", types.ModuleType("gsplat"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert not gsplat_available()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert gsplat_available()
    monkeypatch.setitem(sys.modules, "gsplat", None)  # `import gsplat` raises ImportError
    assert not gsplat_available()


def test_dispatch_with_cuda(monkeypatch):
    calls = []

    def stand_in(scene, camera, background):
        calls.append(tuple(background.tolist()))
        return render_torch(scene, camera, background)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(RENDER_MODULE, "render_gsplat", stand_in)
    monkeypatch.setattr(RENDER_MODULE, "gsplat_available", lambda: True)
    scene, camera = _scene(), _camera()
    render(scene, camera, background=(0.1, 0.2, 0.3), backend="gsplat")
    render(scene, camera, backend="auto")
    render(scene, camera, backend="torch")
    assert len(calls) == 2 and calls[0] == pytest.approx((0.1, 0.2, 0.3))
    monkeypatch.setattr(RENDER_MODULE, "gsplat_available", lambda: False)  # gsplat missing
    render(scene, camera, backend="auto")
    assert len(calls) == 2


def test_auto_falls_back_when_gsplat_cannot_load_its_kernels(monkeypatch):
    def unavailable(scene, camera, background):
        raise GsplatUnavailableError("The gsplat backend could not load; use --backend torch.")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(RENDER_MODULE, "render_gsplat", unavailable)
    monkeypatch.setattr(RENDER_MODULE, "gsplat_available", lambda: True)
    scene, camera = _scene(), _camera()
    with pytest.warns(RuntimeWarning, match="rendered with the torch backend") as caught:
        auto = render(scene, camera, backend="auto")
    message = str(caught[0].message)
    assert message.endswith(".") and ". " not in message  # one sentence
    assert _same(auto, render(scene, camera, backend="torch"))
    with pytest.raises(GsplatUnavailableError):
        render(scene, camera, backend="gsplat")


def test_gsplat_out_of_memory_falls_back_through_render(monkeypatch):
    def out_of_memory(**kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory.")

    def on_cpu(scene, camera, background):  # the backend as on CUDA, run on the CPU
        return render_with(out_of_memory, scene, camera, background, torch.device("cpu"))

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(RENDER_MODULE, "render_gsplat", on_cpu)
    scene, camera = _scene(), _camera()
    with pytest.warns(RuntimeWarning, match="ran out of memory rendering 20 Gaussians at 40x30"):
        result = render(scene, camera, backend="gsplat")
    assert _same(result, render(scene, camera, backend="torch"))


def test_bad_inputs():
    scene, camera = _scene(), _camera()
    with pytest.raises(ValueError, match="backend"):
        render(scene, camera, backend="vulkan")
    with pytest.raises(ValueError, match="background"):
        render(scene, camera, background=(0.0, 0.0))
    with pytest.raises(ValueError, match="tile_size"):
        render(scene, camera, tile_size=0)
    mixed = dataclasses.replace(scene, means=scene.means.double())
    with pytest.raises(ValueError, match="SplatScene.quats"):
        render(mixed, camera)
    broken = dataclasses.replace(scene, scales=scene.scales.clone().fill_(float("nan")))
    with pytest.raises(ValueError, match="SplatScene.scales has NaN"):
        render(broken, camera)
    float_parts = dataclasses.replace(scene, parts=scene.parts.float())
    with pytest.raises(ValueError, match="SplatScene.parts must be an integer"):
        render(float_parts, camera)


def test_synthetic_body_and_bench():
    scene = synthetic_body(3000, seed=1)
    assert scene.count == 3000 and scene.sh.shape == (3000, 16, 3)
    height = scene.means[:, 2].max() - scene.means[:, 2].min()
    assert 1.6 < float(height) < 1.8
    camera = body_camera(scene, 64, 48)
    with torch.no_grad():
        result = render(scene, camera)
    rows = (result.alpha > 0.5).any(dim=1).nonzero()
    covered = int(rows.max() - rows.min() + 1) / 48
    assert 0.7 < covered < 0.85  # the body fills ~80% of the height
    bench = bench_render(32, 24, 500, repeats=2)
    assert isinstance(bench, RenderBench)
    assert (bench.width, bench.height, bench.count, bench.repeats) == (32, 24, 500, 2)
    assert 0 < bench.min_s <= bench.median_s
