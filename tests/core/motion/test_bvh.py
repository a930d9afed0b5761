"""core.motion.bvh: the shared real clips, a write/read round trip, and bad files."""

from pathlib import Path

import pytest
import torch

from core.errors import LcaError
from core.motion.bvh import read_bvh, write_bvh
from core.motion.clip import Clip, Skeleton, resample
from core.quaternion import axis_angle_to_rotmat

MOTION = (Path(__file__).resolve().parents[3] / ".." / "shared" / "motion").resolve()

#: file -> (frames, fps, joints) as SOURCES.md lists them.
SHARED = {
    "cmu_131_01_start_walk_stop.bvh": (994, 120.0, 31),
    "cmu_jumping_jacks_animdrawings.bvh": (125, 30.0, 31),
    "fair1_wave_hello.bvh": (839, 119.9, 27),
    "rokoko_jesse_dance_mixamo_names_fingers.bvh": (1007, 100.0, 60),
}


def shared_motion(name: str) -> Path:
    path = MOTION / name
    if not path.is_file():
        pytest.skip(f"shared motion clip not found at {path}")
    return path


@pytest.mark.parametrize("name", sorted(SHARED))
def test_shared_clips_read(name):
    frames, fps, joints = SHARED[name]
    clip = read_bvh(shared_motion(name)).clip
    assert clip.frame_count == frames
    assert clip.fps == pytest.approx(fps, rel=2e-3)
    assert len(clip.skeleton.names) == joints
    R = clip.rotations
    eye = torch.eye(3, dtype=R.dtype)
    assert torch.allclose(R @ R.transpose(-1, -2), eye.expand_as(R), atol=1e-9)
    # the motion moves: rotations change over the clip
    assert float((R[-1] - R[0]).abs().max()) > 0.05


def small_clip() -> Clip:
    skeleton = Skeleton(
        ("Hips", "Spine", "Head", "LeftLeg", "RightLeg"),
        (-1, 0, 1, 0, 0),
        torch.tensor(
            [[0, 90, 0], [0, 10, 0], [0, 20, 1], [10, -5, 0], [-10, -5, 0]], dtype=torch.float64
        ),
    )
    g = torch.Generator().manual_seed(1)
    rotations = axis_angle_to_rotmat(torch.randn(4, 5, 3, generator=g, dtype=torch.float64))
    positions = torch.randn(4, 3, generator=g, dtype=torch.float64) * 10
    return Clip(skeleton, rotations, positions, 24.0, "small")


def test_write_read_round_trip(tmp_path):
    clip = small_clip()
    write_bvh(clip, tmp_path / "c.bvh")
    back = read_bvh(tmp_path / "c.bvh").clip
    assert back.skeleton.names == clip.skeleton.names
    assert back.skeleton.parents == clip.skeleton.parents
    assert back.fps == pytest.approx(24.0)
    _, positions = clip.world()
    _, positions_back = back.world()
    assert float((positions - positions_back).abs().max()) < 1e-6
    assert float((clip.rotations - back.rotations).abs().max()) < 1e-7


def test_real_clip_round_trip(tmp_path):
    clip = read_bvh(shared_motion("cmu_jumping_jacks_animdrawings.bvh")).clip
    write_bvh(clip, tmp_path / "j.bvh")
    back = read_bvh(tmp_path / "j.bvh").clip
    assert float((clip.world()[1] - back.world()[1]).abs().max()) < 1e-5


def test_resample_keeps_duration_and_end_frames():
    clip = small_clip()
    faster = resample(clip, 48.0)
    assert faster.frame_count == 7
    assert torch.allclose(faster.rotations[0], clip.rotations[0], atol=1e-9)
    assert torch.allclose(faster.rotations[-1], clip.rotations[-1], atol=1e-9)
    assert torch.allclose(faster.root_positions[2], clip.root_positions[1], atol=1e-9)


GOOD = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 5 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.0333333
0 90 0 0 0 0 0 10 0
1 90 0 0 0 0 0 20 0
"""


def test_good_text_reads(tmp_path):
    (tmp_path / "g.bvh").write_text(GOOD)
    clip = read_bvh(tmp_path / "g.bvh").clip
    assert clip.frame_count == 2 and clip.skeleton.names == ("Hips", "Spine")
    assert clip.fps == pytest.approx(30.0, rel=1e-5)
    _, positions = clip.world()
    assert torch.allclose(positions[1, 0], torch.tensor([1.0, 90, 0], dtype=torch.float64))


@pytest.mark.parametrize(
    "text, words",
    [
        ("", "is empty"),
        ("hello world\n", "not a BVH file"),
        ("\n".join(GOOD.splitlines()[:8]), "ends early"),
        (GOOD.replace("Frames: 2", "Frames: 3"), "truncated"),
        (GOOD.replace("0 90 0 0 0 0 0 10 0", "0 90 0 0 0 0 0 10"), "needs 9 values"),
        (GOOD.replace("0 90 0 0 0 0 0 10 0", "0 90 0 0 0 0 0 ten 0"), "'ten' is not a number"),
        (GOOD.replace("0 90 0 0 0 0 0 10 0", "0 90 0 0 0 0 0 nan 0"), "not a finite number"),
        (
            GOOD.replace(
                "Zrotation Xrotation Yrotation\n    End", "Zrotation Xrotation Wrotation\n    End"
            ),
            "unknown channel",
        ),
        (GOOD.replace("Frame Time: 0.0333333", "Frame Time: 0"), "not a frame rate"),
        (GOOD.replace("JOINT Spine", "JOINT Hips"), "named twice"),
    ],
)
def test_bad_files_are_one_sentence(tmp_path, text, words):
    path = tmp_path / "bad.bvh"
    path.write_text(text)
    with pytest.raises(LcaError) as caught:
        read_bvh(path)
    message = str(caught.value)
    assert words in message, message
    assert "\n" not in message


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(LcaError, match="does not exist"):
        read_bvh(tmp_path / "nope.bvh")
    with pytest.raises(LcaError, match="is a folder"):
        read_bvh(tmp_path)


def test_a_file_over_the_limit_is_refused_unread(tmp_path, monkeypatch):
    from core.motion import bvh

    path = tmp_path / "huge.bvh"
    path.write_bytes(b"HIERARCHY\n" * 4)
    monkeypatch.setattr(bvh, "MAX_BYTES", 16)
    with pytest.raises(LcaError, match="is over 0 MiB; it is not a BVH clip"):
        read_bvh(path)


def test_clip_refuses_mismatched_frames():
    with pytest.raises(LcaError, match="one root position per frame"):
        Clip(small_clip().skeleton, torch.zeros(2, 5, 3, 3), torch.zeros(3, 3), 24.0)


def test_write_refuses_a_folder_and_leaves_nothing(tmp_path):
    (tmp_path / "out.bvh").mkdir()
    with pytest.raises(LcaError):
        write_bvh(small_clip(), tmp_path / "out.bvh")
    assert [p.name for p in tmp_path.iterdir()] == ["out.bvh"]
