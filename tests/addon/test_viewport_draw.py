"""The viewport's splat drawing (``lca_addon.viewport_draw``) against ``lca render``.

The draw handler never fires in the bpy module, so the tests call ``draw_splats`` into a float
``GPUOffScreen`` (the GPU works offscreen after one tiny Workbench render, PLATFORM.md) with
the view and projection matrices of the scene's camera as Blender computes them
(``calc_matrix_camera``), and compare it with what ``lca render`` computes for the same pose
(core.posing + core.render, camera from lca_addon/camera.py) in the Combined convention
(scene-linear, premultiplied: ``combined_linear``).

Tolerance, as measured on Mesa llvmpipe (96 x 72 pixels, 2,000 Gaussians, posed): the largest
difference is 3.7e-3 and the mean 1.1e-5 per channel; the silhouettes (alpha > 0.5) agree
exactly (IoU 1). What remains is float32 arithmetic on the GPU (exp, pow) and the reference's
stop once a pixel's transmittance would fall to 1e-4, which back-to-front blending cannot
mimic. The test allows 1e-2 (largest) and 1e-4 (mean). The same draw against the rest pose
scores 1.0 / 1.2e-2 / IoU 0.73, and the splats drawn front to back 0.60 / 9.2e-3: the test
checks that both fail by a wide margin.
"""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.addon.util import BPY_MISSING, framed_avatar, set_pose

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)
import gpu  # noqa: E402  (a Blender module, importable once bpy is)
from gpu_extras.batch import batch_for_shader  # noqa: E402
from mathutils import Matrix  # noqa: E402

WIDTH, HEIGHT = 96, 72
MAX_DIFFERENCE, MEAN_DIFFERENCE = 1e-2, 1e-4
SAVE_TO = os.environ.get("LCA_VIEWPORT_PNG_DIR")
"""Folder to save the drawn and the rendered images into as PNGs (for looking at them)."""


@pytest.fixture(scope="module")
def gpu_ready():
    """One 4 x 4 Workbench render, after which ``gpu`` works offscreen (PLATFORM.md)."""
    scene = bpy.context.scene
    camera = bpy.data.objects.new("gpu_init", bpy.data.cameras.new("gpu_init"))
    scene.collection.objects.link(camera)
    scene.camera = camera
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.resolution_x = scene.render.resolution_y = 4
    bpy.ops.render.render()


@pytest.fixture
def shot(addon, avatar, rig, gpu_ready):
    """The small avatar and a camera that frames it (as in test_render_engine.py)."""
    return framed_avatar(addon, avatar, rig, 55.0, WIDTH, HEIGHT)


def camera_matrices():
    """Blender's own view and projection matrices of the scene camera."""
    scene = bpy.context.scene
    depsgraph = bpy.context.evaluated_depsgraph_get()
    camera = scene.camera.evaluated_get(depsgraph)
    projection = camera.calc_matrix_camera(depsgraph, x=WIDTH, y=HEIGHT)
    return camera.matrix_world.inverted(), projection


def draw(addon, view=None, projection=None, before_draw=None):
    """(H, W, 4) float32 RGBA drawn by ``draw_splats`` into a cleared float offscreen, rows
    top-down, and the drawer. ``before_draw(drawer)`` may replace the uploaded splats."""
    module = addon.module("lca_addon.viewport_draw")
    if view is None:
        view, projection = camera_matrices()
    offscreen = gpu.types.GPUOffScreen(WIDTH, HEIGHT, format="RGBA32F")
    try:
        with offscreen.bind():
            framebuffer = gpu.state.active_framebuffer_get()
            framebuffer.clear(color=(0.0, 0.0, 0.0, 0.0), depth=1.0)
            if before_draw is None:
                drawer = module.draw_splats(view, projection, WIDTH, HEIGHT)
            else:
                drawer = module.draw_splats(view, projection, WIDTH, HEIGHT)
                framebuffer.clear(color=(0.0, 0.0, 0.0, 0.0), depth=1.0)
                before_draw(drawer)
                drawer.draw(WIDTH, HEIGHT)
            pixels = framebuffer.read_color(0, 0, WIDTH, HEIGHT, 4, 0, "FLOAT")
            image = np.array(pixels.to_list(), dtype=np.float32).reshape(HEIGHT, WIDTH, 4)
    finally:
        offscreen.free()
    return image[::-1], drawer


