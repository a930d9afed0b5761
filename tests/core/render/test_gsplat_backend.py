"""The gsplat backend's own logic on the CPU, around a pure-torch stand-in for gsplat.

gsplat itself needs CUDA (tests/gpu compares it with the torch reference there). Here
``_dense_rasterization`` plays ``gsplat.rasterization`` for exactly the arguments the backend
passes (features, "RGB+ED", classic, unpacked): the torch backend's projection, then every
pixel at once, one Gaussian at a time front to back, as gsplat's ``rasterize_to_pixels``
composites. So these tests check everything the backend adds around the rasteriser: the
features it blends, the passes it makes of them, the part pass, dtypes, devices and the
out-of-memory fallback. gsplat is never imported here.
"""

from __future__ import annotations

import sys
import types

import pytest
import torch

from core.render.camera import intrinsics
from core.render.gsplat_backend import (
    GsplatUnavailableError,
    blend_features,
    load_rasterization,
    render_with,
)
from core.render.sh import SH_COUNTS
from core.render.torch_backend import project, render_torch
from core.render.types import Camera, SplatScene

CPU = torch.device("cpu")
FLOAT_PASSES = ("rgb", "alpha", "depth", "normal")


def _dense_rasterization(
    *,
    means,
    quats,
    scales,
    opacities,
    colors,
    viewmats,
    Ks,
    width,
    height,
    near_plane,
    far_plane,
    eps2d,
    sh_degree,
    packed,
    tile_size,
    render_mode,
    rasterize_mode,
):
    """(1, H, W, D + 1) blended features then expected depth, (1, H, W, 1) alpha, and meta
    with each pixel's largest single weight ``best_weight`` (H, W) and its Gaussian
    ``best_index`` (H, W) (-1 if none), for the torch reference's part rule."""
    assert (sh_degree, packed, render_mode, rasterize_mode) == (None, False, "RGB+ED", "classic")
    assert eps2d == 0.3 and tile_size == 16 and means.dtype == torch.float32
    camera = Camera(Ks[0], viewmats[0], width, height, near=near_plane, far=far_plane)
    sh = torch.zeros(len(means), 1, 3, dtype=means.dtype)
    proj = project(SplatScene(means, quats, scales, opacities, sh), camera)
    features = torch.cat((colors[proj.index], proj.packed[:, 9:10]), dim=-1)  # + depth z
    ys, xs = torch.meshgrid(
        torch.arange(height, dtype=means.dtype),
        torch.arange(width, dtype=means.dtype),
        indexing="ij",
    )
    pixels = torch.stack((xs.flatten(), ys.flatten()), dim=-1) + 0.5
    T = torch.ones(height * width, dtype=means.dtype)
    done = torch.zeros(height * width, dtype=torch.bool)
    acc = torch.zeros(height * width, features.shape[1], dtype=means.dtype)
    best_weight = torch.zeros(height * width, dtype=means.dtype)
    best = torch.full((height * width,), -1, dtype=torch.int64)
    for j in range(len(proj.index)):
        a, b, c, log_opacity = proj.packed[j, 2:6]
        d = pixels - proj.packed[j, :2]
        sigma = 0.5 * (a * d[:, 0] ** 2 + c * d[:, 1] ** 2) + b * d[:, 0] * d[:, 1]
        alpha = torch.clamp(torch.exp(log_opacity - sigma), max=0.999)
        skip = (sigma < 0) | (alpha < 1 / 255) | done
        next_T = T * (1 - alpha)
        stop = ~skip & (next_T <= 1e-4)
        done = done | stop
        use = ~skip & ~stop
        weight = torch.where(use, alpha * T, 0.0)
        acc = acc + weight[:, None] * features[j]
        T = torch.where(use, next_T, T)
        better = weight.detach() > best_weight
        best_weight = torch.where(better, weight.detach(), best_weight)
        best = torch.where(better, proj.index[j], best)
    alpha = 1 - T
    acc = torch.cat((acc[:, :-1], acc[:, -1:] / alpha[:, None].clamp(min=1e-10)), dim=-1)
    meta = {"best_weight": best_weight.view(height, width), "best_index": best.view(height, width)}
    return acc.view(1, height, width, -1), alpha.view(1, height, width, 1), meta


class _Recording:
    """Wraps :func:`_dense_rasterization` and keeps the meta of its last call."""

    def __init__(self):
        self.meta = {}

    def __call__(self, **kwargs):
        colors, alphas, meta = _dense_rasterization(**kwargs)
        self.meta = meta
        return colors, alphas, meta


