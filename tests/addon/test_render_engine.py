"""The LCA_GAUSSIAN render engine: stills and animations to multilayer EXR, and parity with
``lca render`` (core.posing + core.render from the same camera).

Parity: Blender poses the imported rig (bones through core.rig.blender_bone_pose, the
jawOpen shape key) and the engine renders it; core poses the avatar with core.posing and
renders it with the OpenCV camera of lca_addon/camera.py. Combined agrees within 1e-4 (in
scene-linear), BodyPart exactly.
"""

import numpy as np
import pytest
import torch

from tests.addon.util import (
    BPY_MISSING,
    framed_avatar,
    multilayer_exr_output,
    one_sentence,
    read_exr,
    set_pose,
    world_with_nodes,
)

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)

WIDTH, HEIGHT = 64, 48
PASS_CHANNELS = {"Combined": 4, "Depth": 1, "Normal": 3, "BodyPart": 1}


@pytest.fixture
def shot(addon, avatar, rig):
    """The small avatar, a camera that frames it, the engine, multilayer EXR output."""
    objects = framed_avatar(addon, avatar, rig, 40.0, WIDTH, HEIGHT)
    scene = bpy.context.scene
    scene.render.engine = "LCA_GAUSSIAN"
    scene.render.film_transparent = True
    multilayer_exr_output(scene)
    return objects


def render_still(path):
    bpy.context.scene.render.filepath = str(path)
    assert bpy.ops.render.render(write_still=True) == {"FINISHED"}
    assert path.is_file()
    return read_exr(path)


def core_render(addon, anny_body, avatar, pose):
    """What `lca render` computes for ``pose`` from the scene camera."""
    from core.posing import avatar_scene, posed_vertices
    from core.render import Camera, render

    view = addon.module("lca_addon.camera").opencv_camera(
        bpy.context.scene.camera, bpy.context.scene
    )
    view = Camera(K=view.K, world_to_camera=view.world_to_camera, width=view.width,
                  height=view.height, near=view.near, far=view.far)  # fmt: skip
    vertices = posed_vertices(avatar, anny_body, [pose])[0]
    with torch.no_grad():
        return render(avatar_scene(avatar, vertices), view, backend="torch")


def test_the_engine_and_its_passes_are_registered(addon):
    engine = bpy.types.RenderEngine.bl_rna_get_subclass_py("LCA_GAUSSIAN")
    assert engine is not None and engine.bl_label == "LCA Gaussian"
    module = addon.module("lca_addon.render_engine")
    assert module._PASSES == addon.module("core.render.blender_passes").PASSES
    assert "LCA_GAUSSIAN" in bpy.types.RENDER_PT_format.COMPAT_ENGINES
    assert "LCA_GAUSSIAN" in bpy.types.DATA_PT_lens.COMPAT_ENGINES


def test_a_still_has_every_pass(shot, tmp_path):
    passes = render_still(tmp_path / "still.exr")
    assert {name: p.shape for name, p in passes.items()} == {
        name: (HEIGHT, WIDTH, channels) for name, channels in PASS_CHANNELS.items()
    }
    rgba, depth = passes["Combined"], passes["Depth"][..., 0]
    normal, part = passes["Normal"], passes["BodyPart"][..., 0]
    alpha = rgba[..., 3]
    hit = alpha > 0
    assert 0.05 < hit.mean() < 0.6  # the body is in the picture, not all of it
    assert alpha.min() >= 0 and alpha.max() <= 1
    assert np.all(rgba[..., :3] <= alpha[..., None] + 1e-6)  # premultiplied
    assert np.abs(rgba[~hit]).max() < 1e-7  # (core's rgb there is 0 up to rounding)
    assert np.all(depth[~hit] == 1e10)  # Blender's background depth
    assert 3.5 < depth[hit].min() and depth[hit].max() < 5.5  # about 4.5 m away
    lengths = np.linalg.norm(normal, axis=-1)
    assert np.abs(lengths[hit] - 1).max() < 1e-4 and np.all(normal[~hit] == 0)
    assert np.array_equal(part < 0, ~hit) and np.all(part[~hit] == -1)
    assert np.array_equal(part, np.round(part)) and part.max() < 20
    # Rows are bottom-up in Blender: the head is at the top of the image.
    rows = np.nonzero(hit.any(axis=1))[0]
    head = bpy.context.scene.objects["small"].lca_avatar.part_names.find("head")
    assert head >= 0 and np.nonzero(part == head)[0].mean() < rows.mean()


def test_posed_render_matches_lca_render(addon, anny_body, avatar, rig, shot, tmp_path):
    from core.body.poses import parse_pose
    from core.render.color import srgb_to_linear

    pose = parse_pose(anny_body, "arm-raise+finger-curl+jaw-open")
    set_pose(shot.armature, rig, pose.rotations)
    shot.body.data.shape_keys.key_blocks["jawOpen"].value = 1.0
    passes = render_still(tmp_path / "posed.exr")

    expected = core_render(addon, anny_body, avatar, pose)
    linear = torch.cat((srgb_to_linear(expected.rgb), expected.alpha[..., None]), dim=-1)
    difference = np.abs(passes["Combined"] - linear.numpy())
    assert difference.max() <= 1e-4, difference.max()
    part = expected.part.numpy().astype(np.float32)
    assert np.array_equal(passes["BodyPart"][..., 0], part)
    hit = expected.alpha.numpy() > 0
    assert np.abs(passes["Depth"][..., 0][hit] - expected.depth.numpy()[hit]).max() < 1e-3
    rest = core_render(addon, anny_body, avatar, parse_pose(anny_body, "rest"))
    assert np.abs(rest.alpha.numpy() - passes["Combined"][..., 3]).max() > 0.5  # it is posed


