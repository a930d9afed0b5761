"""lca_addon/face_import.py: ARKit face curves onto the avatar's shape keys, head and eye
rotations on top of the armature's motion; the shared recording in ../shared/face_arkit."""

import json
from pathlib import Path

import numpy as np
import pytest

from tests.addon.util import BPY_MISSING, one_sentence

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)

FACE = (Path(__file__).resolve().parents[2] / ".." / "shared" / "face_arkit").resolve()
RECORDING = FACE / "llf_jmtechart_MySlate_3.csv"


def recording() -> Path:
    if not RECORDING.is_file():
        pytest.skip(f"shared face recording not found at {RECORDING}")
    return RECORDING


@pytest.fixture
def objects(addon, avatar, rig):
    made = addon.module("lca_addon.scene_build").build_avatar_scene(
        bpy.context, avatar, rig, "small"
    )
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 60, 1.0
    return made


def test_the_recording_keys_the_52_shape_keys_exactly_and_turns_the_eyes(addon, objects):
    from core.motion.face_curves import read_face_curves

    path = recording()
    curves = read_face_curves(path)
    assert bpy.types.LCA_OT_import_face.bl_options == {"REGISTER", "UNDO"}
    assert bpy.ops.lca.import_face(filepath=str(path), start_frame=3) == {"FINISHED"}
    keys = objects.body.data.shape_keys
    action = keys.animation_data.action
    fcurves = addon.module("lca_addon.action_keys").action_fcurves(action)
    assert len(fcurves) == 52
    for fcurve in fcurves:
        name = fcurve.data_path.split('"')[1]
        values = np.empty(2 * len(fcurve.keyframe_points), np.float32)
        fcurve.keyframe_points.foreach_get("co", values)
        expected = curves.weights[:, curves.names.index(name)].numpy().astype(np.float32)
        assert np.array_equal(values[1::2], expected), name  # the file's values, exactly
        assert values[0] == 3 and values[-2] == 3 + curves.frames - 1
    # The eyes turn as the recording's eye rotations (its head rotations are 0).
    rig = objects.armature
    bpy.context.scene.frame_set(3 + int(np.argmax(np.abs(curves.head[:, 4]).numpy())))
    assert abs(rig.pose.bones["eye.L"].rotation_quaternion[0]) < 0.9999
    assert rig.pose.bones["head"].rotation_quaternion[0] == pytest.approx(1.0)


def test_head_turns_go_on_top_of_the_body_motion(addon, objects, anny_body, tmp_path):
    motion = Path(__file__).resolve().parents[2] / ".." / "shared" / "motion"
    clip = (motion / "cmu_jumping_jacks_animdrawings.bvh").resolve()
    if not clip.is_file():
        pytest.skip(f"shared motion clip not found at {clip}")
    addon.module("lca_addon.motion_import").apply_motion(
        bpy.context, objects.avatar, clip, 1, body=anny_body
    )
    rig = objects.armature
    bpy.context.scene.frame_set(10)
    body_head = rig.pose.bones["head"].rotation_quaternion.copy()
    yaw = 0.5
    face = {"fps": 60, "frames": [{"jawOpen": 0.5, "HeadYaw": yaw} for _ in range(30)]}
    path = tmp_path / "turn.json"
    path.write_text(json.dumps(face))
    result = addon.module("lca_addon.face_import").apply_face(bpy.context, objects.avatar, path, 1)
    assert result.head and one_sentence(result.message), result.message
    assert rig.animation_data.action.name == "small_cmu_jumping_jacks_animdrawings"
    bpy.context.scene.frame_set(10)
    turned = rig.pose.bones["head"].rotation_quaternion
    relative = body_head.rotation_difference(turned)
    assert relative.angle == pytest.approx(yaw, abs=1e-4)
    bpy.context.scene.frame_set(40)  # past the face curves: the body's head alone again
    assert objects.body.data.shape_keys.key_blocks["jawOpen"].value == pytest.approx(0.5)


@pytest.mark.parametrize(
    "text", ["", "Timecode,BlendShapeCount,EyeBlinkLeft\n00:00:00:00,1,zero\n", '{"frames": 3}']
)
def test_bad_face_curves_are_one_sentence_and_change_nothing(addon, objects, tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    kinds = ("actions", "objects", "shape_keys")
    before = {kind: len(getattr(bpy.data, kind)) for kind in kinds}
    with pytest.raises(RuntimeError) as raised:
        bpy.ops.lca.import_face(filepath=str(path))
    message = str(raised.value).removeprefix("Error: ").strip()
    assert one_sentence(message.replace(str(path), "PATH")), message
    assert {kind: len(getattr(bpy.data, kind)) for kind in kinds} == before
    assert objects.body.data.shape_keys.animation_data is None
    assert objects.armature.animation_data is None
