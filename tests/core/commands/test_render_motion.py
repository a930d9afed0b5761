"""`lca render --motion`: frames, MP4 and GIF of an avatar playing a BVH clip; refusals
before anything is written."""

import pytest
from PIL import Image

from core.avatar.lca_file import save_lca
from core.commands.main import main
from core.deform.template import make_starter_avatar
from tests.core.motion.test_bvh import GOOD, shared_motion


@pytest.fixture(scope="module")
def anny_avatar_file(anny_body, tmp_path_factory):
    path = tmp_path_factory.mktemp("avatar") / "starter.lca"
    save_lca(make_starter_avatar(anny_body, count=400), path)
    return path


def test_render_motion_writes_frames_mp4_and_gif(anny_avatar_file, tmp_path):
    import imageio_ffmpeg

    clip = shared_motion("cmu_jumping_jacks_animdrawings.bvh")
    out = tmp_path / "anim"
    code = main(
        ["render", str(anny_avatar_file), "--motion", str(clip), "--frames", "2..15",
         "--fps", "10", "--size", "48x64", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    frames = sorted((out / "front").glob("frame_*.png"))
    assert len(frames) == 14  # the 4.1 s clip is 42 frames at 10 fps; 2..15 kept
    first, middle = Image.open(frames[0]), Image.open(frames[7])
    assert first.size == (48, 64)
    assert first.tobytes() != middle.tobytes()  # the avatar moves
    reader = imageio_ffmpeg.read_frames(str(out / "front.mp4"))
    meta = next(reader)
    assert meta["size"] == (48, 64) and meta["fps"] == pytest.approx(10.0)
    assert sum(1 for _ in reader) == 14
    assert Image.open(out / "front.gif").n_frames == 14


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--frames", "9..3"], "is not A..B"),
        (["--pose", "arm-raise"], "cannot be combined"),
        (["--fps", "0"], "not between 1 and 1000"),
    ],
)
def test_refusals_write_nothing(anny_avatar_file, tmp_path, capsys, extra, expected):
    bvh = tmp_path / "ok.bvh"
    bvh.write_text(GOOD)
    out = tmp_path / "never"
    code = main(["render", str(anny_avatar_file), "--motion", str(bvh), "--out", str(out), *extra])
    assert code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and expected in error[0], error
    assert not out.exists()


def test_unmappable_clip_is_refused(anny_avatar_file, tmp_path, capsys):
    bvh = tmp_path / "odd.bvh"
    bvh.write_text(GOOD.replace("Hips", "Thing").replace("Spine", "Other"))
    out = tmp_path / "never"
    assert main(["render", str(anny_avatar_file), "--motion", str(bvh), "--out", str(out)]) == 2
    assert "too few joints" in capsys.readouterr().err
    assert not out.exists()


def _centres(folder):
    import numpy as np

    centres = []
    for path in sorted(folder.glob("frame_*.png")):
        alpha = np.asarray(Image.open(path).convert("L")) > 20
        ys, xs = np.nonzero(alpha)
        centres.append(xs.mean() / alpha.shape[1])
    return np.array(centres)


def test_camera_follows_the_walk(anny_avatar_file, tmp_path):
    """The CMU walk travels 2.5 m: a following camera keeps the avatar near the middle of
    every frame; a fixed one sees it cross the image."""
    clip = shared_motion("cmu_131_01_start_walk_stop.bvh")
    common = ["render", str(anny_avatar_file), "--motion", str(clip), "--fps", "2"]
    common += ["--size", "48x48", "--camera", "left"]
    assert main([*common, "--out", str(tmp_path / "follow")]) == 0
    assert main([*common, "--fixed-camera", "--out", str(tmp_path / "fixed")]) == 0
    follow, fixed = _centres(tmp_path / "follow/left"), _centres(tmp_path / "fixed/left")
    assert len(follow) == len(fixed) == 18  # 8.3 s at 2 fps
    assert follow.max() - follow.min() < 0.2
    assert fixed.max() - fixed.min() > 0.4