def core_combined(addon, anny_body, avatar, pose) -> np.ndarray:
    """(H, W, 4) what `lca render` computes for ``pose``, as the Combined pass (top-down)."""
    from core.posing import avatar_scene, posed_vertices
    from core.render import render
    from core.render.blender_passes import combined_linear

    view = addon.module("lca_addon.camera").opencv_camera(
        bpy.context.scene.camera, bpy.context.scene
    )
    vertices = posed_vertices(avatar, anny_body, [pose])[0]
    with torch.no_grad():
        result = render(avatar_scene(avatar, vertices), view, backend="torch")
    return combined_linear(result).numpy()


def scores(drawn: np.ndarray, expected: np.ndarray) -> tuple[float, float, float]:
    """(largest difference, mean difference, silhouette IoU at alpha 0.5)."""
    difference = np.abs(drawn - expected)
    a, b = drawn[..., 3] > 0.5, expected[..., 3] > 0.5
    return float(difference.max()), float(difference.mean()), float((a & b).sum() / (a | b).sum())


def save_png(image: np.ndarray, name: str) -> None:
    """Save a scene-linear premultiplied RGBA image over mid grey, sRGB-encoded."""
    if not SAVE_TO:
        return
    from PIL import Image

    from core.render.color import linear_to_srgb

    grey = 0.2
    linear = torch.from_numpy(image[..., :3] + (1 - image[..., 3:]) * grey)
    srgb = (linear_to_srgb(linear).clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)
    Image.fromarray(srgb).resize((WIDTH * 4, HEIGHT * 4), Image.NEAREST).save(Path(SAVE_TO) / name)


def test_a_posed_avatar_is_drawn_as_lca_render_renders_it(addon, anny_body, avatar, rig, shot):
    from core.body.poses import parse_pose

    pose = parse_pose(anny_body, "arm-raise+finger-curl+jaw-open")
    set_pose(shot.armature, rig, pose.rotations)
    shot.body.data.shape_keys.key_blocks["jawOpen"].value = 1.0
    drawn, drawer = draw(addon)
    expected = core_combined(addon, anny_body, avatar, pose)
    save_png(drawn, "viewport_draw.png")
    save_png(expected, "core_render.png")
    assert drawer.count > 1000
    assert 0.05 < (expected[..., 3] > 0).mean() < 0.6
    largest, mean, iou = scores(drawn, expected)
    print(f"drawn vs core.render: max {largest:.2e}, mean {mean:.2e}, IoU {iou:.4f}")
    assert largest < MAX_DIFFERENCE and mean < MEAN_DIFFERENCE and iou > 0.99

    # The same comparison fails for a wrong pose and for splats drawn front to back.
    rest = core_combined(addon, anny_body, avatar, parse_pose(anny_body, "rest"))
    wrong_pose = scores(drawn, rest)
    print(f"drawn vs core.render at rest: {wrong_pose}")
    assert wrong_pose[0] > 0.3 and wrong_pose[1] > 5e-3 and wrong_pose[2] < 0.97, wrong_pose

    def front_to_back(drawer):
        from core.render.splat_quads import back_to_front

        view, _ = camera_matrices()
        drawer.upload_order(back_to_front(drawer.means, view)[::-1].copy())

    unsorted, _ = draw(addon, before_draw=front_to_back)
    save_png(unsorted, "viewport_draw_unsorted.png")
    wrong_order = scores(unsorted, expected)
    print(f"drawn front to back vs core.render: {wrong_order}")
    assert wrong_order[0] > 0.3 and wrong_order[1] > 5e-3, wrong_order


