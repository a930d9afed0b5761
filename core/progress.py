"""Progress of long jobs: the ``Progress(stage, fraction)`` callback type, ``no_progress``,
and :class:`StageLine`, which shows it on a terminal.

Long stages (``core.recon``, ``core.demo``) call ``progress(stage, fraction)`` now and then;
the ``lca`` commands show it with a StageLine, the Blender extension in its status bar
(``lca_addon/jobs.py``). Importing this module imports neither torch nor bpy.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType

Progress = Callable[[str, float], None]
"""progress(stage, fraction in [0, 1]): called by long stages so callers can show progress."""


def no_progress(stage: str, fraction: float) -> None:
    """A Progress that shows nothing."""


class StageLine:
    """Progress(stage, fraction) shown as one updating line per stage on a terminal, or as a
    line per stage (and per quarter done) elsewhere.

    Use it as a context manager, ``with StageLine() as progress:``, which ends the last
    line when the block ends, also on an error or Ctrl-C."""

    def __init__(self, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty()
        self.stage: str | None = None
        self.shown = -1

    def __enter__(self) -> StageLine:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

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
        """End the current stage's line (on a terminal); the next call starts a new one."""
        if self.live and self.stage is not None:
            self.stream.write("\n")
            self.stream.flush()
        self.stage = None
