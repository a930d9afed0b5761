"""Splat quads for the viewport against the torch reference's projection and image.

The quads must carry exactly what ``torch_backend.project`` computes (positions, conics,
footprints, colours, opacities), in the reverse order; blending them back to front with a
naive NumPy compositor must give the reference's image up to its 1e-4 transmittance stop.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.posing import avatar_scene
from core.render.camera import intrinsics, look_at, orbit_camera
from core.render.splat_quads import gl_matrices, project_quads
from core.render.torch_backend import ALPHA_THRESHOLD, MAX_ALPHA, project, render_torch
from core.render.types import Camera, SplatScene
from tests.synthetic import tiny_avatar


def _scene(n: int = 200, sh_degree: int = 2, dtype: torch.dtype = torch.float64) -> SplatScene:
    scene = avatar_scene(tiny_avatar(n, sh_degree=sh_degree, seed=3))
    return SplatScene(
        means=scene.means.to(dtype),
        quats=scene.quats.to(dtype),
        scales=scene.scales.to(dtype),
        opacities=scene.opacities.to(dtype),
        sh=scene.sh.to(dtype),
    )


def _cameras() -> list[Camera]:
    """A centred orbit camera, one with an off-centre principal point, and one so close that
    splats cross the near plane and the 1.3x field-of-view clamp matters."""
    orbit = orbit_camera((0.0, 0.0, 0.0), 4.0, 30.0, 15.0, 64, 48, dtype=torch.float64)
    K = intrinsics(80, 60, focal_px=70.0, dtype=torch.float64)
    K[0, 2], K[1, 2] = 31.0, 35.5
    shifted = Camera(K=K, world_to_camera=look_at((1.0, -3.0, 0.5), (0.2, 0.0, 0.0)), width=80,
                     height=60)  # fmt: skip
    close = Camera(
        K=intrinsics(64, 64, fov_y_deg=30.0, dtype=torch.float64),
        world_to_camera=look_at((0.1, -0.9, 0.2), (0.0, 0.0, 0.0), dtype=torch.float64),
        width=64,
        height=64,
        near=0.5,
    )
    return [orbit, shifted, close]


@pytest.mark.parametrize("camera_index", range(3))
def test_quads_carry_the_reference_projection_in_reverse_order(camera_index):
    scene = _scene()
    camera = _cameras()[camera_index]
    camera = Camera(K=camera.K, world_to_camera=camera.world_to_camera.double(),
                    width=camera.width, height=camera.height, near=camera.near)  # fmt: skip
    reference = project(scene, camera)
    quads = project_quads(scene, *gl_matrices(camera), camera.width, camera.height)

    assert 20 < quads.count <= scene.count
    assert torch.equal(quads.index, reference.index.flip(0))
    packed = reference.packed.flip(0)
    torch.testing.assert_close(quads.centers, packed[:, :2], rtol=0, atol=1e-9)
    torch.testing.assert_close(quads.conics, packed[:, 2:5], rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(quads.opacities, packed[:, 5].exp(), rtol=1e-12, atol=0)
    torch.testing.assert_close(quads.colors, packed[:, 6:9], rtol=1e-12, atol=1e-12)
    assert torch.equal(quads.radii, reference.radii.flip(0).double())
    z = packed[:, 9]  # camera depth, back to front
    assert torch.all(z[:-1] >= z[1:])
    assert torch.all(quads.depths[:-1] >= quads.depths[1:])  # window depth grows with z
    assert float(quads.depths.min()) >= 0.0 and float(quads.depths.max()) <= 1.0


def test_near_splats_are_culled_and_off_screen_ones_dropped():
    scene = _scene()
    camera = _cameras()[2]
    quads = project_quads(scene, *gl_matrices(camera), camera.width, camera.height)
    view = scene.means @ camera.world_to_camera[:3, :3].T + camera.world_to_camera[:3, 3]
    in_front = int((view[:, 2] >= camera.near).sum())
    assert 0 < quads.count < in_front < scene.count  # some behind the near plane, some off
    assert bool((view[quads.index, 2] >= camera.near).all())


def test_an_orthographic_view_has_a_constant_footprint():
    """One round Gaussian seen by an orthographic view: its 2D covariance is (s k)^2 + 0.3
    with k pixels per metre, wherever it sits, and its colour uses the view direction."""
    scale, pixels_per_metre, width, height = 0.05, 100.0, 64, 48
    means = torch.tensor([[0.0, 0.0, 0.0], [0.1, -0.3, 0.05]], dtype=torch.float64)
    sh = torch.zeros(2, 4, 3, dtype=torch.float64)
    sh[:, 3, 0] = 1.0  # red varies with the x of the view direction (-SH_C1 x)
    scene = SplatScene(
        means=means,
        quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]] * 2, dtype=torch.float64),
        scales=torch.full((2, 3), scale, dtype=torch.float64),
        opacities=torch.tensor([0.9, 0.9], dtype=torch.float64),
        sh=sh,
    )
    view = look_at((0.0, -5.0, 0.0), (0.0, 0.0, 0.0), dtype=torch.float64)
    view = torch.diag(torch.tensor([1.0, -1.0, -1.0, 1.0], dtype=torch.float64)) @ view
    projection = torch.eye(4, dtype=torch.float64)
    projection[0, 0] = 2.0 * pixels_per_metre / width
    projection[1, 1] = 2.0 * pixels_per_metre / height
    projection[2, 2], projection[2, 3] = -2.0 / 99.9, -100.1 / 99.9  # near 0.1, far 100
    quads = project_quads(scene, view, projection, width, height)
    expected = (scale * pixels_per_metre) ** 2 + 0.3
    torch.testing.assert_close(quads.conics[:, 0], torch.full((2,), 1 / expected).double())
    torch.testing.assert_close(quads.conics[:, 1], torch.zeros(2).double(), atol=1e-12, rtol=0)
    # The view looks along +Y (x = 0), so both get the same colour: 0.5 from the DC-free SH.
    torch.testing.assert_close(quads.colors, torch.full((2, 3), 0.5, dtype=torch.float64))
    assert quads.index.tolist() == [0, 1]  # the first Gaussian is further away (y = 0 vs -0.3)
    torch.testing.assert_close(quads.centers[0], torch.tensor([32.0, 24.0], dtype=torch.float64))


def composite_quads(quads, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Blend the quads back to front with premultiplied alpha, as the viewport shader does:
    (H, W, 3) colour over black and (H, W) alpha. A naive NumPy twin of the GPU draw."""
    rgb = np.zeros((height, width, 3))
    alpha = np.zeros((height, width))
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    for i in range(quads.count):
        (mx, my), (rx, ry) = quads.centers[i].tolist(), quads.radii[i].tolist()
        a, b, c = quads.conics[i].tolist()
        box = (np.abs(xs - mx) <= rx) & (np.abs(ys - my) <= ry)
        dx, dy = xs - mx, ys - my
        sigma = 0.5 * (a * dx * dx + c * dy * dy) + b * dx * dy
        value = np.minimum(MAX_ALPHA, float(quads.opacities[i]) * np.exp(-sigma))
        value = np.where(box & (sigma >= 0) & (value >= ALPHA_THRESHOLD), value, 0.0)
        rgb = value[..., None] * quads.colors[i].numpy() + (1 - value[..., None]) * rgb
        alpha = value + (1 - value) * alpha
    return rgb, alpha


