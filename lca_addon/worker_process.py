"""``lca create`` in a worker process: the `lca` environment's Python runs it with
``--progress json`` (``core/progress_events.py``), and :class:`WorkerJob` reads its events
without blocking, kills it on request and turns its end into a result or one sentence.

A WorkerJob has the interface of ``jobs.Worker`` (start, status, cancel, cancelled, running,
join, result, error), so ``jobs.JobOperator`` drives it from its modal timer exactly as it
drives a worker thread, and the tests drive it by the same calls. :func:`run_to_end` runs one
synchronously (background mode). Nothing here imports bpy.
"""

from __future__ import annotations

import collections
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.errors import LcaError, one_line
from ..core.progress import Progress
from ..core.progress_events import PROTOCOL, Event, parse_event
from .lca_environment import SETTING, child_environment

KILL_SECONDS = 5.0
"""How long a cancelled worker has to end after SIGTERM before it is killed."""

POLL_SECONDS = 0.1
"""How often :func:`run_to_end` looks at the worker."""

ERROR_LINES = 20
"""How many of the worker's last lines on stderr are kept (the last one explains a failure)."""


def create_command(python: Path, photos: Sequence[Path], output: Path, settings) -> list[str]:
    """The command line that runs ``lca create`` on ``photos`` with ``settings``
    (``core.create_settings.CreateSettings``), writing ``output``, in the environment of
    ``python``, with JSON progress."""
    command = [str(python), "-m", "core.commands", "create", *map(str, photos)]
    command += ["-o", str(output), "--quality", settings.quality, "--device", settings.device]
    command += ["--seed", str(settings.seed), "--progress", "json"]
    if settings.person is not None:
        command += ["--person", str(settings.person)]
    if settings.allow_partial:
        command.append("--allow-partial")
    if settings.allow_mixed:
        command.append("--allow-mixed")
    if settings.threads is not None:
        command += ["--threads", str(settings.threads)]
    return command


