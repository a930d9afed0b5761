"""Held-out scores (core.train.heldout): SSIM beside PSNR, the refinement curve and the
match with today's standard result, on two tiny subjects and the micro network."""

import math

import pytest

from core.commands.main import main
from core.errors import LcaError
from core.train.data.shards import list_shards
from core.train.heldout import (
    HELD_OUT,
    KINDS,
    HeldoutScores,
    Match,
    StepScores,
    heldout_scores,
    parse_refine_steps,
    steps_to_match,
)
from core.train.heldout_report import report_lines
from tests.core.model.micro import micro_anchors, micro_net
from tests.core.train.conftest import small_config


@pytest.fixture(scope="module")
def scored(anny_body, shard_dir):
    """(unrefined scores, scores with a curve of 0, 2 and 3 steps) of one subject."""
    net = micro_net(anny_body, micro_anchors(anny_body))
    paths = list_shards(shard_dir)[:1]
    config = small_config(shard_dir).data
    plain = heldout_scores(net, anny_body, paths, config)
    curve = heldout_scores(net, anny_body, paths, config, refine_steps=(0, 2, 3))
    return plain, curve


def test_the_curve_has_the_requested_counts_and_starts_unrefined(scored):
    plain, curve = scored
    assert plain.steps == (0,) and curve.steps == (0, 2, 3)
    assert [s.steps for s in curve.today] == [s.steps for s in curve.network] == [0, 2, 3]
    for start in ("today", "network"):
        assert getattr(curve, start)[0] == getattr(plain, start)[0]
    # Refinement fits the input photo: its score moves.
    assert curve.today[2].psnr["input"] != curve.today[0].psnr["input"]


def test_ssim_lies_in_0_1_for_every_scored_view(scored):
    _, curve = scored
    for entry in curve.today + curve.network:
        assert set(entry.ssim) == set(KINDS)
        values = [v for v in entry.ssim.values() if not math.isnan(v)]
        assert values and all(0.0 <= v <= 1.0 for v in values)
        assert not math.isnan(entry.ssim["input"]) and not math.isnan(entry.ssim["back"])


def test_the_report_shows_the_curve_only_when_asked(scored):
    plain, curve = scored
    assert not any("Refined" in line for line in report_lines(plain))
    text = "\n".join(report_lines(curve))
    assert "Refined on the input photo" in text and "    3 network" in text
    assert steps_to_match(curve) is None  # no standard (250-step) result to match


def _entry(steps: int, psnr: float) -> StepScores:
    return StepScores(steps, {k: psnr for k in KINDS}, {k: 0.5 for k in KINDS})


def test_the_match_is_the_fewest_steps_within_the_tolerance():
    steps = (0, 25, 50, 250)
    scores = HeldoutScores(
        subjects=1,
        steps=steps,
        today=tuple(map(_entry, steps, (18.0, 19.0, 19.5, 20.0))),
        network=tuple(map(_entry, steps, (19.0, 19.85, 19.95, 21.0))),
    )
    match = steps_to_match(scores)
    assert match == Match(250, 50) and match.ratio == 0.2
    slow = HeldoutScores(1, steps, scores.today, scores.today[:3] + (_entry(250, 19.8),))
    assert steps_to_match(slow, HELD_OUT) == Match(250, None)
    assert "does not come within" in "\n".join(report_lines(slow))
    assert "after 50 steps: 0.20 of them" in "\n".join(report_lines(scores))


def test_step_lists_are_read_sorted():
    assert parse_refine_steps("250, 0,25,50,100") == (0, 25, 50, 100, 250)
    assert parse_refine_steps("7") == (7,)


@pytest.mark.parametrize("text", ["", "a", "-5", "1.5", "25,,50", "0,25,25", "20000"])
def test_bad_step_lists_are_refused_in_one_sentence(text):
    with pytest.raises(LcaError) as err:
        parse_refine_steps(text)
    message = str(err.value)
    assert "--refine-steps" in message and "\n" not in message
    assert message.endswith(".") and message.count(". ") == 0


def test_the_command_refuses_a_bad_step_list(tmp_path, capsys):
    args = ["data", "score", "--data", str(tmp_path), "--checkpoint", str(tmp_path / "c")]
    assert main([*args, "--refine-steps", "10,x"]) == 2
    assert "--refine-steps" in capsys.readouterr().err