def test_an_animation_writes_one_multilayer_exr_per_frame(anny_body, rig, shot, tmp_path):
    from core.body.poses import parse_pose

    scene, armature = bpy.context.scene, shot.armature
    arm = armature.pose.bones["upperarm01.L"]
    raised = parse_pose(anny_body, "arm-raise")
    for frame, weight in ((1, 0.0), (3, 1.0)):
        set_pose(armature, rig, raised.rotations * weight)
        arm.keyframe_insert("rotation_quaternion", frame=frame)
    scene.frame_start, scene.frame_end = 1, 3
    scene.render.filepath = str(tmp_path / "frame_")
    assert bpy.ops.render.render(animation=True) == {"FINISHED"}
    paths = sorted(tmp_path.glob("frame_*.exr"))
    assert [p.name for p in paths] == ["frame_0001.exr", "frame_0002.exr", "frame_0003.exr"]
    frames = [read_exr(p) for p in paths]
    alphas = [f["Combined"][..., 3] for f in frames]
    moved = [float(np.abs(alphas[i + 1] - alphas[i]).max()) for i in range(2)]
    assert min(moved) > 0.5, moved  # the arm moves between each pair of frames
    # The left arm (+X) is on the image's right; the image's left stays as it was.
    change = np.abs(alphas[2] - alphas[0])
    assert change[:, : WIDTH // 2 - 6].max() < 1e-6 < change[:, WIDTH // 2 :].max()


def test_no_camera_is_an_error_and_nothing_is_written(shot, tmp_path):
    bpy.context.scene.camera = None
    bpy.context.scene.render.filepath = str(tmp_path / "none.exr")
    with pytest.raises(RuntimeError, match="no camera"):  # Blender's own check comes first
        bpy.ops.render.render(write_still=True)
    assert not list(tmp_path.iterdir())


def test_an_orthographic_camera_is_an_error_and_nothing_is_written(shot, tmp_path):
    bpy.context.scene.camera.data.type = "ORTHO"
    bpy.context.scene.render.filepath = str(tmp_path / "ortho.exr")
    with pytest.raises(RuntimeError, match="Perspective") as raised:
        bpy.ops.render.render(write_still=True)
    assert one_sentence(str(raised.value).removeprefix("Error: ").strip())
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("fault", ["binding", "body mesh", "vertices", "hidden body"])
def test_an_avatar_that_cannot_be_drawn_is_skipped_with_a_warning(shot, tmp_path, capfd, fault):
    if fault == "binding":
        shot.avatar.data.attributes.remove(shot.avatar.data.attributes["lca_offset"])
    elif fault == "body mesh":
        bpy.data.objects.remove(shot.body)
    elif fault == "hidden body":  # not evaluated for the render, so its pose is unknown
        shot.body.hide_render = True
    else:
        import bmesh

        mesh = bmesh.new()
        mesh.from_mesh(shot.body.data)
        bmesh.ops.delete(mesh, geom=list(mesh.verts)[:100], context="VERTS")
        mesh.to_mesh(shot.body.data)
        mesh.free()
    capfd.readouterr()
    passes = render_still(tmp_path / "skipped.exr")
    output = capfd.readouterr()
    warnings = [
        line.removeprefix("Warning: ")
        for line in (output.out + output.err).splitlines()
        if line.startswith("Warning: ")
    ]
    assert len(warnings) == 1 and "'small'" in warnings[0], output
    assert one_sentence(warnings[0]), warnings[0]
    assert np.all(passes["Combined"] == 0) and np.all(passes["BodyPart"] == -1)


def test_an_opaque_film_shows_the_world_colour(shot, tmp_path):
    scene = bpy.context.scene
    scene.render.film_transparent = False
    scene.world = world_with_nodes("world")
    rgba = render_still(tmp_path / "opaque.exr")["Combined"]
    assert np.all(rgba[..., 3] == 1)
    np.testing.assert_allclose(rgba[0, 0, :3], (0.2, 0.1, 0.05), rtol=1e-6)


def test_two_avatars_are_drawn_together(addon, avatar, rig, shot, tmp_path):
    one = render_still(tmp_path / "one.exr")["Combined"][..., 3]
    scene_build = addon.module("lca_addon.scene_build")
    other = scene_build.build_avatar_scene(bpy.context, avatar, rig, "other")
    other.armature.location = (0.9, 0.0, 0.0)
    both = render_still(tmp_path / "both.exr")["Combined"][..., 3]
    assert (both > 0).sum() > 1.5 * (one > 0).sum()
    assert np.all(both[one > 0.99] > 0.99)  # the first avatar is still there