class WorkerJob:
    """One run of ``command`` in ``cwd``. :meth:`poll` (also through :attr:`running`) reads
    what it wrote so far and never blocks; once it has ended, ``result`` holds the fields of
    its "done" event (and "notes": the sentences of its note events), or ``error`` an LcaError
    with one sentence. ``scratch``: a folder that
    belongs to this run, removed when it is cancelled or fails (the caller removes it after
    using a result)."""

    def __init__(
        self, command: Sequence[str], cwd: Path, scratch: Path | None = None, echo: bool = True
    ):
        self.command = [str(part) for part in command]
        self.cwd = Path(cwd)
        self.scratch = scratch
        self.echo = echo
        self.events: list[Event] = []
        self.notes: list[str] = []
        self.result: dict[str, Any] | None = None
        self.error: LcaError | None = None
        self.returncode: int | None = None
        self._errors: collections.deque[str] = collections.deque(maxlen=ERROR_LINES)
        self._lines: queue.Queue[tuple[str, str | None]] = queue.Queue()
        self._open = 0  # streams still being read
        self._stage, self._fraction = "starting", 0.0
        self._process: subprocess.Popen | None = None
        self._cancelled = False
        self._ended = False

    # -- the jobs.Worker interface -------------------------------------------------------------

    def start(self) -> WorkerJob:
        """Start the worker; an interpreter that cannot be started is an error at once."""
        try:
            self._process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                env=child_environment(),
            )
        except OSError as err:
            self._end(
                LcaError(
                    f"The lca environment's Python '{self.command[0]}' could not be started "
                    f"({err.strerror or type(err).__name__}); check it in {SETTING}."
                )
            )
            return self
        for name, stream in (("out", self._process.stdout), ("err", self._process.stderr)):
            threading.Thread(target=self._read, args=(name, stream), daemon=True).start()
            self._open += 1
        return self

    def status(self) -> tuple[str, float]:
        """(stage, fraction in 0..1) of the worker's last progress event."""
        return self._stage, self._fraction

    def cancel(self) -> None:
        """Kill the worker (SIGTERM, then SIGKILL) and remove the scratch folder; nothing is
        written and the result is dropped."""
        if self._ended:
            return
        self._cancelled = True
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=KILL_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._end(None)

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def running(self) -> bool:
        """Whether the worker is still at work (reads its output first: :meth:`poll`)."""
        return self.poll()

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll():
            if deadline is not None and time.monotonic() > deadline:
                return
            time.sleep(0.02)

    # -- reading -------------------------------------------------------------------------------

    def _read(self, name: str, stream) -> None:
        for line in stream:
            self._lines.put((name, line.rstrip("\r\n")))
        self._lines.put((name, None))

    def poll(self) -> bool:
        """Take in what the worker wrote since the last call; True while it runs."""
        if self._ended:
            return False
        while True:
            try:
                name, line = self._lines.get_nowait()
            except queue.Empty:
                break
            if line is None:
                self._open -= 1
            elif name == "out":
                self._take(line)
            else:
                self._errors.append(line)
                if self.echo:
                    print(line, file=sys.stderr)
        if self._ended:  # a protocol mismatch ended it just now
            return False
        if self._open > 0 or self._process.poll() is None:
            return True
        self.returncode = self._process.returncode
        self._end(self._outcome())
        return False

    def _take(self, line: str) -> None:
        event = parse_event(line)
        if event is None:
            self._errors.append(line)
            return
        self.events.append(event)
        if event.kind == "start" and event.get("protocol") != PROTOCOL:
            self.cancel()
            self._cancelled = False
            self.error = LcaError(
                f"The LCA Avatar in the lca environment speaks progress protocol "
                f"{event.get('protocol')}, this extension {PROTOCOL}; update it there (git pull, "
                "then make)."
            )
        elif event.kind == "progress":
            self._stage = str(event.get("stage", self._stage))
            self._fraction = min(max(float(event.get("fraction", 0.0)), 0.0), 1.0)
        elif event.kind == "note":
            self.notes.append(str(event.get("message", "")))

    def _outcome(self) -> LcaError | None:
        """None when the worker wrote its result, else the error that says why not."""
        kinds = {event.kind: event for event in self.events}
        if self.returncode == 0 and "done" in kinds:
            self.result = {**kinds["done"].fields, "notes": tuple(self.notes)}
            return None
        if "error" in kinds:  # the worker's own sentence, as it is
            return LcaError(str(kinds["error"].get("message", "")).strip())
        return LcaError(failure_sentence(self.returncode, self.last_error_line()))

    def last_error_line(self) -> str:
        """The worker's last non-empty line on stderr (or a stray one on stdout)."""
        return next((line.strip() for line in reversed(self._errors) if line.strip()), "")

    def _end(self, error: LcaError | None) -> None:
        if error is not None and self.error is None:
            self.error = error
        if self.error is not None or self._cancelled:
            self.result = None
            if self.scratch is not None:
                shutil.rmtree(self.scratch, ignore_errors=True)
        self._ended = True


def failure_sentence(code: int | None, last_line: str) -> str:
    """One sentence for a worker that ended without its result and without an error event:
    killed by a signal, or failed with ``last_line`` as its last word."""
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return (
            f"The lca worker was killed ({name}) before it finished and nothing was written; "
            "create the avatar again (if it keeps happening, close other programs to free memory)."
        )
    detail = one_line(last_line, 300).removeprefix("lca: error: ").rstrip(".").replace(". ", "; ")
    if code == 0:
        return (
            f"The lca worker ended without writing the avatar; check the lca environment in "
            f"{SETTING}."
        )
    said = f" ({detail})" if detail else ""
    return (
        f"The lca worker stopped with exit code {code}{said}; check the lca environment in "
        f"{SETTING}."
    )


def run_to_end(job: WorkerJob, progress: Progress) -> dict[str, Any]:
    """Start ``job`` and wait for it on this thread, passing its progress on; the fields of its
    "done" event, or its LcaError raised. An exception out of ``progress`` (Ctrl-C, a
    cancelled job) kills the worker first."""
    job.start()
    try:
        while job.running:
            progress(*job.status())
            time.sleep(POLL_SECONDS)
    except BaseException:
        job.cancel()
        raise
    if job.error is not None:
        raise job.error
    if job.result is None:  # cancelled from another thread
        raise LcaError("The lca worker was cancelled; nothing was written.")
    return job.result
