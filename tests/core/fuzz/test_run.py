"""`lca bench fuzz`: a short seeded run of the readers that must hold, and the harness's own
bookkeeping (outcomes, kept inputs, exit code)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from core.commands.main import main
from core.errors import LcaError
from core.fuzz import run as fuzz_run
from core.fuzz.run import FuzzSettings, report_lines, run_fuzz

PASSING = ("lca", "ply", "pose", "camera")
"""Every target: each reader loads its input or refuses it with an LcaError."""


def test_a_short_seeded_run_has_only_loads_and_lca_errors(tmp_path):
    settings = FuzzSettings(cases=3000, seconds=50, seed=16, targets=PASSING, out_dir=tmp_path)
    report = run_fuzz(settings)
    assert report.cases == 3000, "the run ran out of time before its cases"
    table = "\n".join(report_lines(report, settings.seed))
    assert not report.failed, table
    for outcome in report.outcomes:
        assert outcome.valid > 0 and outcome.refused > 0, table  # both sides are reached
    assert list(tmp_path.iterdir()) == []


class _Breaks:
    """A target whose reader fails in every way the harness must tell apart."""

    name = "breaks"
    suffix = ".bin"

    def make_case(self, rng: random.Random) -> bytes:
        return bytes([rng.randrange(3)])

    def check(self, path: Path) -> None:
        kind = path.read_bytes()[0]
        if kind == 1:
            raise LcaError("Refused; as it should be.")
        if kind == 2:
            raise ValueError("a bug")


def test_other_outcomes_fail_the_run_and_keep_the_input(tmp_path, monkeypatch):
    monkeypatch.setattr(fuzz_run, "make_target", lambda name: _Breaks())
    report = run_fuzz(FuzzSettings(cases=60, seed=1, targets=("breaks",), out_dir=tmp_path))
    (outcome,) = report.outcomes
    assert report.failed and outcome.cases == 60
    assert min(outcome.valid, outcome.refused, outcome.other) > 0
    assert len(report.kept) == outcome.other
    for path in report.kept:
        assert path.parent == tmp_path and path.name.startswith("breaks-")
        assert path.read_bytes() == b"\x02"
        assert "ValueError: a bug" in path.with_suffix(".txt").read_text()


def test_cases_are_made_again_from_the_seed():
    from core.fuzz.lca_target import LcaTarget

    target = LcaTarget()
    first = [target.make_case(random.Random(7 * 1_000_003 + i)) for i in range(20)]
    again = [target.make_case(random.Random(7 * 1_000_003 + i)) for i in range(20)]
    assert first == again and len(set(first)) > 15


def test_time_bound_stops_the_run(tmp_path):
    report = run_fuzz(FuzzSettings(cases=10**9, seconds=0.5, targets=("ply",), out_dir=tmp_path))
    assert 0 < report.cases < 10**9 and report.seconds < 5


@pytest.mark.parametrize("target", PASSING)
def test_bench_fuzz_command(target, capsys):
    code = main(["bench", "fuzz", "--cases", "40", "--seconds", "30", "--target", target])
    out = capsys.readouterr().out
    assert code == 0 and "cases/s" in out and f"\n{target} " in out
