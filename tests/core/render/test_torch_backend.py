"""The torch reference rasteriser against analytic footprints and a per-Gaussian twin.

``core.render._reference._render`` is a deliberately naive twin: no tiles, no chunks, a
Python loop over the depth-sorted Gaussians with every pixel at once, written straight from
gsplat's kernels (fully_fused_projection + rasterize_to_pixels). The fast path must match it
in values and gradients.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from core.quaternion import axis_angle_to_rotmat, rotmat_to_quat
from core.render._reference import _render
from core.render.camera import intrinsics, look_at
from core.render.sh import SH_C0, SH_COUNTS
from core.render.torch_backend import render_torch
from core.render.types import Camera, RenderResult, SplatScene

GOLDEN = Path(__file__).parent / "data" / "golden_small.npz"
PASSES = ("rgb", "alpha", "depth", "normal", "part")


def _camera(width: int, height: int, dtype: torch.dtype = torch.float64) -> Camera:
    """A camera at the origin looking along +Z (world = camera coordinates)."""
    return Camera(
        K=intrinsics(width, height, fov_y_deg=40.0, dtype=dtype),
        world_to_camera=torch.eye(4, dtype=dtype),
        width=width,
        height=height,
    )


def _random_scene(
    n: int, seed: int = 0, dtype: torch.dtype = torch.float64, sh_degree: int = 1, spread=0.5
) -> SplatScene:
    """``n`` seeded Gaussians 2-4 m in front of :func:`_camera`, with parts."""
    g = torch.Generator().manual_seed(seed)
    means = torch.stack(
        (
            spread * (2 * torch.rand(n, generator=g, dtype=torch.float64) - 1),
            spread * (2 * torch.rand(n, generator=g, dtype=torch.float64) - 1),
            2 + 2 * torch.rand(n, generator=g, dtype=torch.float64),
        ),
        dim=-1,
    )
    quats = torch.randn(n, 4, generator=g, dtype=torch.float64)
    k = SH_COUNTS[sh_degree]
    return SplatScene(
        means=means.to(dtype),
        quats=(quats / quats.norm(dim=-1, keepdim=True)).to(dtype),
        scales=(0.02 + 0.1 * torch.rand(n, 3, generator=g, dtype=torch.float64)).to(dtype),
        opacities=(0.2 + 0.79 * torch.rand(n, generator=g, dtype=torch.float64)).to(dtype),
        sh=(0.5 * torch.randn(n, k, 3, generator=g, dtype=torch.float64)).to(dtype),
        parts=torch.randint(0, 5, (n,), generator=g),
    )


def _with(scene: SplatScene, **changes) -> SplatScene:
    fields = {name: getattr(scene, name) for name in ("means", "quats", "scales", "opacities")}
    fields.update(sh=scene.sh, parts=scene.parts)
    fields.update(changes)
    return SplatScene(**fields)


def _assert_matches_reference(result: RenderResult, reference, atol: float) -> None:
    for name, ref in zip(PASSES, reference, strict=True):
        got = getattr(result, name)
        if name == "part":
            # Ties in weight may pick either Gaussian; demand agreement almost everywhere.
            assert (got != ref).float().mean() < 0.01, name
        else:
            torch.testing.assert_close(got, ref, atol=atol, rtol=0, msg=name)


@pytest.mark.parametrize("tile_size", [4, 8, 16])
def test_matches_reference_twin(tile_size):
    scene = _random_scene(60, seed=1, sh_degree=2)
    camera = _camera(40, 30)
    background = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    result = render_torch(scene, camera, background, tile_size=tile_size)
    _assert_matches_reference(result, _render(scene, camera, background), 1e-9)
    assert result.alpha.max() > 0.9 and result.alpha.min() == 0  # covers both cases


def test_centres_off_screen_match_reference():
    # Big Gaussians centred beyond 1.3x the field of view, reaching into the image: their
    # Jacobian is taken at the clamped centre.
    g = torch.Generator().manual_seed(11)
    scene = _random_scene(40, seed=11, sh_degree=1, spread=4.0)
    big = 0.3 + 0.4 * torch.rand(40, 3, generator=g, dtype=torch.float64)
    scene = _with(scene, scales=big)
    camera = _camera(32, 24)
    ratio = (scene.means[:, 0] / scene.means[:, 2]).abs() * float(camera.K[0, 0]) / 16
    assert (ratio > 1.3).sum() > 10  # many centres beyond the clamp
    background = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    result = render_torch(scene, camera, background)
    _assert_matches_reference(result, _render(scene, camera, background), 1e-9)
    assert float(result.alpha.min()) > 0.1


def test_stop_rule_and_opaque_stack_match_reference():
    # 12 nearly opaque Gaussians at one place: a pixel stops within a few of them.
    n = 12
    scene = _random_scene(n, seed=2, sh_degree=0, spread=0.05)
    scene = _with(scene, opacities=torch.full((n,), 0.995, dtype=torch.float64))
    camera = _camera(24, 24)
    background = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64)
    result = render_torch(scene, camera, background, tile_size=8)
    _assert_matches_reference(result, _render(scene, camera, background), 1e-9)
    assert result.alpha.max() > 0.999


def test_stacked_gaussians_stop_before_transmittance_threshold():
    # At the common centre every Gaussian has alpha 0.995: the first leaves T = 0.005, the
    # second would leave 2.5e-5 (<= 1e-4) so the pixel stops there: alpha is exactly 0.995.
    n = 5
    scene = SplatScene(
        means=torch.tensor([[0.0, 0.0, 2.0 + 0.1 * i] for i in range(n)], dtype=torch.float64),
        quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]] * n, dtype=torch.float64),
        scales=torch.full((n, 3), 0.05, dtype=torch.float64),
        opacities=torch.full((n,), 0.995, dtype=torch.float64),
        sh=torch.zeros(n, 1, 3, dtype=torch.float64),
    )
    # An even image puts a pixel corner, not a centre, on the axis; use an odd size.
    result = render_torch(scene, _camera(33, 33), torch.zeros(3, dtype=torch.float64), 8)
    assert float(result.alpha[16, 16]) == pytest.approx(0.995, abs=1e-12)
    assert int(result.part[16, 16]) == -1  # no parts given


@pytest.mark.parametrize("tile_size", [1, 8])
def test_single_gaussian_matches_analytic_footprint(tile_size):
    # A Gaussian on the optical axis at depth d, turned by theta about the view axis:
    # cov2d = R diag((f sx / d)^2, (f sy / d)^2) R^T + 0.3 I.
    size, d, theta, opacity = 65, 3.0, 0.5, 0.7
    camera = _camera(size, size)
    f = float(camera.K[0, 0])
    sx, sy = 0.35, 0.12
    rot = axis_angle_to_rotmat(torch.tensor([0.0, 0.0, theta], dtype=torch.float64))
    scene = SplatScene(
        means=torch.tensor([[0.0, 0.0, d]], dtype=torch.float64),
        quats=rotmat_to_quat(rot)[None],
        scales=torch.tensor([[sx, sy, 0.01]], dtype=torch.float64),
        opacities=torch.tensor([opacity], dtype=torch.float64),
        sh=torch.zeros(1, 1, 3, dtype=torch.float64),
    )
    # Tile size 1 evaluates exactly the footprint box, so the box must hold every lit pixel.
    result = render_torch(scene, camera, torch.zeros(3, dtype=torch.float64), tile_size)
    r2 = rot[:2, :2]
    cov = (
        r2
        @ torch.diag(torch.tensor([(f * sx / d) ** 2, (f * sy / d) ** 2], dtype=torch.float64))
        @ r2.T
    )
    cov = cov + 0.3 * torch.eye(2, dtype=torch.float64)
    ys, xs = torch.meshgrid(
        torch.arange(size, dtype=torch.float64),
        torch.arange(size, dtype=torch.float64),
        indexing="ij",
    )
    delta = torch.stack((xs + 0.5 - size / 2, ys + 0.5 - size / 2), dim=-1)
    sigma = 0.5 * torch.einsum("hwi,ij,hwj->hw", delta, torch.linalg.inv(cov), delta)
    analytic = opacity * torch.exp(-sigma)
    expected = torch.where(analytic >= 1 / 255, analytic, 0.0)
    torch.testing.assert_close(result.alpha, expected, atol=1e-12, rtol=0)
    # Nothing outside the opacity-aware extent sqrt(2 ln(255 opacity)) (~3.2 sigma here),
    # nor outside the footprint box, and a wide lit area inside it.
    mahalanobis = (2 * sigma).sqrt()
    assert (result.alpha[mahalanobis > math.sqrt(2 * math.log(255 * opacity))] == 0).all()
    radius_x = math.ceil(3.33 * math.sqrt(float(cov[0, 0])))
    assert (result.alpha[:, (delta[0, :, 0].abs() > radius_x)] == 0).all()
    assert (result.alpha[mahalanobis < 3.0] > 0).all()
    assert int((result.alpha > 0).sum()) > 100
    torch.testing.assert_close(
        result.depth[result.alpha > 0], torch.full_like(result.depth[result.alpha > 0], d)
    )


def _two_gaussians(z_red: float, z_blue: float, red_first: bool = True, offset: float = 0.0):
    """A red and a blue Gaussian in front of the camera; parts 5 (red) and 7 (blue)."""
    red = (
        torch.tensor([0.0, 0.0, z_red]),
        torch.tensor([0.5, -0.5, -0.5]) / SH_C0,
        5,
    )
    blue = (
        torch.tensor([offset, 0.0, z_blue]),
        torch.tensor([-0.5, -0.5, 0.5]) / SH_C0,
        7,
    )
    pair = (red, blue) if red_first else (blue, red)
    return SplatScene(
        means=torch.stack([p[0] for p in pair]).double(),
        quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]] * 2, dtype=torch.float64),
        scales=torch.tensor([[0.1, 0.1, 0.02]] * 2, dtype=torch.float64),
        opacities=torch.tensor([0.9, 0.9], dtype=torch.float64),
        sh=torch.stack([p[1] for p in pair])[:, None, :].double(),
        parts=torch.tensor([p[2] for p in pair]),
    )


def test_nearer_gaussian_dominates_in_any_input_order():
    camera, bg = _camera(32, 32), torch.zeros(3, dtype=torch.float64)
    red_near = render_torch(_two_gaussians(2.0, 3.0, red_first=True), camera, bg, 8)
    red_near_swapped = render_torch(_two_gaussians(2.0, 3.0, red_first=False), camera, bg, 8)
    blue_near = render_torch(_two_gaussians(3.0, 2.0), camera, bg, 8)
    for name in PASSES:
        torch.testing.assert_close(getattr(red_near, name), getattr(red_near_swapped, name))
    centre = (16, 16)
    r, _, b = red_near.rgb[centre].tolist()
    assert r > 0.85 and b < 0.15
    r, _, b = blue_near.rgb[centre].tolist()
    assert b > 0.85 and r < 0.15
    assert int(red_near.part[centre]) == 5 and int(blue_near.part[centre]) == 7


def test_depth_and_part_passes():
    # Side by side and not overlapping at their centres: each centre sees only one Gaussian.
    camera, bg = _camera(48, 32), torch.zeros(3, dtype=torch.float64)
    scene = _two_gaussians(2.0, 3.0, offset=0.9)
    result = render_torch(scene, camera, bg, 8)
    f = float(camera.K[0, 0])
    blue_x = int(24 + f * 0.9 / 3.0)
    assert float(result.depth[16, 24]) == pytest.approx(2.0, abs=1e-9)
    assert float(result.depth[16, blue_x]) == pytest.approx(3.0, abs=1e-9)
    assert int(result.part[16, 24]) == 5 and int(result.part[16, blue_x]) == 7
    empty = result.alpha == 0
    assert empty.any()
    assert (result.part[empty] == -1).all() and (result.depth[empty] == 0).all()
    assert (result.normal[empty] == 0).all()
    # Normals face the camera (-Z here) and are unit where anything was hit.
    lit = result.alpha > 0
    torch.testing.assert_close(result.normal[lit].norm(dim=-1), torch.ones(int(lit.sum())).double())
    torch.testing.assert_close(result.normal[16, 24], torch.tensor([0.0, 0.0, -1.0]).double())
    # Where they overlap, depth is the weight-averaged depth, between the two.
    both = _two_gaussians(2.0, 3.0, offset=0.08)
    mixed = render_torch(both, camera, bg, 8)
    assert 2.0 < float(mixed.depth[16, 26]) < 3.0
    assert render_torch(_with(scene, parts=None), camera, bg, 8).part.eq(-1).all()


def test_background_compositing():
    camera = _camera(32, 32)
    scene = _random_scene(30, seed=3, sh_degree=0)
    black = render_torch(scene, camera, torch.zeros(3, dtype=torch.float64), 8)
    bg = torch.tensor([0.2, 0.5, 0.9], dtype=torch.float64)
    result = render_torch(scene, camera, bg, 8)
    torch.testing.assert_close(result.rgb, black.rgb + (1 - black.alpha)[..., None] * bg)
    torch.testing.assert_close(result.alpha, black.alpha)
    # Nothing in view (all behind the camera): the image is the background.
    behind = _with(scene, means=scene.means * torch.tensor([1.0, 1.0, -1.0]).double())
    empty = render_torch(behind, camera, bg, 8)
    torch.testing.assert_close(empty.rgb, bg.expand(32, 32, 3))
    assert (empty.alpha == 0).all() and (empty.part == -1).all() and (empty.depth == 0).all()


def test_near_far_culling():
    scene = _two_gaussians(2.0, 3.0, offset=0.9)
    bg = torch.zeros(3, dtype=torch.float64)
    base = _camera(48, 32)
    clipped = Camera(K=base.K, world_to_camera=base.world_to_camera, width=48, height=32, far=2.5)
    result = render_torch(scene, clipped, bg, 8)
    assert float(result.alpha[16, 24]) > 0.5
    assert float(result.alpha[16, 24 + int(float(base.K[0, 0]) * 0.3)]) == 0  # blue culled
    assert set(result.part.unique().tolist()) == {-1, 5}


def test_gradcheck_tiny_scene():
    # Large Gaussians: every pixel sees every Gaussian, far from the 1/255 cut-off.
    g = torch.Generator().manual_seed(4)
    n = 3
    means = torch.tensor(
        [[-0.1, 0.05, 2.0], [0.1, -0.05, 2.4], [0.0, 0.1, 2.8]], dtype=torch.float64
    )
    quats = torch.randn(n, 4, generator=g, dtype=torch.float64)
    quats = quats / quats.norm(dim=-1, keepdim=True)
    scales = torch.tensor(
        [[0.4, 0.3, 0.1], [0.35, 0.12, 0.3], [0.1, 0.3, 0.45]], dtype=torch.float64
    )
    opacities = torch.tensor([0.5, 0.6, 0.7], dtype=torch.float64)
    sh = 0.3 * torch.randn(n, 4, 3, generator=g, dtype=torch.float64)
    camera = _camera(8, 8)
    bg = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)

    def passes(means, quats, scales, opacities, sh):
        scene = SplatScene(means=means, quats=quats, scales=scales, opacities=opacities, sh=sh)
        out = render_torch(scene, camera, bg, tile_size=4)
        return out.rgb, out.alpha, out.depth, out.normal

    inputs = tuple(t.clone().requires_grad_(True) for t in (means, quats, scales, opacities, sh))
    assert torch.autograd.gradcheck(passes, inputs, eps=1e-6, atol=1e-6)


def test_gradients_match_reference_twin():
    scene = _random_scene(40, seed=5, sh_degree=1)
    camera = _camera(24, 20)
    bg = torch.tensor([0.3, 0.3, 0.3], dtype=torch.float64)
    names = ("means", "quats", "scales", "opacities", "sh")
    g = torch.Generator().manual_seed(6)
    cotangents = [
        torch.randn(s, generator=g, dtype=torch.float64)
        for s in ((20, 24, 3), (20, 24), (20, 24), (20, 24, 3))
    ]

    def grads(fn):
        leaves = {k: getattr(scene, k).clone().requires_grad_(True) for k in names}
        out = fn(_with(scene, **leaves))
        total = sum((o * c).sum() for o, c in zip(out, cotangents, strict=True))
        return torch.autograd.grad(total, list(leaves.values()))

    fast = grads(
        lambda s: (lambda r: (r.rgb, r.alpha, r.depth, r.normal))(render_torch(s, camera, bg, 8))
    )
    ref = grads(lambda s: _render(s, camera, bg)[:4])
    for name, a, b in zip(names, fast, ref, strict=True):
        assert a.abs().max() > 0, name
        torch.testing.assert_close(a, b, atol=1e-8, rtol=1e-6, msg=name)


def test_float32_matches_float64():
    scene64 = _random_scene(80, seed=7, sh_degree=3)
    scene32 = SplatScene(
        means=scene64.means.float(),
        quats=scene64.quats.float(),
        scales=scene64.scales.float(),
        opacities=scene64.opacities.float(),
        sh=scene64.sh.float(),
        parts=scene64.parts,
    )
    bg = torch.tensor([0.5, 0.5, 0.5])
    r32 = render_torch(scene32, _camera(40, 40, torch.float32), bg, 16)
    r64 = render_torch(scene64, _camera(40, 40), bg.double(), 16)
    assert r32.rgb.dtype == torch.float32
    for name in ("rgb", "alpha", "depth"):
        torch.testing.assert_close(
            getattr(r32, name).double(), getattr(r64, name), atol=2e-4, rtol=1e-4
        )


def _golden_scene() -> tuple[SplatScene, Camera, torch.Tensor]:
    scene = _random_scene(50, seed=8, dtype=torch.float32, sh_degree=3, spread=0.7)
    camera = Camera(
        K=intrinsics(64, 64, fov_y_deg=40.0),
        world_to_camera=look_at((0.3, -0.2, -0.5), (0.0, 0.0, 3.0), up=(0.0, -1.0, 0.0)),
        width=64,
        height=64,
    )
    return scene, camera, torch.tensor([0.05, 0.1, 0.15])


def _golden_render() -> dict[str, np.ndarray]:
    scene, camera, bg = _golden_scene()
    with torch.no_grad():
        result = render_torch(scene, camera, bg, tile_size=16)
    return {name: getattr(result, name).numpy() for name in PASSES}


def _make_golden() -> None:
    """Regenerate the golden image: ``LCA_UPDATE_GOLDEN=1 pytest tests/core/render``."""
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(GOLDEN, **_golden_render())


def test_golden_small():
    if os.environ.get("LCA_UPDATE_GOLDEN") == "1":
        _make_golden()
    golden = np.load(GOLDEN, allow_pickle=False)
    rendered = _golden_render()
    assert rendered["alpha"].max() > 0.9 and (rendered["alpha"] == 0).any()
    for name in PASSES:
        if name == "part":
            np.testing.assert_array_equal(rendered[name], golden[name], err_msg=name)
        else:
            np.testing.assert_allclose(
                rendered[name], golden[name], atol=1e-4, rtol=0, err_msg=name
            )


def test_inplace_and_autograd_paths_agree():
    # Without gradients the steps run in reused buffers; with them, out of place.
    scene = _random_scene(120, seed=9, sh_degree=1, spread=0.3)
    scene = _with(scene, opacities=0.5 + 0.5 * scene.opacities)  # deep enough to stop
    camera = _camera(48, 40)
    bg = torch.tensor([0.2, 0.1, 0.0], dtype=torch.float64)
    with torch.no_grad():
        fast = render_torch(scene, camera, bg)
    graph = render_torch(_with(scene, means=scene.means.clone().requires_grad_(True)), camera, bg)
    assert graph.rgb.requires_grad and not fast.rgb.requires_grad
    assert float(fast.alpha.max()) > 0.999  # some pixels stopped
    for name in PASSES:
        torch.testing.assert_close(
            getattr(fast, name), getattr(graph, name).detach(), atol=1e-12, rtol=0
        )


def test_gradients_through_the_stop_rule_match_reference_twin():
    n = 12
    scene = _random_scene(n, seed=10, sh_degree=0, spread=0.05)
    scene = _with(scene, opacities=torch.linspace(0.9, 0.99, n, dtype=torch.float64))
    camera = _camera(20, 20)
    bg = torch.tensor([0.5, 0.5, 0.5], dtype=torch.float64)
    names = ("means", "scales", "opacities", "sh")
    leaves = {k: getattr(scene, k).clone().requires_grad_(True) for k in names}
    fast = render_torch(_with(scene, **leaves), camera, bg)
    assert float(fast.alpha.detach().max()) > 0.9998  # T < 2e-4: these pixels stopped
    fast_grads = torch.autograd.grad(fast.rgb.sum() + fast.depth.sum(), list(leaves.values()))
    leaves = {k: getattr(scene, k).clone().requires_grad_(True) for k in names}
    ref = _render(_with(scene, **leaves), camera, bg)
    ref_grads = torch.autograd.grad(ref[0].sum() + ref[2].sum(), list(leaves.values()))
    for name, a, b in zip(names, fast_grads, ref_grads, strict=True):
        torch.testing.assert_close(a, b, atol=1e-8, rtol=1e-6, msg=name)
