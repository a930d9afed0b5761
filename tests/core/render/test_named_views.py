import json

import pytest
import torch

from core.errors import LcaError
from core.render.named_views import camera_for, parse_size, parse_view

PARTS = ("torso", "head")


def _cloud():
    g = torch.Generator().manual_seed(0)
    body = torch.rand(500, 3, generator=g) * torch.tensor([0.4, 0.2, 1.6]) - torch.tensor(
        [0.2, 0.1, 0.8]
    )
    head = torch.rand(100, 3, generator=g) * 0.2 + torch.tensor([-0.1, -0.1, 0.8])
    means = torch.cat((body, head))
    parts = torch.cat((torch.zeros(500, dtype=torch.int64), torch.ones(100, dtype=torch.int64)))
    return means, parts


def _project(camera, points):
    cam = points @ camera.world_to_camera[:3, :3].T + camera.world_to_camera[:3, 3]
    uv = cam @ camera.K.T
    return uv[:, :2] / uv[:, 2:3], cam[:, 2]


@pytest.mark.parametrize("spec", ["front", "back", "left", "right", "three-quarter", "orbit:30:20"])
def test_named_views_frame_every_point(spec):
    means, parts = _cloud()
    camera = camera_for(spec, means, parts, PARTS, 64, 48)
    uv, z = _project(camera, means)
    assert (z > 0).all()
    assert (uv[:, 0] >= 0).all() and (uv[:, 0] <= 64).all()
    assert (uv[:, 1] >= 0).all() and (uv[:, 1] <= 48).all()


def test_face_close_up_frames_the_head_larger():
    means, parts = _cloud()
    body_cam = camera_for("front", means, parts, PARTS, 64, 64)
    face_cam = camera_for("face", means, parts, PARTS, 64, 64)
    head = means[parts == 1]
    span = lambda cam: _project(cam, head)[0].amax(0) - _project(cam, head)[0].amin(0)  # noqa: E731
    assert (span(face_cam) > 2 * span(body_cam)).all()


def test_close_up_without_the_part_is_one_sentence():
    means, parts = _cloud()
    with pytest.raises(LcaError, match="hand.L"):
        camera_for("hand.L", means, parts, PARTS, 64, 64)


def test_camera_json(tmp_path):
    means, parts = _cloud()
    path = tmp_path / "cam.json"
    K = [[100.0, 0, 32], [0, 100.0, 24], [0, 0, 1]]
    w2c = [[1.0, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 3], [0, 0, 0, 1]]
    path.write_text(json.dumps({"K": K, "world_to_camera": w2c, "width": 64, "height": 48}))
    camera = camera_for(str(path), means, parts, PARTS, 10, 10)
    assert (camera.width, camera.height) == (64, 48)
    assert torch.equal(camera.K, torch.tensor(K))
    path.write_text(json.dumps({"K": K}))
    with pytest.raises(LcaError, match="world_to_camera"):
        camera_for(str(path), means, parts, PARTS, 10, 10)
    with pytest.raises(LcaError, match="does not exist"):
        camera_for(str(tmp_path / "none.json"), means, parts, PARTS, 10, 10)


@pytest.mark.parametrize(("text", "size"), [("512x512", (512, 512)), ("1920X1080", (1920, 1080))])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["512", "0x10", "ax2", "20000x10", "-5x5"])
def test_bad_size(text):
    with pytest.raises(LcaError, match="WIDTHxHEIGHT"):
        parse_size(text)


K_GOOD = [[100.0, 0, 32], [0, 100.0, 24], [0, 0, 1]]
W2C_GOOD = [[1.0, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 3], [0, 0, 0, 1]]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"K": [[0.0] * 3] * 3}, "positive focal lengths"),
        ({"K": [[-100.0, 0, 32], [0, 100.0, 24], [0, 0, 1]]}, "positive focal lengths"),
        ({"K": [[1e39, 0, 32], [0, 100.0, 24], [0, 0, 1]]}, "non-finite or huge"),
        ({"K": [[100.0, 0, 32], [0, 100.0, 24]]}, "3x3"),
        ({"K": [["a", 0, 32], [0, 100.0, 24], [0, 0, 1]]}, "3x3"),
        ({"world_to_camera": [[2.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]}, "rigid"),
        ({"world_to_camera": [[0.0] * 4] * 4}, "rigid"),
        ({"world_to_camera": [[-1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]}, "rigid"),
        ({"world_to_camera": [[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]]}, "rigid"),
        ({"width": 100000, "height": 100000}, "1 to 16384 pixels"),
        ({"width": 0}, "1 to 16384 pixels"),
        ({"width": 64.5}, "whole number"),
        ({"width": "64"}, "whole number"),
        ({"height": True}, "whole number"),
    ],
)
def test_bad_camera_files_are_refused_at_construction(tmp_path, fields, message):
    """Issue 16 item 5: K all zeros divided by zero, 100000 x 100000 allocated 120 GB."""
    path = tmp_path / "cam.json"
    path.write_text(json.dumps({"K": K_GOOD, "world_to_camera": W2C_GOOD, **fields}))
    with pytest.raises(LcaError, match=message) as info:
        parse_view(str(path), 64, 64)
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


@pytest.mark.parametrize("text", ["[1, 2]", "null", "[" * 100_000, '{"K": ' + "9" * 5000 + "}"])
def test_camera_files_that_are_not_objects_are_one_sentence(tmp_path, text):
    path = tmp_path / "cam.json"
    path.write_text(text)
    with pytest.raises(LcaError, match="Camera file"):
        parse_view(str(path), 64, 64)


@pytest.mark.parametrize("spec", ["orbit:abc", "orbit:nan", "orbit:0:inf", "orbit:", "orbit:1:2:3"])
def test_bad_orbits(spec):
    with pytest.raises(LcaError, match="orbit:AZIMUTH"):
        parse_view(spec, 64, 64)


def test_orbit_at_the_pole_is_refused_before_framing():
    with pytest.raises(LcaError, match="between -90 and 90"):
        parse_view("orbit:0:90", 64, 64)


def test_a_long_unknown_camera_is_echoed_short():
    with pytest.raises(LcaError, match="Unknown camera") as info:
        parse_view("x" * 4000, 64, 64)
    assert len(str(info.value)) < 200


def test_a_parsed_view_frames_as_the_spec_does():
    means, parts = _cloud()
    view = parse_view("orbit:30:20", 64, 64)
    assert torch.equal(
        camera_for(view, means, parts, PARTS, 64, 64).world_to_camera,
        camera_for("orbit:30:20", means, parts, PARTS, 64, 64).world_to_camera,
    )


@pytest.mark.parametrize("spec, side", [("hand.L", 1.0), ("hand.R", -1.0)])
def test_hand_close_ups_look_from_the_hands_own_side(spec, side):
    # A body facing -Y: its left hand at +X is seen from +X (the back of a hand at rest).
    means = torch.tensor([[0.3, 0, 0], [0.3, 0.02, -0.1], [-0.3, 0, 0], [-0.3, 0.02, -0.1]])
    parts = torch.tensor([0, 0, 1, 1])
    camera = camera_for(spec, means, parts, ("hand.L", "hand.R"), 64, 64)
    rotation, translation = camera.world_to_camera[:3, :3], camera.world_to_camera[:3, 3]
    eye = -rotation.T @ translation
    assert float(eye[0]) * side > 0.35 and abs(float(eye[1])) < 0.05
