"""``create_avatar`` and ``lca create``: the orchestration, with perception and body fitting
replaced by the synthetic subject's true values (tests/core/recon/subject.py), and bad input
through the command line."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.avatar.lca_file import load_lca
from core.commands.main import main
from core.create_settings import CreateSettings
from core.errors import LcaError
from core.recon import create
from core.recon.create import Quality, create_avatar
from core.recon.errors import DifferentPeopleError
from core.recon.fit_types import BodyFit, FittedView
from tests.core.recon.subject import (
    dressed_avatar,
    photograph,
    subject_camera,
    subject_pose,
    subject_shape,
)
from tests.photos import shared_photo

ROOT = Path(__file__).resolve().parents[3]
WIDTH, HEIGHT = 288, 384  # load_photo refuses photos under 256 px
TINY = Quality(count=1500, appearance_steps=8, body_steps=1, size=128)


@pytest.fixture(scope="module")
def scene(anny_body, tmp_path_factory):
    """The subject's photo saved as a PNG, its perception and its true camera and pose."""
    avatar = dressed_avatar(anny_body, count=12_000)
    pose = subject_pose(anny_body)
    camera = subject_camera(0.0, WIDTH, HEIGHT)
    perception, _ = photograph(anny_body, avatar, pose, camera, "subject.png")
    path = tmp_path_factory.mktemp("photos") / "subject.png"
    Image.fromarray(np.asarray(perception.photo.rgb)).save(path)
    return path, perception, pose, camera


@pytest.fixture
def patched(monkeypatch, anny_body, scene):
    """create_avatar with the subject's mask as perception and its true values as the body
    fit, the tiny preset as "draft", and the session's body model. Returns the calls made."""
    _, perception, pose, camera = scene
    calls = {"perceive": 0, "fit_body": []}

    def fake_perceive(photo, person=None, allow_partial=False, allow_close_up=False):
        calls["perceive"] += 1
        return dataclasses.replace(perception, photo=photo)

    def fake_fit_body(body, perceptions, steps, progress):
        calls["fit_body"].append(len(perceptions))
        progress("fitting body", 1.0)
        views = tuple(FittedView(p, pose, camera) for p in perceptions)
        return BodyFit(shape=subject_shape(body), views=views, loss=0.0)

    monkeypatch.setattr(create, "perceive", fake_perceive)
    monkeypatch.setattr(create, "_fit_body", fake_fit_body)
    monkeypatch.setattr(create, "_body_model", lambda device: anny_body)
    monkeypatch.setitem(create.QUALITIES, "draft", TINY)
    return calls


def test_create_avatar_runs_every_stage(patched, scene, anny_body):
    path = scene[0]
    stages = []
    settings = CreateSettings(quality="draft", seed=3)
    result = create_avatar([path], settings, progress=lambda s, f: stages.append((s, f)))
    assert result.avatar.count == TINY.count
    assert result.avatar.metadata["quality"] == "draft"
    assert result.avatar.metadata["seed"] == "3"
    assert result.avatar.metadata["photos"] == "subject.png"
    assert len(result.psnr) == 1 and result.psnr[0] > 14.0  # measured 17.7 (tiny preset)
    assert result.notes == ()
    assert patched["perceive"] == 1 and patched["fit_body"] == [1]
    order = []
    for stage, _ in stages:
        if not order or order[-1] != stage:
            order.append(stage)
    assert order == ["load", "perceive", "body model", "fitting body", "appearance", "score"]
    seconds = result.seconds
    assert all(t >= 0 for t in (seconds.load, seconds.perceive, seconds.body, seconds.appearance))
    assert seconds.total >= seconds.appearance
    # The avatar sits at the fitted shape.
    values = [result.avatar.body.shape[p.name] for p in anny_body.shape_parameters]
    assert torch.allclose(torch.tensor(values), subject_shape(anny_body))


def test_stages_run_in_order_and_each_is_timed():
    """STAGES are the fields of StageSeconds, in order; a new stage adds both."""
    names = [stage.name for stage in create.STAGES]
    assert names == [f.name for f in dataclasses.fields(create.StageSeconds)]
    assert names.index("body") < names.index("appearance") < names.index("score")


def test_two_photos_of_one_person_pass_the_same_person_check(patched, scene, tmp_path):
    path = scene[0]
    again = tmp_path / "again.png"  # the same pixels in other file bytes
    Image.open(path).save(again, compress_level=1)
    same = create_avatar([path, again], CreateSettings(quality="draft"))
    assert len(same.psnr) == 2 and same.photos == (path, again) and same.notes == ()
    assert patched["fit_body"] == [2]  # one fit of both photos


