"""``lca create --progress json``: progress as JSON lines, for a program that runs the command
(the Blender extension's worker process, ``lca_addon/worker_process.py``). Both sides of the
protocol live here: :class:`JsonProgress` writes it, :func:`parse_event` reads it.

Standard output carries the events and nothing else: one JSON object per line, UTF-8,
flushed as written. Everything meant for a person (the one-sentence error ``lca: error: ...``,
messages of the libraries) goes to standard error, as without ``--progress json``. Events, in
the order they come:

- ``{"event": "start", "protocol": 1, "version": "0.1.0"}``: once, first;
- ``{"event": "progress", "stage": "perceive", "fraction": 0.4}``: the stage's name and how
  much of it is done (0..1); sent when the whole percent changes or the stage does;
- ``{"event": "note", "message": "..."}``: one sentence worth showing (as ``Note:`` lines);
- ``{"event": "done", "path": "/abs/NAME.lca", "preview": "/abs/NAME.preview.png",
  "gaussians": 60000, "seconds": 52.3}``: last, once both files are written (exit code 0);
- ``{"event": "error", "message": "...", "code": 2}``: last, when the command ends without
  writing anything: ``code`` is the exit code that follows (2: refused, one sentence naming
  the input, shown to the user as it is; 130: interrupted (Ctrl-C, SIGINT); 1: an internal
  error). Options that argparse refuses end with exit code 2 before any event.

A reader ignores lines that are not JSON objects and events it does not know, so the protocol
can grow; ``protocol`` changes only when an event changes meaning. Importing this module
imports neither torch nor bpy.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any

PROTOCOL = 1
"""The version of the events above (a reader refuses a command whose start event differs)."""

INTERRUPTED_SENTENCE = "Interrupted; no partial files were left behind."
"""The error event's message after Ctrl-C (SIGINT)."""


@dataclass(frozen=True)
class Event:
    """One event read back: ``kind`` ("start", "progress", "note", "done", "error" or one a
    newer writer added) and its other fields in ``fields``."""

    kind: str
    fields: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)


def parse_event(line: str) -> Event | None:
    """The event a line holds, or None for a line that is not a JSON object with an "event"."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        return None
    kind = data.pop("event")
    return Event(kind, data)


class JsonProgress:
    """A ``core.progress.Progress`` that writes the events above, one JSON line each.

    Use it as a context manager around the whole command: entering sends "start"; an
    exception leaving the block sends "error" (an LcaError's sentence with code 2,
    KeyboardInterrupt with 130, anything else with 1) and goes on (the command line reports it
    and exits with that code as always). When ``stream`` is the process's real standard output
    (file descriptor 1), the block moves descriptor 1 onto standard error and keeps a private
    copy for the events, so that a library printing to stdout cannot break the protocol; it
    is put back when the block ends."""

    def __init__(self, stream: IO[str] | None = None):
        self.stream = stream if stream is not None else sys.stdout
        self._moved: int | None = None  # the saved descriptor 1 while it points at stderr
        self._shown: tuple[str, int] | None = None

    def __enter__(self) -> JsonProgress:
        from . import __version__

        self._take_stdout()
        self.send("start", protocol=PROTOCOL, version=__version__)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if error is not None:
                self.error(*error_of(error))
        finally:
            self._give_back_stdout()

    def __call__(self, stage: str, fraction: float) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        shown = (stage, int(100 * fraction))
        if shown == self._shown:
            return
        self._shown = shown
        self.send("progress", stage=stage, fraction=round(fraction, 4))

    def note(self, message: str) -> None:
        self.send("note", message=message)

    def done(self, **fields: Any) -> None:
        self.send("done", **fields)

    def error(self, message: str, code: int) -> None:
        self.send("error", message=message, code=code)

    def send(self, kind: str, **fields: Any) -> None:
        """Write one event line and flush it."""
        self.stream.write(json.dumps({"event": kind, **fields}, ensure_ascii=False) + "\n")
        self.stream.flush()

    def _take_stdout(self) -> None:
        try:
            is_stdout = self.stream is sys.stdout and self.stream.fileno() == 1
        except (AttributeError, OSError, ValueError):  # replaced by one without a descriptor
            is_stdout = False
        if not is_stdout:
            return
        self.stream.flush()
        self._moved = os.dup(1)
        os.dup2(2, 1)
        self.stream = os.fdopen(os.dup(self._moved), "w", encoding="utf-8", closefd=True)

    def _give_back_stdout(self) -> None:
        if self._moved is None:
            return
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
        self.stream.close()
        os.dup2(self._moved, 1)
        os.close(self._moved)
        self._moved = None
        self.stream = sys.stdout


def error_of(error: BaseException) -> tuple[str, int]:
    """(message, exit code) of the error event for ``error``, as ``lca`` reports it."""
    from .errors import LcaError, one_line

    if isinstance(error, LcaError):
        return one_line(str(error)), 2
    if isinstance(error, KeyboardInterrupt):
        return INTERRUPTED_SENTENCE, 130
    return (
        f"lca create stopped with an internal error ({type(error).__name__}: "
        f"{one_line(str(error), 300)}); rerun it with LCA_DEBUG=1 and report the traceback.",
        1,
    )
