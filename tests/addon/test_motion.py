"""lca_addon/motion_import.py (and fbx_motion.py, action_keys.py): body motion from BVH and FBX
onto the avatar's armature; the shared clips in ../shared/motion (skipped where absent)."""

from pathlib import Path

import numpy as np
import pytest

from tests.addon.util import BPY_MISSING, one_sentence, set_pose

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)

MOTION = (Path(__file__).resolve().parents[2] / ".." / "shared" / "motion").resolve()
SHARED_CLIPS = sorted(p.name for p in MOTION.glob("*.bvh")) if MOTION.is_dir() else []


def shared_clip(name: str) -> Path:
    path = MOTION / name
    if not path.is_file():
        pytest.skip(f"shared motion clip not found at {path}")
    return path


@pytest.fixture
def objects(addon, avatar, rig):
    """The small avatar built into an empty scene at 24 fps, its armature active."""
    made = addon.module("lca_addon.scene_build").build_avatar_scene(
        bpy.context, avatar, rig, "small"
    )
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 24, 1.0
    return made


def heads(armature) -> np.ndarray:
    """(J, 3) world bone heads of the armature's pose at the current frame."""
    matrix = np.array(armature.matrix_world)
    points = np.array([pose_bone.head for pose_bone in armature.pose.bones])
    return points @ matrix[:3, :3].T + matrix[:3, 3]


def head_track(armature, frames) -> np.ndarray:
    """(T, J, 3) bone heads at each of ``frames``."""
    scene = bpy.context.scene
    track = []
    for frame in frames:
        scene.frame_set(frame)
        track.append(heads(armature))
    return np.stack(track)


def keyed_frames(action, addon) -> set:
    fcurves = addon.module("lca_addon.action_keys").action_fcurves(action)
    return {tuple(int(k.co[0]) for k in fc.keyframe_points) for fc in fcurves}, len(fcurves)


