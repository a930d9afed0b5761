"""`lca data video` and video folders (core.train.data.video_labels, video_folder): a tiny
clip of the sample person is decoded, perceived and fitted; its labels are checked, a second
run keeps them, and broken folders are refused in one sentence."""

import json
import shutil

import numpy as np
import pytest
import torch

from core.body.poses import Pose
from core.commands.main import main
from core.errors import LcaError
from core.render.camera import project_points
from core.train.data.video_folder import label_path, read_video_folder
from core.train.data.video_labels import VideoSettings


def test_the_frames_and_their_labels(anny_body, video_dir):
    folder = read_video_folder(video_dir)
    assert len(folder.frames) == 4 and (folder.width, folder.height) == (128, 192)
    assert [label.frame for label in folder.labels] == [0, 1, 2]
    assert [frame for frame, _ in folder.skipped] == [3]
    assert "No person" in folder.skipped[0][1]
    assert folder.image(0).shape == (192, 128, 3)
    assert folder.shape.shape == (len(anny_body.shape_parameters),)
    for label in folder.labels:
        # the fitted body, posed and seen by the frame's fitted camera, lies mostly in the
        # mask (after 20 and 4 fitting steps; a camera or pose handed on wrongly misses it)
        pose = Pose(label.rotations, label.expression, torch.zeros(3))
        with torch.no_grad():
            out = anny_body.forward(
                folder.shape[None], pose.rotations[None], pose.expression[None], None
            )
        pixels = project_points(label.camera, out.vertices[0, ::20], min_depth=1e-6)[0]
        x, y = pixels.round().long().unbind(-1)
        inside = (x >= 0) & (x < 128) & (y >= 0) & (y < 192)
        assert inside.float().mean() > 0.95
        seen = label.mask[y[inside], x[inside]].float() / 255
        assert seen.mean() > 0.6, f"frame {label.frame}: {seen.mean():.2f} of the body in its mask"
        assert label.mask.float().mean() / 255 > 0.1


def test_a_second_run_keeps_finished_frames(video_dir, tmp_path):
    copy = tmp_path / "folders" / "clip"
    shutil.copytree(video_dir, copy)
    clip = video_dir.parents[1] / "clip.mp4"
    kept = label_path(copy, 0).stat().st_mtime_ns
    label_path(copy, 2).unlink()  # as if Ctrl-C came while frame 2 was fitted
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps(dict(manifest, complete=False)))
    with pytest.raises(LcaError, match="unfinished"):
        read_video_folder(copy)
    args = ["data", "video", str(clip), "--out", str(tmp_path / "folders"), "--size", "192"]
    assert main([*args, "--fit-steps", "20", "--threads", "1"]) == 0
    assert label_path(copy, 0).stat().st_mtime_ns == kept
    assert [label.frame for label in read_video_folder(copy).labels] == [0, 1, 2]
    # other settings for the same folder are refused
    assert main([*args[:-1], "96", "--fit-steps", "20"]) == 2


def _broken(video_dir, tmp_path, change) -> None:
    copy = tmp_path / "clip"
    shutil.copytree(video_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    result = change(copy, manifest)
    if result is not None:
        (copy / "manifest.json").write_text(json.dumps(result))
    return copy


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d, m: (d / "frames" / "000001.png").unlink(), "holds 3 frame files"),
        (lambda d, m: dict(m, schema=2), "version '2', not 1"),
        (lambda d, m: dict(m, kind="lca-shard"), "another kind"),
        (lambda d, m: dict(m, labelled=[0, 1]), "4 frames but 2 labelled and 1 skipped"),
        (lambda d, m: (d / "manifest.json").unlink(), "no manifest.json"),
        (lambda d, m: label_path(d, 1).unlink(), "Label .* does not exist"),
        (lambda d, m: dict(m, width=64), "mask of frame 0 is not 64x192"),
        (lambda d, m: (d / "body.safetensors").unlink(), "lacks body.safetensors"),
    ],
)
def test_broken_folders_are_refused(video_dir, tmp_path, change, message):
    copy = _broken(video_dir, tmp_path, change)
    with pytest.raises(LcaError, match=message):
        read_video_folder(copy)


def test_bad_input_is_refused(tmp_path, capsys):
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("not a video")
    assert main(["data", "video", str(not_video), "--out", str(tmp_path / "out")]) == 2
    assert "is not a video ffmpeg can read" in capsys.readouterr().err
    assert main(["data", "video", str(tmp_path / "none.mp4"), "--out", str(tmp_path)]) == 2
    assert main(["data", "video", "--out", str(tmp_path)]) == 2
    with pytest.raises(LcaError, match="--size"):
        VideoSettings(size=8)
    assert not np.any([p.is_dir() for p in (tmp_path / "out").rglob("*")])  # nothing made
