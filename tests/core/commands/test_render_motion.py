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
