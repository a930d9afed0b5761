"""The fuzz loop: seeded cases, bounded by count and time, an outcome table, and every input
that broke a reader written to ``out/fuzz/<target>-<case>.bin`` with its traceback beside it.

Case ``i`` of a run with seed ``s`` is made from ``random.Random(s * 1_000_003 + i)`` alone,
so any case can be made again. Targets take turns: case ``i`` goes to target
``i % len(targets)``.
"""

from __future__ import annotations

import dataclasses
import os
import random
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..errors import LcaError
from .target import FuzzTarget, Outcomes

TARGETS = ("lca", "ply", "pose", "camera")
"""Every target, in the order of the table."""
_MAX_KEPT = 50
"""At most this many broken inputs are written per run."""


@dataclass(frozen=True)
class FuzzSettings:
    """cases: at most this many; seconds: stop after this long; seed: of every case;
    targets: names from ``TARGETS``; out_dir: where broken inputs go."""

    cases: int = 10_000
    seconds: float = 60.0
    seed: int = 0
    targets: tuple[str, ...] = TARGETS
    out_dir: Path = Path("out/fuzz")


@dataclass(frozen=True)
class FuzzReport:
    """outcomes: per target, in ``settings.targets`` order; seconds: wall time of the cases;
    kept: the broken inputs written (``.bin``, with a ``.txt`` traceback beside each)."""

    outcomes: tuple[Outcomes, ...]
    seconds: float
    kept: tuple[Path, ...]

    @property
    def cases(self) -> int:
        return sum(o.cases for o in self.outcomes)

    @property
    def failed(self) -> bool:
        return any(o.other for o in self.outcomes)


def make_target(name: str) -> FuzzTarget:
    """The target called ``name`` (one of ``TARGETS``), with its seeds made."""
    if name == "lca":
        from .lca_target import LcaTarget

        return LcaTarget()
    if name == "ply":
        from .ply_target import PlyTarget

        return PlyTarget()
    if name == "pose":
        from .json_targets import PoseTarget

        return PoseTarget()
    if name == "camera":
        from .json_targets import CameraTarget

        return CameraTarget()
    raise LcaError(f"Unknown fuzz target '{name[:40]}'; choose from {', '.join(TARGETS)}.")


def run_fuzz(settings: FuzzSettings) -> FuzzReport:
    """Run up to ``settings.cases`` cases within ``settings.seconds``; see the module docstring."""
    targets = [make_target(name) for name in settings.targets]
    counts = {t.name: Outcomes(t.name) for t in targets}
    kept: list[Path] = []
    start = time.perf_counter()
    scratch = Path("/dev/shm")  # memory-backed where there is one: a case is a file write
    scratch_dir = str(scratch) if scratch.is_dir() and os.access(scratch, os.W_OK) else None
    with (
        tempfile.TemporaryDirectory(prefix="lca-fuzz-", dir=scratch_dir) as tmp,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        for case in range(settings.cases):
            if time.perf_counter() - start > settings.seconds:
                break
            target = targets[case % len(targets)]
            data = target.make_case(random.Random(settings.seed * 1_000_003 + case))
            path = Path(tmp) / f"case{target.suffix}"
            path.write_bytes(data)
            outcome = "valid"
            try:
                target.check(path)
            except LcaError:
                outcome = "refused"
            except Exception:  # noqa: BLE001 - every other exception is what we look for
                outcome = "other"
                if len(kept) < _MAX_KEPT:
                    kept.append(_keep(settings.out_dir, target.name, case, data))
            c = counts[target.name]
            counts[target.name] = dataclasses.replace(c, **{outcome: getattr(c, outcome) + 1})
    return FuzzReport(
        outcomes=tuple(counts[t.name] for t in targets),
        seconds=time.perf_counter() - start,
        kept=tuple(kept),
    )


def _keep(out_dir: Path, name: str, case: int, data: bytes) -> Path:
    """Write a broken input and the traceback being handled; return the input's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}-{case}.bin"
    path.write_bytes(data)
    path.with_suffix(".txt").write_text(traceback.format_exc(), encoding="utf-8")
    return path


def report_lines(report: FuzzReport, seed: int) -> list[str]:
    """The report as printed: the rate, then a table of outcomes per target."""
    rate = report.cases / report.seconds if report.seconds > 0 else 0.0
    lines = [
        f"fuzz: {report.cases:,} cases in {report.seconds:.1f} s ({rate:,.0f} cases/s), "
        f"seed {seed}",
        f"{'target':<8} {'cases':>10} {'valid':>10} {'refused':>10} {'other':>8}",
    ]
    for o in report.outcomes:
        lines.append(f"{o.target:<8} {o.cases:>10,} {o.valid:>10,} {o.refused:>10,} {o.other:>8,}")
    for path in report.kept:
        lines.append(f"kept {path} (traceback in {path.with_suffix('.txt').name})")
    return lines