def test_blending_the_quads_back_to_front_gives_the_reference_image():
    scene = _scene(120)
    camera = _cameras()[0]
    camera = Camera(K=camera.K, world_to_camera=camera.world_to_camera.double(),
                    width=camera.width, height=camera.height)  # fmt: skip
    quads = project_quads(scene, *gl_matrices(camera), camera.width, camera.height)
    rgb, alpha = composite_quads(quads, camera.width, camera.height)
    expected = render_torch(scene, camera, torch.zeros(3, dtype=torch.float64))
    assert float(expected.alpha.max()) > 0.99  # some pixels are opaque: the stop matters
    # The reference stops a pixel before the Gaussian that would take its transmittance to
    # 1e-4 or below, so it leaves out the little weight left there (here under 4e-4).
    assert np.abs(alpha - expected.alpha.numpy()).max() < 1e-3
    assert np.abs(rgb - expected.rgb.numpy()).max() < 1e-3
    assert np.abs(rgb - expected.rgb.numpy()).mean() < 1e-5
    # Drawn front to back instead, the image is clearly wrong.
    flipped = type(quads)(**{k: v.flip(0) for k, v in quads.__dict__.items()})
    wrong, _ = composite_quads(flipped, camera.width, camera.height)
    assert np.abs(wrong - expected.rgb.numpy()).max() > 0.1


