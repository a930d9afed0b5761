"""Face capture on a synthetic video of Anny's face with known ARKit weights, the fitting
pieces on exact data, and the bad inputs of `lca face-capture`."""

import math

import numpy as np
import pytest
import torch

from core.commands.main import main
from core.errors import LcaError
from core.motion.face_capture import capture_face
from core.motion.face_curves import read_face_curves
from core.motion.face_fit import FACING, face_basis, fit_faces, head_angles, one_euro

HOLD = 4
"""Video frames each expression is held for; the last of each is compared."""
SHOTS = (
    {},
    {"jawOpen": 0.6},
    {"eyeBlinkLeft": 1.0},
    {"mouthSmileLeft": 0.7, "mouthSmileRight": 0.7},
    {"browInnerUp": 0.5},
    {"mouthPucker": 0.8},
)


@pytest.fixture(scope="module")
def basis(anny_body):
    return face_basis(anny_body)


@pytest.fixture(scope="module")
def face_video(anny_body, tmp_path_factory):
    """(path, (6, E) weights): a 30 fps 256x256 video, each expression held HOLD frames."""
    from core.motion.face_video import face_avatar, face_frames, write_video

    names = anny_body.expression_names
    truth = torch.zeros(len(SHOTS), len(names))
    for row, shot in enumerate(SHOTS):
        for name, value in shot.items():
            truth[row, names.index(name)] = value
    frames = face_frames(face_avatar(anny_body), anny_body, truth, 256, 256)
    path = tmp_path_factory.mktemp("face") / "face.mp4"
    write_video(path, [f for f in frames for _ in range(HOLD)], 30.0)
    return path, truth.double().numpy()


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    cz, sz, cx, sx, cy, sy = (f(a) for a in (yaw, pitch, roll) for f in (math.cos, math.sin))
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    return rz @ rx @ ry


def test_fit_recovers_exact_weights_and_head_angles(basis):
    """Model points with known weights, turned, scaled and moved into pixels, fit back."""
    gen = np.random.default_rng(0)
    K = len(basis.fitted)
    truth = np.zeros((3, K))
    truth[1, basis.fitted.index("jawOpen")] = 0.6
    truth[2, [basis.fitted.index("eyeBlinkLeft"), basis.fitted.index("mouthSmileRight")]] = 1.0
    angles = np.array([[0.0, 0.0, 0.0], [0.3, -0.2, 0.1], [-0.4, 0.25, -0.15]])
    model = basis.neutral + np.einsum("tk,kfi->tfi", truth, basis.deltas)
    rotations = np.stack([FACING @ _rotation(*a) for a in angles])
    points = 2000.0 * np.einsum("tij,tfj->tfi", rotations, model) + gen.normal(0, 1, (3, 1, 3))
    weights, rotation = fit_faces(points, basis)
    assert np.abs(weights - truth).max() < 0.08  # the ridge shrinks a 1.0 by about 6%
    assert np.abs(head_angles(rotation) - angles).max() < 2e-3


def test_one_euro_smooths_noise_and_keeps_steps():
    gen = np.random.default_rng(1)
    still = 0.5 + gen.normal(0, 0.02, (120, 1))
    smoothed = one_euro(still, 60.0)
    assert smoothed[30:].std() < 0.5 * still[30:].std()
    step = np.repeat([[0.0], [1.0]], 60, axis=0)
    assert one_euro(step, 60.0)[75, 0] > 0.9  # settled within a quarter second


def test_capture_of_known_weights(face_video, anny_body):
    path, truth = face_video
    capture = capture_face(path, body=anny_body)
    assert capture.missing == ()
    assert capture.video_frames == len(SHOTS) * HOLD
    assert capture.curves.fps == 30.0
    found = capture.curves.expression_frames(anny_body.expression_names).numpy()[HOLD - 1 :: HOLD]
    error = np.abs(found - truth)
    per_shot = error.mean(axis=1)
    print("mean absolute error per shot:", per_shot.round(3).tolist())
    for row, shot in enumerate(SHOTS):
        set_ = {n: round(float(found[row, anny_body.expression_names.index(n)]), 2) for n in shot}
        print(f"shot {row}: set {shot} -> found {set_}")
    assert per_shot.max() < 0.1  # over all 52 weights of each shot
    assert error[0].max() < 0.1  # the neutral frame reads as neutral
    assert np.degrees(np.abs(capture.curves.head[:, :3].numpy())).max() < 10.0


def test_command_writes_live_link_csv(face_video, tmp_path, capsys):
    path, _ = face_video
    out = tmp_path / "curves.csv"
    assert main(["face-capture", str(path), "-o", str(out), "--fps", "60"]) == 0
    curves = read_face_curves(out)
    assert curves.fps == 60.0
    assert curves.frames == 47  # 24 frames at 30 fps over 23/30 s -> 47 at 60 fps
    assert "Wrote 47 frames at 60 fps" in capsys.readouterr().out


def test_not_a_video_is_refused(tmp_path, capsys):
    path = tmp_path / "notes.mp4"
    path.write_text("not a video at all")
    assert main(["face-capture", str(path), "-o", str(tmp_path / "c.csv")]) == 2
    err = capsys.readouterr().err
    assert "is not a video ffmpeg can read" in err and err.count("\n") == 1
    assert not (tmp_path / "c.csv").exists()
    with pytest.raises(LcaError, match="does not exist"):
        capture_face(tmp_path / "missing.mp4")


def test_video_without_a_face_is_refused(tmp_path, capsys):
    from core.motion.face_video import write_video

    frames = [np.full((64, 96, 3), 40 * i, dtype=np.uint8) for i in range(3)]
    path = tmp_path / "wall.mp4"
    write_video(path, frames, 10.0)
    assert main(["face-capture", str(path), "-o", str(tmp_path / "c.csv")]) == 2
    err = capsys.readouterr().err
    assert "shows no face MediaPipe can find in any of its 3 frames" in err
    assert not (tmp_path / "c.csv").exists()


def test_bad_neutral_frame_and_fps_are_refused(face_video, anny_body, tmp_path):
    path, _ = face_video
    with pytest.raises(LcaError, match="neutral frame 99 is outside"):
        capture_face(path, neutral=99, body=anny_body)
    with pytest.raises(LcaError, match="frame rate"):
        capture_face(path, fps=0.0)
    with pytest.raises(SystemExit):
        main(["face-capture", str(path), "-o", str(tmp_path / "c.csv"), "--neutral", "x"])
