"""`lca eval` (core/recon/evaluate.py): create from some views of the sample person, score
the others, with real perception and fitting at a tiny quality."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from core.commands.main import main
from core.create_settings import CreateSettings
from core.recon import create
from core.recon.create import Quality
from core.recon.evaluate import evaluate, score_view
from core.recon.views import prepare_views

TINY = Quality(count=3000, appearance_steps=15, body_steps=60, size=160)


@pytest.fixture(scope="module")
def photos(anny_body, tmp_path_factory):
    from core.recon.sample_person import write_sample_photos

    out = tmp_path_factory.mktemp("sample")
    views = ("front", "three-quarter")
    return write_sample_photos(anny_body, out, views, size=(480, 720), count=30_000)


@pytest.fixture
def tiny(monkeypatch, anny_body):
    monkeypatch.setitem(create.QUALITIES, "draft", TINY)
    monkeypatch.setattr(create, "_body_model", lambda device: anny_body)


def test_held_out_view_is_scored_and_beats_a_grey_avatar(tiny, photos, anny_body):
    front, side = photos
    result = evaluate([front], [side], CreateSettings(quality="draft", device="cpu"))
    assert [s.held_out for s in result.scores] == [False, True]
    assert [s.photo for s in result.scores] == ["sample_front.png", "sample_three-quarter.png"]
    for s in result.scores:
        values = (s.psnr_person, s.ssim_person, s.psnr_background, s.ssim_background)
        assert all(math.isfinite(v) for v in values), s
        assert 0 < s.ssim_person <= 1 and 0 < s.ssim_background <= 1
        # Outside the person the photo shows through, except where the avatar spills.
        assert s.psnr_background > 20, s
    # Each panel is photo | render | difference, side by side.
    for panel in result.panels:
        assert panel.width % 3 == 0 and panel.width // 3 > 50

    # The score can fail: the same avatar painted grey scores clearly worse held out.
    avatar = result.created.avatar
    grey = dataclasses.replace(
        avatar, binding=dataclasses.replace(avatar.binding, sh=torch.zeros_like(avatar.binding.sh))
    )
    view = prepare_views(anny_body, result.created.fit, TINY.size)[0]
    good, _ = score_view(avatar, view, "front", held_out=False)
    bad, _ = score_view(grey, view, "front", held_out=False)
    assert good.psnr_person > bad.psnr_person + 3
    held = result.held_out[0]
    assert held.psnr_person > bad.psnr_person
    if result.notes:  # dlib absent: one sentence, no scores
        assert not result.identity and "dlib" in result.notes[0]
        return
    assert [s.photo for s in result.identity] == ["sample_front.png", "sample_three-quarter.png"]
    for s in result.identity:
        assert 0 <= s.in_view < 1.5 and 0 <= s.frontal < 1.5


def test_cli_writes_scores_and_side_by_side_images(tiny, photos, tmp_path, capsys):
    front, side = photos
    out = tmp_path / "eval"
    args = ["eval", "--train", str(front), "--held-out", str(side), "--out", str(out)]
    assert main(args + ["--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "| sample_three-quarter.png | held out |" in printed
    scores = json.loads((out / "scores.json").read_text())
    assert [s["held_out"] for s in scores] == [False, True]
    assert (out / "self_sample_front.png").exists()
    assert (out / "heldout_sample_three-quarter.png").exists()


def test_no_training_photo_is_one_sentence(tmp_path, capsys):
    assert main(["eval", "--held-out", "x.jpg", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "training photos" in err and err.count("\n") == 1


def test_eval_synthetic_scores_new_subjects_with_the_shipped_network(tmp_path, capsys):
    out = tmp_path / "synthetic"
    argv = ["eval", "--synthetic", "1", "--refine-steps", "0,2", "--out", str(out)]
    assert main([*argv, "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    assert "1 synthetic subject(s) from seed 1000000" in printed and "back" in printed
    scores = json.loads((out / "synthetic.json").read_text())
    assert scores["subjects"] == 1 and scores["steps"] == [0, 2]
    assert len(list((out / "subjects").glob("*.safetensors"))) == 1


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--synthetic", "0"], "at least 1"),
        (["--synthetic", "1", "--sample", "front"], "leave out"),
    ],
)
def test_eval_synthetic_refusals(tmp_path, capsys, extra, message):
    assert main(["eval", *extra, "--out", str(tmp_path / "x")]) == 2
    assert message in capsys.readouterr().err