@pytest.mark.parametrize("name", SHARED_CLIPS or ["(none)"])
def test_every_shared_bvh_plays_on_the_avatar(addon, objects, anny_body, name):
    path = shared_clip(name)
    motion = addon.module("lca_addon.motion_import")
    live_link = addon.module("lca_addon.live_link")
    result = motion.apply_motion(bpy.context, objects.avatar, path, 5, body=anny_body)
    armature = objects.armature
    assert armature.animation_data.action == result.action
    count = result.last_frame - result.first_frame + 1
    assert result.first_frame == 5 and count > 10
    assert (bpy.context.scene.frame_start, bpy.context.scene.frame_end) == (5, result.last_frame)
    frames, curves = keyed_frames(result.action, addon)
    assert frames == {tuple(range(5, 5 + count))}
    assert curves == 4 * len(armature.pose.bones) + 3
    assert one_sentence(result.message), result.message
    scene, depsgraph = bpy.context.scene, bpy.context.evaluated_depsgraph_get()
    scene.frame_set(5)
    first = live_link.evaluated_vertices(objects.body, depsgraph)
    scene.frame_set(5 + count // 2)
    middle = live_link.evaluated_vertices(objects.body, depsgraph)
    assert np.abs(middle - first).max() > 0.02  # the body moves
    # Feet stay near the floor (the lowest vertex over the clip is at about the rest's).
    assert abs(float(middle[:, 2].min()) - float(first[:, 2].min())) < 0.5


def test_the_operator_keys_from_the_current_frame_and_reports_the_family(addon, objects):
    path = shared_clip("rokoko_jesse_dance_mixamo_names_fingers.bvh")
    bpy.context.scene.frame_set(12)
    assert bpy.types.LCA_OT_import_motion.bl_options == {"REGISTER", "UNDO"}
    assert bpy.ops.lca.import_motion(filepath=str(path), fit_frame_range=False) == {"FINISHED"}
    action = objects.armature.animation_data.action
    assert action.name == "small_rokoko_jesse_dance_mixamo_names_fingers"
    frames, _ = keyed_frames(action, addon)
    assert min(min(f) for f in frames) == 12
    assert bpy.context.scene.frame_end == 250  # untouched


def test_the_motion_panel_shows_both_imports_and_the_action(addon, objects, anny_body):
    from types import SimpleNamespace

    from tests.layout_recorder import RecordingLayout

    panel_type = bpy.types.LCA_PT_motion
    assert (panel_type.bl_parent_id, panel_type.bl_category) == ("LCA_PT_avatar", "Avatar")
    assert panel_type.poll(bpy.context)  # the armature is active
    layout = RecordingLayout()
    panel_type.draw(SimpleNamespace(layout=layout), bpy.context)
    assert layout.texts == ["Body Motion (BVH, FBX)", "Face Curves (CSV, JSON)"]
    path = shared_clip("fair1_wave_hello.bvh")
    addon.module("lca_addon.motion_import").apply_motion(
        bpy.context, objects.avatar, path, 1, body=anny_body
    )
    panel_type.draw(SimpleNamespace(layout=layout), bpy.context)
    assert layout.texts[-1] == "small_fair1_wave_hello"
    bpy.context.view_layer.objects.active = None
    assert not panel_type.poll(bpy.context)


# -- accuracy: the avatar's own motion through BVH and FBX ---------------------------------------

ROTATIONS = {  # canonical rotation vectors (radians) on frames 2..4; frame 1 is the rest pose
    "upperarm01.L": (0.0, -0.9, 0.3),
    "lowerarm01.R": (0.6, 0.2, 0.0),
    "spine02": (0.25, 0.0, 0.1),
    "neck01": (0.0, 0.0, 0.4),
    "head": (0.2, 0.3, 0.0),
    "upperleg01.L": (-0.5, 0.0, 0.1),
    "lowerarm01.L": (0.7, 0.0, 0.0),
    "wrist.L": (0.0, 0.4, 0.5),
}


def key_own_motion(armature, rig) -> None:
    """Frames 1..4 on the avatar's own rig: rest, then the ROTATIONS growing, and the root
    rising and moving forward."""
    import torch

    names = list(rig.bone_names)
    for frame in range(1, 5):
        weight = (frame - 1) / 3
        rotations = torch.zeros(len(names), 3)
        for bone, rotvec in ROTATIONS.items():
            rotations[names.index(bone)] = weight * torch.tensor(rotvec)
        set_pose(armature, rig, rotations, torch.tensor([0.0, -0.1, 0.05]) * weight)
        for pose_bone in armature.pose.bones:
            pose_bone.keyframe_insert("rotation_quaternion", frame=frame)
        armature.pose.bones[0].keyframe_insert("location", frame=frame)


def export(kind: str, armature, path: Path) -> None:
    """Export the armature's frames 1..4 from frame 1 (its rest pose: an FBX of an armature
    alone takes the current pose as the skeleton's rest)."""
    bpy.context.scene.frame_set(1)
    for obj in bpy.context.view_layer.objects:
        obj.select_set(obj == armature)
    bpy.context.view_layer.objects.active = armature
    if kind == "bvh":
        assert bpy.ops.export_anim.bvh(filepath=str(path), frame_start=1, frame_end=4) == {
            "FINISHED"
        }
    else:
        assert bpy.ops.export_scene.fbx(
            filepath=str(path),
            use_selection=True,
            object_types={"ARMATURE"},
            bake_anim=True,
            bake_anim_use_all_actions=False,
            bake_anim_use_nla_strips=False,
            add_leaf_bones=False,
        ) == {"FINISHED"}


@pytest.mark.parametrize("kind", ["bvh", "fbx"])
def test_own_motion_round_trips_through_blender_exports_within_a_millimetre(
    addon, objects, rig, tmp_path, kind
):
    armature = objects.armature
    key_own_motion(armature, rig)
    expected = head_track(armature, range(1, 5))
    path = tmp_path / f"own.{kind}"
    export(kind, armature, path)
    before = len(bpy.data.objects), len(bpy.data.armatures), len(bpy.data.scenes)
    bpy.context.scene.frame_set(1)
    assert bpy.ops.lca.import_motion(filepath=str(path), start_frame=1) == {"FINISHED"}
    assert (len(bpy.data.objects), len(bpy.data.armatures), len(bpy.data.scenes)) == before
    got = head_track(armature, range(1, 5))
    error = float(np.linalg.norm(got - expected, axis=-1).max())
    print(f"{kind} round trip: max bone-head error {error * 1000:.4f} mm")
    assert error < 1e-3
    assert bpy.context.scene.name == "Scene" and "lca_fbx_import" not in bpy.data.scenes


# -- bad input ----------------------------------------------------------------------------------

BVH_HEADER = """HIERARCHY
ROOT {root}
{{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT {child}
  {{
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {{
      OFFSET 0 10 0
    }}
  }}
}}
MOTION
Frames: 2
Frame Time: 0.0333333
0 90 0 0 0 0 0 0 0
0 90 0 0 10 0 0 5 0
"""


def bad_file(case: str, tmp_path: Path) -> Path:
    if case == "empty-bvh":
        return _write(tmp_path / "empty.bvh", b"")
    if case == "truncated-bvh":
        return _write(tmp_path / "cut.bvh", BVH_HEADER.format(root="Hips", child="Spine")[:-40])
    if case == "corrupt-bvh":
        return _write(tmp_path / "junk.bvh", bytes(range(256)) * 8)
    if case == "unmappable-bvh":
        return _write(tmp_path / "alien.bvh", BVH_HEADER.format(root="Blob", child="Tentacle"))
    if case == "empty-fbx":
        return _write(tmp_path / "empty.fbx", b"")
    if case == "corrupt-fbx":
        return _write(tmp_path / "junk.fbx", b"Kaydara FBX Binary  \x00\x1a\x00" + bytes(300))
    if case == "text-fbx":
        return _write(tmp_path / "text.fbx", b"; FBX 7.4.0 project file\nnothing here\n")
    raise AssertionError(case)


def _write(path: Path, data) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def truncated_fbx(armature, tmp_path: Path) -> Path:
    whole = tmp_path / "whole.fbx"
    export("fbx", armature, whole)
    data = whole.read_bytes()
    return _write(tmp_path / "cut.fbx", data[: len(data) // 2])


CASES = [
    "empty-bvh",
    "truncated-bvh",
    "corrupt-bvh",
    "unmappable-bvh",
    "empty-fbx",
    "corrupt-fbx",
    "text-fbx",
    "truncated-fbx",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_motion_is_one_sentence_and_leaves_the_animation_as_it_was(
    addon, objects, rig, tmp_path, case
):
    armature = objects.armature
    key_own_motion(armature, rig)
    action = armature.animation_data.action
    path = (
        truncated_fbx(armature, tmp_path) if case == "truncated-fbx" else bad_file(case, tmp_path)
    )
    kinds = ("objects", "armatures", "actions", "scenes", "meshes", "collections")
    before = {kind: len(getattr(bpy.data, kind)) for kind in kinds}
    keys = [
        len(fc.keyframe_points)
        for fc in addon.module("lca_addon.action_keys").action_fcurves(action)
    ]
    with pytest.raises(RuntimeError) as raised:
        bpy.ops.lca.import_motion(filepath=str(path), start_frame=1)
    message = str(raised.value).removeprefix("Error: ").strip()
    assert one_sentence(message.replace(str(path), "PATH")), message
    assert armature.animation_data.action == action
    assert {kind: len(getattr(bpy.data, kind)) for kind in kinds} == before
    after = [
        len(fc.keyframe_points)
        for fc in addon.module("lca_addon.action_keys").action_fcurves(action)
    ]
    assert after == keys
    assert bpy.context.scene.name == "Scene"


# -- the command line -----------------------------------------------------------------------------


def test_the_motion_command_saves_a_blend_with_the_motion(addon, avatar_file, tmp_path, capsys):
    clip = shared_clip("cmu_jumping_jacks_animdrawings.bvh")
    blend = tmp_path / "jacks.blend"
    commands = addon.module("lca_addon.commands")
    argv = ["motion", str(avatar_file), "--motion", str(clip), "--blend", str(blend)]
    assert commands.run([*argv, "--fps", "30", "--start", "1"], prog="blender -c lca") == 0
    assert "Keyed 'small_cmu_jumping_jacks_animdrawings'" in capsys.readouterr().out
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    scene = bpy.context.scene
    assert (scene.frame_start, scene.frame_end, scene.render.fps) == (1, 125, 30)
    rig = bpy.data.objects["small_rig"]
    assert rig.animation_data.action.name == "small_cmu_jumping_jacks_animdrawings"
    assert scene.camera is not None  # a new file gets the framing camera, ready to render


def test_the_motion_command_refuses_bad_input_in_one_sentence(addon, avatar_file, tmp_path, capsys):
    commands = addon.module("lca_addon.commands")
    blend = tmp_path / "out.blend"
    bad = _write(tmp_path / "bad.bvh", "HIERARCHY\nROOT Hips\n{\n")
    for argv in (
        ["motion", str(avatar_file), "--blend", str(blend)],
        ["motion", str(avatar_file), "--motion", str(bad), "--blend", str(blend)],
    ):
        assert commands.run(argv, prog="blender -c lca") == 2
        message = capsys.readouterr().err.strip().removeprefix("blender -c lca: error: ")
        assert one_sentence(message.replace(str(bad), "PATH")), message
    assert not blend.exists()


def test_the_keying_benchmark_runs(addon):
    lines = []
    seconds = addon.module("lca_addon.motion_benchmark").motion_keying_speed(
        frames=50, repeats=1, echo=lines.append
    )
    assert seconds > 0 and "keyed 50 frames x 104 bones" in lines[0]


def test_blender_and_lca_render_pose_the_same_frames(addon, objects, anny_body, avatar):
    """The Motion import in Blender and `lca render --motion` (core.motion.animation) put the
    avatar's body mesh in the same place on the same frame."""
    from core.motion.animation import build_animation
    from core.motion.bvh import read_bvh
    from core.posing import posed_vertices

    path = shared_clip("cmu_jumping_jacks_animdrawings.bvh")
    motion = addon.module("lca_addon.motion_import")
    live_link = addon.module("lca_addon.live_link")
    motion.apply_motion(bpy.context, objects.avatar, path, 1, body=anny_body)
    animation = build_animation(avatar, anny_body, read_bvh(path).clip, fps=24.0)
    scene, depsgraph = bpy.context.scene, bpy.context.evaluated_depsgraph_get()
    for k in (0, 37, 80):
        scene.frame_set(1 + k)
        in_blender = live_link.evaluated_vertices(objects.body, depsgraph)
        in_core = posed_vertices(avatar, anny_body, [animation.poses[k]])[0].numpy()
        assert np.abs(in_blender - in_core).max() < 1e-4, k