def _camera(width: int, height: int) -> Camera:
    """A camera at the origin looking along +Z (world = camera coordinates), float64."""
    return Camera(
        K=intrinsics(width, height, fov_y_deg=40.0, dtype=torch.float64),
        world_to_camera=torch.eye(4, dtype=torch.float64),
        width=width,
        height=height,
    )


def _random_scene(n: int, seed: int, sh_degree: int = 1, labels=(0, 1, 2, 3, 4)) -> SplatScene:
    """``n`` seeded float64 Gaussians 2-4 m in front of :func:`_camera`, parts from labels."""
    g = torch.Generator().manual_seed(seed)
    f64 = torch.float64
    xy = 0.5 * (2 * torch.rand(n, 2, generator=g, dtype=f64) - 1)
    means = torch.cat((xy, 2 + 2 * torch.rand(n, 1, generator=g, dtype=f64)), dim=-1)
    quats = torch.randn(n, 4, generator=g, dtype=f64)
    k = SH_COUNTS[sh_degree]
    pick = torch.randint(0, len(labels), (n,), generator=g)
    return SplatScene(
        means=means,
        quats=quats / quats.norm(dim=-1, keepdim=True),
        scales=0.02 + 0.1 * torch.rand(n, 3, generator=g, dtype=f64),
        opacities=0.2 + 0.79 * torch.rand(n, generator=g, dtype=f64),
        sh=0.5 * torch.randn(n, k, 3, generator=g, dtype=f64),
        parts=torch.tensor(labels)[pick],
    )


def _stack(opacities: list[float], parts: list[int]) -> SplatScene:
    """Gaussians on the optical axis at 2, 2.5, 3 ... m, front first, big enough that the
    centre pixel sees each at its full opacity."""
    n = len(opacities)
    return SplatScene(
        means=torch.tensor([[0.0, 0.0, 2.0 + 0.5 * i] for i in range(n)], dtype=torch.float64),
        quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]] * n, dtype=torch.float64),
        scales=torch.tensor([[0.3, 0.3, 0.02]] * n, dtype=torch.float64),
        opacities=torch.tensor(opacities, dtype=torch.float64),
        sh=torch.zeros(n, 1, 3, dtype=torch.float64),
        parts=torch.tensor(parts),
    )


def test_passes_match_torch_backend():
    scene, camera = _random_scene(80, seed=1), _camera(40, 30)
    bg = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    fake = _Recording()
    result = render_with(fake, scene, camera, bg, CPU)
    reference = render_torch(scene, camera, bg)
    assert result.rgb.dtype == torch.float64 and result.part.dtype == torch.int64
    assert result.alpha.max() > 0.9 and result.alpha.min() == 0  # covers both cases
    for name in FLOAT_PASSES:  # computed in float32, as gsplat does
        torch.testing.assert_close(
            getattr(result, name), getattr(reference, name), atol=1e-4, rtol=0, msg=name
        )
    assert (result.depth[result.alpha == 0] == 0).all()
    assert (result.part[result.alpha == 0] == -1).all()
    # Where one splat holds over half of the pixel's alpha, the summed rule picks its part:
    # the torch reference's part, exactly.
    best_weight, best_index = fake.meta["best_weight"], fake.meta["best_index"]
    hit = result.alpha > 0
    dominant = best_weight > 0.5 * result.alpha.float() + 1e-4  # float32 margin
    assert dominant[hit].float().mean() > 0.5
    assert (result.part[dominant] == scene.parts[best_index[dominant]]).all()
    assert (result.part[dominant] == reference.part[dominant]).all()
    # Elsewhere (semi-transparent overlaps: this scene's opacities are 0.2-0.99) they may
    # differ; 93% of the covered pixels agree here.
    assert (result.part == reference.part)[hit].float().mean() > 0.85


def test_part_pass_is_the_part_with_the_largest_summed_weight():
    # At the centre pixel: part 3 in front with weight 0.4; two splats of part 42 behind it
    # with weights 0.6 * 0.35 = 0.21 and 0.39 * 0.5 = 0.195 (together 0.405).
    scene = _stack([0.4, 0.35, 0.5], [3, 42, 42])
    camera, bg = _camera(33, 33), torch.zeros(3, dtype=torch.float64)
    result = render_with(_Recording(), scene, camera, bg, CPU)
    reference = render_torch(scene, camera, bg)
    assert int(reference.part[16, 16]) == 3  # the single heaviest splat
    assert int(result.part[16, 16]) == 42  # the heaviest part
    assert set(result.part.unique().tolist()) <= {-1, 3, 42}
    # A front splat with over half of the alpha decides both rules.
    scene = _stack([0.7, 0.35, 0.5], [3, 42, 42])
    result = render_with(_Recording(), scene, camera, bg, CPU)
    assert int(result.part[16, 16]) == int(render_torch(scene, camera, bg).part[16, 16]) == 3


