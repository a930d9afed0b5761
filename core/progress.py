"""Progress of long jobs on a terminal: a `Progress(stage, fraction)` callback."""

from __future__ import annotations

import sys


class StageLine:
    """Progress(stage, fraction) shown as one updating line per stage on a terminal, or as a
    line per stage (and per quarter done) elsewhere."""

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty()
        self.stage: str | None = None
        self.shown = -1

    def __call__(self, stage: str, fraction: float) -> None:
        percent = int(100 * min(max(fraction, 0.0), 1.0))
        if stage != self.stage:
            if self.live and self.stage is not None:
                self.stream.write("\n")
            self.stage, self.shown = stage, -1
        if self.live:
            if percent != self.shown:
                self.stream.write(f"\r{stage:<18} {percent:3d}%")
        elif percent // 25 != self.shown // 25 or self.shown < 0:
            self.stream.write(f"{stage:<18} {percent:3d}%\n")
        else:
            return
        self.shown = percent
        self.stream.flush()

    def close(self) -> None:
        if self.live and self.stage is not None:
            self.stream.write("\n")
            self.stream.flush()
        self.stage = None
