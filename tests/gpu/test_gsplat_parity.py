"""The gsplat backend against the torch reference on CUDA: every pass, and gradients.

The reference runs in float64 on the same GPU (the exact answer); gsplat runs in float32 with
fast-math exp. Scenes: random Gaussians (a few hundred, parametrised over count, image size,
Gaussian size and SH degree) and avatar scenes (bindings on a mesh -> deform -> scene).

Tolerances, and why:
- rgb, alpha, normal (absolute) and depth (relative): within TOL = 1e-3 on all but a fraction
  FEW = 0.5% of the pixels. Float32 rounding alone is ~1e-5 here, but it can flip a discrete
  choice at a few pixels: a splat whose alpha sits at the 1/255 cut-off (a jump of up to
  ~1/255 times its colour), a pixel's stop at transmittance 1e-4, a near-tie in depth order.
  Those pixels are allowed to differ by more; the mean error must still be tiny (TOL / 10).
- gradients (w.r.t. means, quats, scales, opacities, sh, from random cotangents on rgb,
  alpha, depth and normal): relative L2 error <= GRAD_REL = 1e-2 and cosine >= GRAD_COS =
  0.9995 per tensor (a float32 pipeline against float64 gives ~1e-5 on the CPU stand-in of
  tests/core/render/test_gsplat_backend.py). The depth and normal cotangents are zero where the
  reference alpha is below 0.05: there those passes are ratios over a tiny alpha, so a flipped
  1/255 splat swings them, and their gradients, wholesale.
- part: gsplat's part pass is the part with the largest summed blend weight (see
  core.render.gsplat_backend.part_pass). It must equal that rule computed by the reference
  (one-hot colours per part) except at near-ties (top two sums within 1e-3) and FEW pixels;
  against the reference's own part (the single heaviest splat) it must agree on most covered
  pixels: each case states a floor 5-8 points under what the CPU stand-in measured (random
  semi-transparent scenes 89-93%, the cloudy tiny avatar 85-90%, the ellipsoid body 99.4%).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F_nn

from core.posing import avatar_scene
from core.render import render
from core.render.benchmark import body_camera, synthetic_body
from core.render.camera import frame_points, intrinsics
from core.render.sh import SH_C0, SH_COUNTS
from core.render.torch_backend import render_torch
from core.render.types import Camera, RenderResult, SplatScene
from tests.synthetic import tiny_avatar

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not torch.cuda.is_available(),
        reason="needs an NVIDIA GPU with CUDA (tests/gpu runs only where CUDA is present)",
    ),
]

TOL = 1e-3
FEW = 0.005
GRAD_REL = 1e-2
GRAD_COS = 0.9995
NAMES = ("means", "quats", "scales", "opacities", "sh")
F64 = torch.float64

# (Gaussians, width, height, smallest and largest scale in metres, SH degree, part floor)
RANDOM_CASES = [
    (200, 64, 48, (0.02, 0.12), 1, 0.85),
    (500, 173, 97, (0.01, 0.06), 3, 0.85),  # odd size: partial tiles on both edges
    (300, 96, 96, (0.1, 0.4), 2, 0.80),  # large, heavily overlapping Gaussians
]
# (scene, part floor): the tiny avatar at rest and posed; the ellipsoid body of the benchmark.
AVATAR_CASES = [("rest", 0.80), ("posed", 0.75), ("body", 0.97)]


def _gsplat(scene: SplatScene, camera: Camera, background: torch.Tensor) -> RenderResult:
    return render(scene, camera, background=background, backend="gsplat")


def _camera(width: int, height: int, device: torch.device) -> Camera:
    """A camera at the origin looking along +Z (world = camera coordinates), float64."""
    return Camera(
        K=intrinsics(width, height, fov_y_deg=40.0, dtype=F64).to(device),
        world_to_camera=torch.eye(4, dtype=F64, device=device),
        width=width,
        height=height,
    )


def _random_scene(n: int, scale: tuple[float, float], sh_degree: int, seed: int, device):
    """``n`` seeded float64 Gaussians 2-4 m in front of :func:`_camera`, 5 parts."""
    g = torch.Generator().manual_seed(seed)
    xy = 0.6 * (2 * torch.rand(n, 2, generator=g, dtype=F64) - 1)
    means = torch.cat((xy, 2 + 2 * torch.rand(n, 1, generator=g, dtype=F64)), dim=-1)
    quats = torch.randn(n, 4, generator=g, dtype=F64)
    lo, hi = scale
    k = SH_COUNTS[sh_degree]
    scene = SplatScene(
        means=means,
        quats=quats / quats.norm(dim=-1, keepdim=True),
        scales=lo + (hi - lo) * torch.rand(n, 3, generator=g, dtype=F64),
        opacities=0.2 + 0.79 * torch.rand(n, generator=g, dtype=F64),
        sh=0.5 * torch.randn(n, k, 3, generator=g, dtype=F64),
        parts=torch.randint(0, 5, (n,), generator=g),
    )
    return _on(scene, device)


def _avatar_case(name: str, device) -> tuple[SplatScene, Camera]:
    """An avatar-like scene and a camera framing it.

    "rest" / "posed": :func:`tiny_avatar` through the avatar path (binding -> deform -> scene),
    its mesh as is or turned and stretched; parts by mesh region (a pair of octahedron faces
    each), as a body's parts are. "body": the benchmark's ellipsoid body, 3,000 surface
    splats of 3-8 mm, opacities 0.85-0.95, a part per ellipsoid.
    """
    if name == "body":
        scene = _on(synthetic_body(3000, seed=1), device)
        return scene, body_camera(scene, 72, 128)
    avatar = tiny_avatar(n=800, sh_degree=3, seed=1 if name == "rest" else 2)
    binding = dataclasses.replace(avatar.binding, part=avatar.binding.triangle // 2)
    avatar = dataclasses.replace(avatar, binding=binding)
    vertices = avatar.canonical_vertices
    if name == "posed":
        turn = torch.tensor([[0.8, -0.6, 0.0], [0.6, 0.8, 0.0], [0.0, 0.0, 1.0]])
        vertices = (vertices @ turn.T) * torch.tensor([1.0, 1.3, 0.8])
    scene = _on(avatar_scene(avatar, vertices), device)
    camera = frame_points(scene.means, 30.0, 15.0, 120, 96, margin=1.2)
    return scene, camera


def _on(scene: SplatScene, device) -> SplatScene:
    floats = {k: getattr(scene, k).to(device=device, dtype=F64) for k in NAMES}
    parts = None if scene.parts is None else scene.parts.to(device)
    return SplatScene(**floats, parts=parts)


def _with(scene: SplatScene, **changes) -> SplatScene:
    fields = {k: getattr(scene, k) for k in NAMES}
    fields.update(parts=scene.parts)
    fields.update(changes)
    return SplatScene(**fields)


def _mostly(ok: torch.Tensor, what: str) -> None:
    bad = int((~ok).sum())
    assert bad <= FEW * ok.numel(), f"{what}: {bad} of {ok.numel()} pixels beyond tolerance"


def _assert_passes_close(got: RenderResult, ref: RenderResult) -> None:
    """Every pass of ``got`` (gsplat) against ``ref`` (the float64 reference); see the top."""
    assert got.rgb.dtype == ref.rgb.dtype and got.rgb.device == ref.rgb.device
    for name in ("rgb", "alpha"):
        diff = (getattr(got, name) - getattr(ref, name)).abs()
        diff = diff.amax(-1) if diff.ndim == 3 else diff
        _mostly(diff <= TOL, name)
        assert float(diff.mean()) <= TOL / 10, f"{name}: mean error {float(diff.mean()):.2e}"
    hit, ref_hit = got.alpha > 0, ref.alpha > 0
    _mostly(hit == ref_hit, "coverage (alpha > 0)")
    both = hit & ref_hit
    depth_ok = (got.depth - ref.depth).abs() <= TOL * ref.depth.abs()
    _mostly(~both | depth_ok, "depth")
    normal_ok = (got.normal - ref.normal).abs().amax(-1) <= TOL
    _mostly(~both | normal_ok, "normal")
    assert (got.depth[~hit] == 0).all() and (got.normal[~hit] == 0).all()
    assert (got.part[~hit] == -1).all()
    lit = got.normal[hit].norm(dim=-1)
    assert ((lit - 1).abs() < 1e-5).all()


def _part_sums(scene: SplatScene, camera: Camera) -> tuple[torch.Tensor, torch.Tensor]:
    """(H, W, P) summed blend weight of each part by the reference, and (P,) part labels.

    Each part's weight is rendered as a colour channel: SH DC terms whose colour is the
    Gaussian's one-hot part row, on a black background, three parts per render.
    """
    labels, which = torch.unique(scene.parts, return_inverse=True)
    one_hot = F_nn.one_hot(which, len(labels)).to(F64)
    sums = []
    for start in range(0, len(labels), 3):
        chunk = one_hot[:, start : start + 3]
        chunk = F_nn.pad(chunk, (0, 3 - chunk.shape[1]))
        sh = ((chunk - 0.5) / SH_C0)[:, None, :]  # colour = SH_C0 * sh + 0.5 = one-hot
        black = torch.zeros(3, dtype=F64, device=scene.means.device)
        out = render_torch(_with(scene, sh=sh, parts=None), camera, black)
        sums.append(out.rgb[..., : min(3, len(labels) - start)])
    return torch.cat(sums, dim=-1), labels


def _assert_part_pass(got: RenderResult, ref: RenderResult, scene, camera, floor: float) -> None:
    sums, labels = _part_sums(scene, camera)
    top = sums.topk(min(2, sums.shape[-1]), dim=-1).values
    near_tie = (top[..., 0] - top[..., -1]) <= 1e-3 if top.shape[-1] == 2 else top[..., 0] < 0
    hit = ref.alpha > 0
    expected = torch.where(hit, labels[sums.argmax(-1)], -1)
    _mostly((got.part == expected) | near_tie, "part (largest summed weight)")
    covered = hit & (got.alpha > 0)
    agreement = float((got.part == ref.part)[covered].float().mean())
    assert agreement >= floor, f"part agrees with the reference on {agreement:.1%}"


def _grads(render_fn, scene: SplatScene, cotangents) -> list[torch.Tensor]:
    leaves = {k: getattr(scene, k).clone().requires_grad_(True) for k in NAMES}
    out = render_fn(_with(scene, **leaves))
    outputs = (out.rgb, out.alpha, out.depth, out.normal)
    total = sum((o * c).sum() for o, c in zip(outputs, cotangents, strict=True))
    return list(torch.autograd.grad(total, list(leaves.values())))


def _assert_gradients_close(scene: SplatScene, camera: Camera, bg, seed: int) -> None:
    with torch.no_grad():
        ref = render_torch(scene, camera, bg)
    g = torch.Generator().manual_seed(seed)
    device = scene.means.device
    h, w = camera.height, camera.width
    shapes = ((h, w, 3), (h, w), (h, w), (h, w, 3))
    cotangents = [torch.randn(s, generator=g, dtype=F64).to(device) for s in shapes]
    solid = (ref.alpha > 0.05).to(F64)
    cotangents[2] = cotangents[2] * solid
    cotangents[3] = cotangents[3] * solid[..., None]
    fast = _grads(lambda s: _gsplat(s, camera, bg), scene, cotangents)
    exact = _grads(lambda s: render_torch(s, camera, bg), scene, cotangents)
    for name, a, b in zip(NAMES, fast, exact, strict=True):
        assert float(b.abs().max()) > 0, name
        rel = float((a - b).norm() / b.norm())
        cos = float(F_nn.cosine_similarity(a.flatten(), b.flatten(), dim=0))
        assert rel <= GRAD_REL and cos >= GRAD_COS, f"d/d{name}: relative {rel:.2e}, cos {cos}"


@pytest.mark.parametrize("case", RANDOM_CASES, ids=lambda c: f"{c[0]}g-{c[1]}x{c[2]}")
def test_forward_matches_torch_reference(case, device, gsplat_rasterization):
    n, width, height, scale, sh_degree, floor = case
    scene = _random_scene(n, scale, sh_degree, seed=n, device=device)
    camera = _camera(width, height, device)
    bg = torch.tensor([0.1, 0.2, 0.3], dtype=F64, device=device)
    got, ref = _gsplat(scene, camera, bg), render_torch(scene, camera, bg)
    assert float(ref.alpha.max()) > 0.9
    _assert_passes_close(got, ref)
    _assert_part_pass(got, ref, scene, camera, floor)


@pytest.mark.parametrize("case", RANDOM_CASES, ids=lambda c: f"{c[0]}g-{c[1]}x{c[2]}")
def test_gradients_match_torch_reference(case, device, gsplat_rasterization):
    n, width, height, scale, sh_degree, _ = case
    scene = _random_scene(n, scale, sh_degree, seed=n + 1, device=device)
    bg = torch.tensor([0.3, 0.3, 0.3], dtype=F64, device=device)
    _assert_gradients_close(scene, _camera(width, height, device), bg, seed=n)


@pytest.mark.parametrize("case", AVATAR_CASES, ids=lambda c: c[0])
def test_avatar_scene_matches_torch_reference(case, device, gsplat_rasterization):
    name, floor = case
    scene, camera = _avatar_case(name, device)
    bg = torch.tensor([1.0, 1.0, 1.0], dtype=F64, device=device)
    got, ref = _gsplat(scene, camera, bg), render_torch(scene, camera, bg)
    assert float((ref.alpha > 0.5).float().mean()) > 0.1  # the avatar fills the view
    _assert_passes_close(got, ref)
    _assert_part_pass(got, ref, scene, camera, floor)
    _assert_gradients_close(scene, camera, bg, seed=7)


def test_float32_cpu_scene_renders_on_the_gpu_and_comes_back(device, gsplat_rasterization):
    scene = _random_scene(200, (0.02, 0.12), 1, seed=3, device=device)
    scene32 = SplatScene(
        **{k: getattr(scene, k).float().cpu() for k in NAMES}, parts=scene.parts.cpu()
    )
    camera = _camera(64, 48, torch.device("cpu"))
    on_cpu = render(scene32, camera, backend="gsplat")
    assert on_cpu.rgb.device.type == "cpu" and on_cpu.rgb.dtype == torch.float32
    on_gpu = render(_on(scene32, device), _camera(64, 48, device), backend="gsplat")
    torch.testing.assert_close(on_cpu.rgb, on_gpu.rgb.float().cpu(), atol=1e-6, rtol=0)
    assert torch.equal(on_cpu.part, on_gpu.part.cpu())


def test_auto_backend_uses_gsplat_on_cuda(device, gsplat_rasterization):
    scene = _random_scene(200, (0.02, 0.12), 1, seed=4, device=device)
    camera = _camera(64, 48, device)
    auto = render(scene, camera, backend="auto")
    explicit = render(scene, camera, backend="gsplat")
    for name in ("rgb", "alpha", "depth", "normal", "part"):
        assert torch.equal(getattr(auto, name), getattr(explicit, name)), name


def test_out_of_memory_falls_back_to_torch_backend(device, gsplat_rasterization, monkeypatch):
    import gsplat

    def out_of_memory(**kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated by the test).")

    monkeypatch.setattr(gsplat, "rasterization", out_of_memory)
    scene = _random_scene(200, (0.02, 0.12), 1, seed=5, device=device)
    camera = _camera(64, 48, device)
    bg = torch.tensor([0.2, 0.5, 0.9], dtype=F64, device=device)
    with pytest.warns(RuntimeWarning, match="ran out of memory") as caught:
        result = render(scene, camera, background=bg, backend="gsplat")
    assert "torch backend on the CPU" in str(caught[0].message)
    assert result.rgb.device == scene.means.device  # back on the scene's device
    reference = render_torch(_on(scene, "cpu"), _camera(64, 48, torch.device("cpu")), bg.cpu())
    for name in ("rgb", "alpha", "depth", "normal", "part"):
        assert torch.equal(getattr(result, name).cpu(), getattr(reference, name)), name