def test_scene_without_parts_and_feature_layout():
    scene = _random_scene(30, seed=2, labels=(7, 9))
    features, labels = blend_features(scene, torch.zeros(3, dtype=torch.float64))
    assert features.shape == (30, 8) and labels.tolist() == [7, 9]
    one_hot = features[:, 6:]
    assert (one_hot.sum(-1) == 1).all()
    assert (labels[one_hot.argmax(-1)] == scene.parts).all()
    no_parts = SplatScene(
        means=scene.means,
        quats=scene.quats,
        scales=scene.scales,
        opacities=scene.opacities,
        sh=scene.sh,
    )
    features, labels = blend_features(no_parts, torch.zeros(3, dtype=torch.float64))
    assert features.shape == (30, 6) and labels is None
    bg = torch.zeros(3, dtype=torch.float64)
    result = render_with(_Recording(), no_parts, _camera(24, 20), bg, CPU)
    assert result.alpha.max() > 0.5 and (result.part == -1).all()


def test_gradients_match_torch_backend():
    scene, camera = _random_scene(30, seed=5), _camera(24, 20)
    bg = torch.tensor([0.3, 0.3, 0.3], dtype=torch.float64)
    names = ("means", "quats", "scales", "opacities", "sh")
    g = torch.Generator().manual_seed(6)
    shapes = ((20, 24, 3), (20, 24), (20, 24), (20, 24, 3))
    cotangents = [torch.randn(s, generator=g, dtype=torch.float64) for s in shapes]

    def grads(render_fn):
        leaves = {k: getattr(scene, k).clone().requires_grad_(True) for k in names}
        moved = SplatScene(**leaves, parts=scene.parts)
        out = render_fn(moved)
        outputs = (out.rgb, out.alpha, out.depth, out.normal)
        total = sum((o * c).sum() for o, c in zip(outputs, cotangents, strict=True))
        return torch.autograd.grad(total, list(leaves.values()))

    fast = grads(lambda s: render_with(_Recording(), s, camera, bg, CPU))
    ref = grads(lambda s: render_torch(s, camera, bg))
    for name, a, b in zip(names, fast, ref, strict=True):
        assert b.abs().max() > 0, name
        # float32 against float64: relative error of the whole gradient, and its direction.
        assert float((a - b).norm() / b.norm()) < 1e-3, name
        assert float(torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), 0)) > 0.9999


def test_out_of_memory_falls_back_to_torch_backend_on_cpu():
    def out_of_memory(**kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")

    scene, camera = _random_scene(40, seed=3), _camera(32, 24)
    bg = torch.tensor([0.2, 0.5, 0.9], dtype=torch.float64)
    with pytest.warns(RuntimeWarning, match="ran out of memory") as caught:
        result = render_with(out_of_memory, scene, camera, bg, CPU)
    message = str(caught[0].message)
    assert "40 Gaussians at 32x24" in message and "torch backend on the CPU" in message
    assert message.endswith(".") and ". " not in message  # one sentence
    reference = render_torch(scene, camera, bg)
    for name in (*FLOAT_PASSES, "part"):
        assert torch.equal(getattr(result, name), getattr(reference, name)), name
    assert "gsplat" not in sys.modules


def _fake_gsplat(monkeypatch, kernels) -> None:
    """Stand-in modules gsplat, gsplat.cuda and gsplat.cuda._backend (``_C = kernels``)."""
    package = types.ModuleType("gsplat")
    package.rasterization = _dense_rasterization
    cuda = types.ModuleType("gsplat.cuda")
    backend = types.ModuleType("gsplat.cuda._backend")
    backend._C = kernels
    package.cuda, cuda._backend = cuda, backend
    for name, module in (
        ("gsplat", package),
        ("gsplat.cuda", cuda),
        ("gsplat.cuda._backend", backend),
    ):
        monkeypatch.setitem(sys.modules, name, module)


def test_load_rasterization_says_what_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "gsplat", None)  # not installed: `import gsplat` fails
    with pytest.raises(GsplatUnavailableError) as err:
        load_rasterization()
    message = str(err.value)
    assert "gsplat==1.5.3" in message and "docs/gpu.md" in message and "--backend torch" in message
    assert message.endswith(".") and ". " not in message  # one sentence
    _fake_gsplat(monkeypatch, kernels=None)  # gsplat found no CUDA toolkit
    with pytest.raises(GsplatUnavailableError):
        load_rasterization()
    _fake_gsplat(monkeypatch, kernels=object())
    assert load_rasterization() is _dense_rasterization