def test_gl_matrices_put_the_image_corners_at_the_ndc_corners():
    camera = _cameras()[1]
    view, projection = gl_matrices(camera)
    # The ray through pixel (0, 0) (the image's top-left corner) at depth 2.
    K = camera.K.double()
    corner_cv = torch.linalg.solve(K, torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)) * 2.0
    world = torch.linalg.solve(
        camera.world_to_camera.double(), torch.cat((corner_cv, torch.ones(1)))
    )
    clip = projection @ view @ world
    torch.testing.assert_close(clip[:2] / clip[3], torch.tensor([-1.0, 1.0], dtype=torch.float64))
    assert math.isclose(float(clip[3]), 2.0)


def test_back_to_front_is_the_order_of_the_quads():
    """The viewport sorts on the CPU with back_to_front and lets the shader cull: its order,
    restricted to the splats project_quads keeps, is the quads' order."""
    from core.render.splat_quads import back_to_front

    scene = _scene(300, dtype=torch.float32)
    camera = _cameras()[2]  # some splats culled
    view, projection = gl_matrices(camera)
    quads = project_quads(scene, view, projection, camera.width, camera.height)
    order = back_to_front(scene.means.numpy(), view.numpy())
    assert order.dtype == np.int32 and sorted(order.tolist()) == list(range(scene.count))
    kept = set(quads.index.tolist())
    assert [i for i in order.tolist() if i in kept] == quads.index.tolist()


def test_pack_geometry_and_colors_hold_the_scenes_in_order_then_zeros():
    from core.render.splat_quads import (
        COLOR_WIDTH,
        GEOMETRY_WIDTH,
        pack_colors,
        pack_geometry,
        view_dependent,
    )

    one, two = _scene(5, dtype=torch.float32), _scene(7, sh_degree=0, dtype=torch.float32)
    packed = pack_geometry([one, two], 16)
    assert packed.shape == (16, GEOMETRY_WIDTH) and packed.dtype == np.float32
    means = torch.cat((one.means, two.means)).numpy()
    np.testing.assert_array_equal(packed[:12, 0:3], means)
    np.testing.assert_array_equal(packed[:12, 3], 1.0)
    np.testing.assert_array_equal(packed[:12, 4:8], torch.cat((one.quats, two.quats)).numpy())
    np.testing.assert_array_equal(packed[:12, 8:11], torch.cat((one.scales, two.scales)).numpy())
    assert not packed[12:].any() and not packed[:, 11].any()
    again = pack_geometry([two, one], 16, out=packed)  # written into, nothing allocated
    assert again is packed and np.array_equal(packed[:7, 0:3], two.means.numpy())
    with pytest.raises(ValueError, match="capacity"):
        pack_geometry([one, two], 11)

    camera = _cameras()[0]
    view, projection = gl_matrices(camera)
    colors = pack_colors([one, two], view, projection, 16)
    assert colors.shape == (16, COLOR_WIDTH) and not colors[12:].any()
    quads = project_quads(one, view.float(), projection.float(), camera.width, camera.height)
    np.testing.assert_allclose(colors[quads.index.numpy(), :3], quads.colors.numpy(), atol=1e-6)
    np.testing.assert_array_equal(colors[:12, 3], torch.cat((one.opacities, two.opacities)))
    assert view_dependent([one, two]) and not view_dependent([two])
