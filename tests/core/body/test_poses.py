import json

import pytest
import torch

from core.body.poses import PRESETS, parse_pose, pose_from_dict, preset_pose, rest_pose
from core.errors import LcaError


def test_every_preset_builds(anny_body):
    for name in PRESETS:
        pose = preset_pose(anny_body, name)
        assert pose.rotations.shape == (len(anny_body.bone_names), 3)
        assert pose.expression.shape == (len(anny_body.expression_names),)
    assert preset_pose(anny_body, "rest").rotations.abs().sum() == 0


def test_presets_combine_with_weights(anny_body):
    combined = parse_pose(anny_body, "arm-raise+jaw-open:0.5")
    arm = preset_pose(anny_body, "arm-raise")
    jaw = anny_body.expression_names.index("jawOpen")
    assert torch.equal(combined.rotations, arm.rotations)
    assert combined.expression[jaw].item() == pytest.approx(0.5)


def test_finger_curl_closes_the_hands(anny_body):
    names = anny_body.bone_names
    rest = anny_body.forward().bone_transforms[0, :, :3, 3]
    curl = preset_pose(anny_body, "finger-curl")
    posed = anny_body.forward(pose=curl.rotations[None]).bone_transforms[0, :, :3, 3]
    for side in "LR":
        wrist = names.index(f"wrist.{side}")
        for finger in (2, 3, 4, 5):
            tip = names.index(f"finger{finger}-3.{side}")
            before = (rest[tip] - rest[wrist]).norm()
            after = (posed[tip] - posed[wrist]).norm()
            assert after < before - 0.01, f"finger{finger}.{side} did not curl"


def test_arm_raise_lifts_the_left_hand_above_the_head(anny_body):
    names = anny_body.bone_names
    posed = anny_body.forward(pose=preset_pose(anny_body, "arm-raise").rotations[None])
    heads = posed.bone_transforms[0, :, :3, 3]
    assert heads[names.index("wrist.L"), 2] > heads[names.index("head"), 2]


def test_json_pose_file(anny_body, tmp_path):
    path = tmp_path / "pose.json"
    path.write_text(
        json.dumps(
            {
                "bones": {"lowerarm01.R": [0, 0, 90]},
                "expression": {"eyeBlinkLeft": 1.0},
                "translation": [0, 0, 0.1],
            }
        )
    )
    pose = parse_pose(anny_body, str(path))
    i = anny_body.bone_names.index("lowerarm01.R")
    assert pose.rotations[i, 2].item() == pytest.approx(torch.pi / 2)
    assert pose.translation[2].item() == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"bones": {"tail": [0, 0, 1]}}, "bone 'tail'"),
        ({"expression": {"frown": 1.0}}, "expression 'frown'"),
        ({"bones": {"head": [0, 1]}}, "3 numbers"),
        ({"pose": {}}, "unknown keys"),
        ([1, 2, 3], "JSON object"),
    ],
)
def test_bad_pose_data_is_one_sentence(anny_body, data, message):
    with pytest.raises(LcaError, match=message):
        pose_from_dict(anny_body, data)


def test_bad_pose_specs(anny_body, tmp_path):
    with pytest.raises(LcaError, match="Unknown pose preset 'dance'"):
        parse_pose(anny_body, "dance")
    with pytest.raises(LcaError, match="does not exist"):
        parse_pose(anny_body, str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(LcaError, match="not valid JSON"):
        parse_pose(anny_body, str(bad))
    with pytest.raises(LcaError, match="not a number"):
        parse_pose(anny_body, "arm-raise:lots")


def test_rest_pose_is_zero(anny_body):
    pose = rest_pose(anny_body)
    assert pose.rotations.abs().sum() == 0 and pose.expression.abs().sum() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"bones": {"head": [0, "90", 0]}}, "must be a number"),
        ({"bones": {"head": [0, float("nan"), 0]}}, "finite number"),
        ({"bones": {"head": [0, float("inf"), 0]}}, "finite number"),
        ({"bones": {"head": [0, 1e300, 0]}}, "between -3600 and 3600"),
        ({"bones": {"head": [True, 0, 0]}}, "must be a number"),
        ({"bones": {"head": {"x": 1}}}, "3 numbers"),
        ({"bones": [1, 2, 3]}, "'bones' must be a JSON object"),
        ({"expression": [1]}, "'expression' must be a JSON object"),
        ({"expression": {"jawOpen": "wide"}}, "must be a number"),
        ({"expression": {"jawOpen": float("nan")}}, "finite number"),
        ({"translation": [0, 0, 1e39]}, "between -1000 and 1000"),
        ({"translation": "up"}, "3 numbers"),
        ({"bones": {"x" * 5000: [0, 0, 0]}}, "names bone 'xxx"),
    ],
)
def test_hostile_pose_data_is_one_bounded_sentence(anny_body, data, message):
    """Issue 16 item 4: every value is checked here, the one place every command (and any
    other reader of pose JSON) goes through; nothing else than LcaError comes out."""
    with pytest.raises(LcaError, match=message) as info:
        pose_from_dict(anny_body, data, source="Pose file 'p.json'")
    assert len(str(info.value)) < 300 and "\n" not in str(info.value)


@pytest.mark.parametrize("weight", ["nan", "inf", "-inf", "1e300", "11"])
def test_preset_weights_must_be_finite_and_bounded(anny_body, weight):
    with pytest.raises(LcaError, match="not a number between -10 and 10"):
        parse_pose(anny_body, f"arm-raise:{weight}")


def test_hostile_pose_files_are_one_sentence(anny_body, tmp_path):
    cases = {
        "deep.json": "[" * 100_000 + "]" * 100_000,
        "huge.json": " " * (2 << 20) + "{}",
        "digits.json": '{"translation": [' + "9" * 5000 + ", 0, 0]}",
        "binary.json": "\udcff",
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        with pytest.raises(LcaError) as info:
            parse_pose(anny_body, str(path))
        assert "\n" not in str(info.value) and name in str(info.value)
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(LcaError, match="is a folder"):
        parse_pose(anny_body, str(tmp_path / "dir.json"))
    with pytest.raises(LcaError, match="too long"):
        parse_pose(anny_body, str(tmp_path / ("p" * 300 + ".json")))
