"""core.motion.animation: frame ranges, frame rates, and the poses a clip gives an avatar."""

import pytest
import torch

from core.deform.template import make_starter_avatar
from core.errors import LcaError
from core.motion.animation import build_animation, parse_frames
from core.motion.bvh import read_bvh
from core.motion.head_pose import head_rotations

from .test_bvh import shared_motion


@pytest.fixture(scope="module")
def avatar(anny_body):
    return make_starter_avatar(anny_body, count=300)


def test_parse_frames():
    assert parse_frames("0..59") == (0, 60)
    assert parse_frames(" 3 .. 3 ") == (3, 4)
    for bad in ("5..2", "a..b", "-1..3", "3", "1...4"):
        with pytest.raises(LcaError, match="is not A..B"):
            parse_frames(bad)


def test_frame_rate_and_range(avatar, anny_body):
    clip = read_bvh(shared_motion("cmu_jumping_jacks_animdrawings.bvh")).clip  # 125 at 30
    assert len(build_animation(avatar, anny_body, clip).poses) == 125
    at60 = build_animation(avatar, anny_body, clip, fps=60.0)
    assert len(at60.poses) == 249 and at60.fps == 60.0
    part = build_animation(avatar, anny_body, clip, fps=60.0, frames=(10, 20))
    assert len(part.poses) == 10
    assert torch.allclose(part.poses[0].rotations, at60.poses[10].rotations)
    assert "cmu_max skeleton" in at60.notes[0] and "LHipJoint" in at60.notes[0]
    with pytest.raises(LcaError, match="past the animation's last frame"):
        build_animation(avatar, anny_body, clip, frames=(500, 510))
    with pytest.raises(LcaError, match="Give a body motion"):
        build_animation(avatar, anny_body)
    with pytest.raises(LcaError, match="not between 1 and 1000"):
        build_animation(avatar, anny_body, clip, fps=5000.0)


def test_head_rotation_axes():
    """Positive yaw turns the face (-Y) towards the avatar's left (+X); positive pitch nods
    it down (-Z)."""
    head = torch.zeros(1, 9, dtype=torch.float64)
    head[0, 0] = 0.5
    face = head_rotations(head)[0, 0] @ torch.tensor([0.0, -1.0, 0.0], dtype=torch.float64)
    assert float(face[0]) > 0.4
    head[0, 0], head[0, 1] = 0.0, 0.5
    face = head_rotations(head)[0, 0] @ torch.tensor([0.0, -1.0, 0.0], dtype=torch.float64)
    assert float(face[2]) < -0.4


def test_bench_motion_prints_figures_and_ratio(anny_body, tmp_path, capsys):
    from core.bench import median_seconds
    from core.motion.benchmark import bench_motion

    bench_motion(anny_body, 1, median_seconds, tmp_path, frames=20)
    out = capsys.readouterr().out
    assert "s per 1000 frames" in out and "x the body model's forward pass" in out