def test_the_splats_are_deformed_and_sorted_again_only_when_needed(addon, anny_body, rig, shot):
    from core.body.poses import parse_pose

    first, drawer = draw(addon)
    counters = lambda: (drawer.bindings_read, drawer.deformations, drawer.uploads, drawer.sorts)  # noqa: E731
    start = counters()
    assert start[0] >= 1 and start[3] >= 1
    again, _ = draw(addon)
    assert counters() == start
    assert np.array_equal(first, again)

    view, projection = camera_matrices()
    view[0][3] += 0.1  # only the view moves: sort again, do not deform or upload
    moved, _ = draw(addon, view, projection)
    assert counters() == (start[0], start[1], start[2], start[3] + 1)
    assert np.abs(moved - first).max() > 0.3

    set_pose(shot.armature, rig, parse_pose(anny_body, "arm-raise").rotations)
    posed, _ = draw(addon)  # a new pose: deform, upload and sort; the binding is kept
    assert counters() == (start[0], start[1] + 1, start[2] + 1, start[3] + 2)
    assert np.abs(posed - first).max() > 0.3

    # The binding is read again once what it was read from changes (a new attribute here).
    shot.avatar.data.attributes.new("user_note", "FLOAT", "POINT")
    again, _ = draw(addon)
    assert drawer.bindings_read == start[0] + 1
    assert np.array_equal(posed, again)


def test_show_splats_off_or_a_hidden_avatar_draws_nothing(addon, shot):
    drawn, _ = draw(addon)
    assert drawn[..., 3].max() > 0.99
    shot.avatar.lca_avatar.show_splats = False
    assert np.all(draw(addon)[0] == 0)
    shot.avatar.lca_avatar.show_splats = True
    shot.avatar.hide_set(True)
    assert np.all(draw(addon)[0] == 0)


def test_an_avatar_that_cannot_be_drawn_is_skipped_and_its_problem_kept(addon, shot):
    shot.avatar.data.attributes.remove(shot.avatar.data.attributes["lca_offset"])
    drawn, drawer = draw(addon)
    assert np.all(drawn == 0)
    assert "lca_offset" in drawer.problems["small"]


def test_a_body_edit_after_drawing_stops_the_drawing_with_its_reason(addon, shot):
    """The binding is cached, but an edit of the body mesh that changes its vertices reads it
    again, which refuses the edited mesh: nothing is drawn and the reason is kept."""
    import bmesh

    drawn, drawer = draw(addon)
    assert drawn[..., 3].max() > 0.99 and not drawer.problems
    mesh = bmesh.new()
    mesh.from_mesh(shot.body.data)
    bmesh.ops.delete(mesh, geom=list(mesh.verts)[:10], context="VERTS")
    mesh.to_mesh(shot.body.data)
    mesh.free()
    drawn, drawer = draw(addon)
    assert np.all(drawn == 0)
    assert "undo the edit" in drawer.problems["small"]