def test_a_photo_given_twice_is_used_once_with_a_note(patched, scene, tmp_path):
    path = scene[0]
    copy = tmp_path / "copy.png"
    copy.write_bytes(path.read_bytes())
    result = create_avatar([path, copy, path], CreateSettings(quality="draft"))
    assert result.photos == (path,) and len(result.psnr) == 1
    assert patched["fit_body"] == [1]
    assert result.avatar.metadata["photos"] == "subject.png"
    (note,) = result.notes
    assert "'copy.png', 'subject.png'" in note and "copies of 'subject.png'" in note
    assert "dropped" in note


def test_twenty_copies_are_named_in_one_bounded_note(patched, scene, tmp_path, capsys):
    path = scene[0]
    copies = []
    for i in range(19):
        copies.append(tmp_path / f"copy{i:02d}.png")
        copies[-1].write_bytes(path.read_bytes())
    out = tmp_path / "me.lca"
    args = ["create", str(path), *map(str, copies), "-o", str(out), "--quality", "draft"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    notes = [line for line in printed.splitlines() if line.startswith("Note: ")]
    assert len(notes) == 1 and "and 16 more are copies of 'subject.png'" in notes[0]
    assert "Self-view PSNR inside the person: subject.png" in printed


def test_photos_of_different_people_are_refused(patched, scene, tmp_path, capsys):
    """The second photo is the first with its colour channels swapped: the same body and
    outline (the fake perception gives the same mask), other clothes and skin."""
    path = scene[0]
    other = tmp_path / "other.png"
    rgb = np.asarray(Image.open(path).convert("RGB"))
    Image.fromarray(np.ascontiguousarray(rgb[..., ::-1])).save(other)
    with pytest.raises(DifferentPeopleError, match="different people"):
        create_avatar([path, other], CreateSettings(quality="draft"))
    out = tmp_path / "me.lca"
    assert main(["create", str(path), str(other), "-o", str(out), "--quality", "draft"]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("lca: error:")]
    assert len(errors) == 1 and "'other.png'" in errors[0] and "--allow-mixed" in errors[0]
    assert not out.exists()
    # The user can insist.
    insist = CreateSettings(quality="draft", allow_mixed=True)
    assert len(create_avatar([path, other], insist).psnr) == 2


def test_bad_options_are_one_sentence():
    with pytest.raises(LcaError, match="No photos"):
        create_avatar([])


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_cuda_is_refused(tmp_path):
    with pytest.raises(LcaError, match="no CUDA"):
        create_avatar([tmp_path / "x.jpg"], CreateSettings(device="cuda"))


# -- lca create ------------------------------------------------------------------------------


def test_cli_writes_avatar_and_preview(patched, scene, tmp_path, capsys):
    out = tmp_path / "me.lca"
    assert main(["create", str(scene[0]), "-o", str(out), "--quality", "draft"]) == 0
    avatar = load_lca(out)
    assert avatar.count == TINY.count and avatar.metadata["name"] == "me"
    preview = Image.open(tmp_path / "me.preview.png")
    assert preview.mode == "RGBA" and preview.getextrema()[3][1] > 0
    printed = capsys.readouterr()
    assert "Self-view PSNR" in printed.out and "subject.png" in printed.out
    assert "appearance" in printed.err  # progress went to stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me.lca", "me.preview.png"]


def _fails_cleanly(args, tmp_path, capsys, expect: str) -> None:
    out = tmp_path / "out" / "me.lca"
    code = main(["create", *args, "-o", str(out), "--quality", "draft"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert err[-1].startswith("lca: error: ") and expect in err[-1], err
    progress = re.compile(r"^[a-z -]+ +\d+%$")
    assert all(progress.match(line) for line in err[:-1]), err  # no other lines
    assert err[-1].endswith(".")
    assert not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_cli_refuses_a_file_that_is_not_an_image(tmp_path, capsys):
    fake = tmp_path / "notes.jpg"
    fake.write_text("not a photo")
    _fails_cleanly([str(fake)], tmp_path, capsys, "notes.jpg")


def test_cli_refuses_a_missing_file(tmp_path, capsys):
    _fails_cleanly([str(tmp_path / "nowhere.jpg")], tmp_path, capsys, "nowhere.jpg")


def test_cli_refuses_a_photo_without_a_person(tmp_path, capfd):
    """Only the sentence (and the progress lines) reach stderr, none of the 7 log lines
    MediaPipe, TensorFlow Lite and glog write from C++ (measured before the fix)."""
    photo = shared_photo("no_person_coffee_cup_01.jpg")
    pytest.importorskip("mediapipe", reason="perception needs mediapipe (the 'photos' extras)")
    _fails_cleanly([str(photo)], tmp_path, capfd, "No person")


def test_native_log_lines_are_kept_off_stderr(capfd, monkeypatch):
    from core.recon.landmarkers import native_quiet

    monkeypatch.delenv("LCA_DEBUG", raising=False)
    with native_quiet():
        os.write(2, b"W0000 a C++ log line\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_cli_refuses_an_output_that_is_not_lca(scene, tmp_path, capsys):
    code = main(["create", str(scene[0]), "-o", str(tmp_path / "me.ply")])
    assert code == 2 and ".lca" in capsys.readouterr().err
    assert not (tmp_path / "me.ply").exists()


def test_ctrl_c_leaves_nothing_behind(patched, scene, tmp_path, monkeypatch, capsys):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(create, "_fit_body", interrupted)
    out = tmp_path / "me.lca"
    assert main(["create", str(scene[0]), "-o", str(out), "--quality", "draft"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def sample_photos(anny_body, tmp_path_factory):
    """The project's sample person from the front and from behind (real perception)."""
    from core.recon.sample_person import write_sample_photos

    out = tmp_path_factory.mktemp("sample")
    paths = write_sample_photos(anny_body, out, ("front", "back"), count=30_000)
    return dict(zip(("front", "back"), paths, strict=True))


def test_a_photo_of_the_back_only_is_refused(sample_photos, tmp_path, capsys):
    out = tmp_path / "me.lca"
    assert main(["create", str(sample_photos["back"]), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "only from behind" in err and "sample_back.png" in err
    errors = [line for line in err.splitlines() if line.startswith("lca: error:")]
    assert len(errors) == 1 and errors[0].endswith(".") and "Traceback" not in err
    assert not out.exists()


def test_a_back_photo_beside_a_front_one_is_accepted(sample_photos, monkeypatch):
    # Stop right after perception: the back-only check passed.
    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(create, "_body_model", stop)
    with pytest.raises(KeyboardInterrupt):
        create_avatar([sample_photos["front"], sample_photos["back"]])


def test_ctrl_c_in_a_real_run_exits_130_and_writes_nothing(sample_photos, tmp_path):
    """`lca create` in its own process, interrupted by SIGINT while it fits."""
    import os
    import signal
    import subprocess
    import sys

    out = tmp_path / "me.lca"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core.commands",
            "create",
            str(sample_photos["front"]),
            "-o",
            str(out),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        text=True,
        # a shell without job control starts background jobs with SIGINT ignored, and Python
        # then installs no KeyboardInterrupt handler: give the child what a terminal gives
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen = ""
    for line in process.stderr:  # progress goes to stderr, one line per quarter done
        seen += line
        if line.startswith("fitting body"):
            break
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 130, seen + rest
    assert "interrupted" in rest
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def micro_checkpoint(anny_body, tmp_path_factory):
    """A micro network (tests/core/model/micro.py) with a decoder that changes things."""
    from core.model.checkpoint import TrainingRecord, save_checkpoint
    from tests.core.model.micro import micro_anchors, micro_net

    net = micro_net(anny_body, micro_anchors(anny_body))
    with torch.no_grad():
        for p in net.decoder.mlp.fc2.parameters():
            p.add_(0.05 * torch.randn_like(p))
    path = tmp_path_factory.mktemp("model") / "micro.safetensors"
    save_checkpoint(path, net, TrainingRecord())
    return path


@pytest.mark.parametrize("method", ["feedforward", "auto"])
def test_the_network_methods_predict_then_refine(patched, scene, micro_checkpoint, method):
    settings = CreateSettings(quality="draft", method=method, checkpoint=micro_checkpoint)
    stages = []
    result = create_avatar([scene[0]], settings, progress=lambda s, f: stages.append(s))
    assert result.notes == ()
    assert result.avatar.count == TINY.count
    assert result.avatar.metadata["made_by"] == "lca feedforward"
    assert "network" in stages and result.seconds.network > 0
    refined = "appearance" in stages
    assert refined == (method == "auto")
    if refined:
        assert result.avatar.metadata["appearance_steps"] == str(TINY.appearance_steps // 3)
    assert len(result.psnr) == 1 and result.psnr[0] > 10.0


def test_without_a_usable_checkpoint_create_fits_and_says_so_once(patched, scene, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    settings = CreateSettings(quality="draft", method="auto", checkpoint=bad)
    result = create_avatar([scene[0]], settings)
    (note,) = result.notes
    assert note.startswith("The avatar was made by fitting instead of the network:")
    assert "corrupt" in note and note.count(". ") == 0
    assert result.avatar.metadata["made_by"] == "lca create"