def test_a_mesh_in_front_hides_the_splats(addon, shot):
    """The resolve pass writes the splats' depth: a plane between them and the camera, drawn
    into the depth buffer first, hides them."""
    view, projection = camera_matrices()
    module = addon.module("lca_addon.viewport_draw")
    offscreen = gpu.types.GPUOffScreen(WIDTH, HEIGHT, format="RGBA32F")
    try:
        with offscreen.bind():
            framebuffer = gpu.state.active_framebuffer_get()
            framebuffer.clear(color=(0.0, 0.0, 0.0, 0.0), depth=1.0)
            # The left half of the image at depth 0 (in front of everything).
            gpu.state.depth_test_set("ALWAYS")
            gpu.state.depth_mask_set(True)
            gpu.state.color_mask_set(False, False, False, False)
            shader = gpu.shader.from_builtin("UNIFORM_COLOR")
            corners = [(-1.0, -1.0, -1.0), (0.0, -1.0, -1.0), (-1.0, 1.0, -1.0), (0.0, 1.0, -1.0)]
            with gpu.matrix.push_pop(), gpu.matrix.push_pop_projection():
                gpu.matrix.load_identity()
                gpu.matrix.load_projection_matrix(Matrix.Identity(4))
                shader.uniform_float("color", (1.0, 1.0, 1.0, 1.0))
                batch_for_shader(shader, "TRI_STRIP", {"pos": corners}).draw(shader)
            gpu.state.color_mask_set(True, True, True, True)
            gpu.state.depth_test_set("NONE")
            gpu.state.depth_mask_set(False)
            module.draw_splats(view, projection, WIDTH, HEIGHT)
            pixels = framebuffer.read_color(0, 0, WIDTH, HEIGHT, 4, 0, "FLOAT")
            image = np.array(pixels.to_list(), dtype=np.float32).reshape(HEIGHT, WIDTH, 4)
    finally:
        offscreen.free()
    alpha = image[::-1, :, 3]
    assert np.all(alpha[:, : WIDTH // 2] == 0) and alpha[:, WIDTH // 2 :].max() > 0.99


TWIN_DIFFERENCE = 1e-4
"""The shader against its torch twin (both float32, blended without the reference's
transmittance stop): measured 1.0e-6 largest on Mesa llvmpipe, both views."""


@pytest.mark.parametrize("kind", ["perspective", "orthographic"])
def test_the_shader_draws_what_its_torch_twin_computes(addon, shot, kind):
    """The vertex shader follows ``splat_quads.project_quads`` (its torch twin): the drawn
    image equals those quads blended back to front by the NumPy compositor of
    tests/core/render/test_splat_quads.py, for the camera's perspective view and for an
    orthographic one (which no core.render camera has)."""
    from core.render.color import srgb_to_linear
    from core.render.splat_quads import project_quads
    from tests.core.render.test_splat_quads import composite_quads

    view, projection = camera_matrices()
    if kind == "orthographic":
        pixels_per_metre = 30.0  # the avatar is about 1.9 m: 57 of the 72 rows
        projection = Matrix.Identity(4)
        projection[0][0] = 2.0 * pixels_per_metre / WIDTH
        projection[1][1] = 2.0 * pixels_per_metre / HEIGHT
        projection[2][2], projection[2][3] = -2.0 / 99.9, -100.1 / 99.9  # near 0.1, far 100
    drawn, drawer = draw(addon, view, projection)
    quads = project_quads(
        drawer.scenes[0],
        *(torch.tensor([list(r) for r in m]) for m in (view, projection)),
        WIDTH,
        HEIGHT,
    )
    rgb, alpha = composite_quads(quads, WIDTH, HEIGHT)
    expected = np.concatenate(
        (srgb_to_linear(torch.from_numpy(rgb)).numpy(), alpha[..., None]), axis=-1
    )
    save_png(drawn, f"viewport_draw_{kind}.png")
    largest, mean, iou = scores(drawn, expected.astype(np.float32))
    print(f"{kind}, drawn vs project_quads: max {largest:.2e}, mean {mean:.2e}, IoU {iou}")
    assert 0.05 < (alpha > 0.5).mean() < 0.6
    assert largest < TWIN_DIFFERENCE and iou > 0.999


def test_the_draw_handler_draws_the_region_with_its_own_matrices(addon, monkeypatch):
    """The POST_VIEW handler (it never fires in the bpy module: no window) hands the region's
    view and window matrices and size to draw_splats, and draws nothing outside a 3D View."""
    from types import SimpleNamespace

    module = addon.module("lca_addon.viewport_draw")
    calls = []
    monkeypatch.setattr(module, "draw_splats", lambda *args: calls.append(args))
    view, window = Matrix.Translation((0.0, 0.0, -3.0)), Matrix.Diagonal((2.0, 3.0, -1.0, 1.0))
    region = SimpleNamespace(width=640, height=480)
    context = SimpleNamespace(region=region, region_data=SimpleNamespace(
        view_matrix=view, window_matrix=window))  # fmt: skip
    monkeypatch.setattr(module, "bpy", SimpleNamespace(context=context))
    module._draw_view3d()
    assert calls == [(view, window, 640, 480)]
    context.region_data = None  # not a 3D View's region: nothing
    module._draw_view3d()
    assert len(calls) == 1
