"""Background jobs for operators: the work in a worker thread, progress in Blender's UI, Esc
to cancel, the result applied in one undoable step.

A :class:`Job` is two functions:

- ``work(progress)`` runs in a worker thread and must never touch bpy (core calls, reading
  files); it calls ``progress(stage, fraction)`` now and then (``core.progress.Progress``);
- ``apply(context, result)`` runs on the main thread, once, when the work has succeeded: it
  writes the result into the scene in one step and returns a :class:`Done` to report.

An operator mixes in :class:`JobOperator` before ``bpy.types.Operator``, sets
``bl_options = {"UNDO"}`` and defines ``make_job(context)``, which reads its properties (on
the main thread) and returns the Job:

- with a window (the Blender app), ``execute`` starts a :class:`Worker` and a window-manager
  timer and returns RUNNING_MODAL; each tick shows "Title: stage NN%" in the status bar, the
  area's header and the window manager's progress. Esc or right-click asks the worker to stop:
  its next ``progress`` call raises :class:`JobCancelled`; the operator waits for the thread to
  end and returns CANCELLED with the scene as it was (``apply`` never ran);
- on success ``apply`` runs and the operator returns FINISHED, so Blender pushes one undo step
  and Ctrl-Z removes what ``apply`` added;
- a failure is one sentence in an ERROR report: an LcaError's own sentence, anything else
  named in one sentence (the traceback is printed only with LCA_DEBUG=1);
- in background mode (``bpy.app.background``: the command line, scripts, tests) the same job
  runs synchronously on the calling thread, its progress printed (``core.progress``).

A job with a ``runner`` (``worker_process.WorkerJob``: a worker process) is driven through it
instead of a Worker thread, by the same calls; its ``work`` is the synchronous version.
"""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import bpy

from ..core.errors import LcaError
from ..core.progress import Progress

POLL_SECONDS = 0.1
"""How often the modal operator looks at the worker's progress."""

CANCEL_EVENTS = frozenset({"ESC", "RIGHTMOUSE"})
"""Events that cancel a running job."""


class JobCancelled(Exception):
    """Raised inside the worker, at its next progress call, once the user has cancelled."""


@dataclass(frozen=True)
class Done:
    """What a job reports when applied: ``message`` (INFO) and ``warnings`` (WARNING), each
    one sentence; ``made``: what apply added, for callers that go on (the command line)."""

    message: str
    warnings: tuple[str, ...] = ()
    made: Any = None


@dataclass(frozen=True)
class Job:
    """title: names the job in the UI ("Creating avatar"); work(progress) -> result, in a
    worker thread, never touching bpy; apply(context, result) -> Done, on the main thread."""

    title: str
    work: Callable[[Progress], Any]
    apply: Callable[[bpy.types.Context, Any], Done]
    runner: Callable[[], Any] | None = None
    """Makes what the modal operator drives in place of a :class:`Worker` thread running
    ``work`` (same interface: ``worker_process.WorkerJob``, a process); None: a Worker."""


class Worker:
    """Runs ``work(progress)`` in a daemon thread; the main thread polls :meth:`status` and
    may :meth:`cancel`. Touches no bpy."""

    def __init__(self, work: Callable[[Progress], Any], name: str = "lca-job"):
        self._work = work
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._stage, self._fraction = "starting", 0.0
        self.result: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _progress(self, stage: str, fraction: float) -> None:
        if self._cancel.is_set():
            raise JobCancelled
        with self._lock:
            self._stage, self._fraction = stage, float(fraction)

    def _run(self) -> None:
        try:
            self.result = self._work(self._progress)
        except BaseException as err:  # handed to the main thread, which reports it
            self.error = err

    def status(self) -> tuple[str, float]:
        """(stage, fraction in 0..1) as last reported by the work."""
        with self._lock:
            return self._stage, min(max(self._fraction, 0.0), 1.0)

    def cancel(self) -> None:
        """Ask the work to stop at its next progress call; its result will be dropped."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)


def error_sentence(title: str, err: BaseException) -> str:
    """One sentence for the user: an LcaError's own, else the unexpected error named."""
    if isinstance(err, LcaError):
        return " ".join(str(err).split())
    detail = " ".join(str(err).split()).rstrip(".").replace(". ", "; ")
    detail = f"{type(err).__name__}: {detail}" if detail else type(err).__name__
    return (
        f"{title} failed with an internal error ({detail}); rerun with LCA_DEBUG=1 and report "
        "the traceback from the system console."
    )


def status_text(title: str, stage: str, fraction: float) -> str:
    return f"{title}: {stage} {int(100 * fraction):d}% (Esc to cancel)"


def run_job(context: bpy.types.Context, job: Job) -> Done:
    """Run ``job`` synchronously on this thread, its progress printed to stderr; errors
    propagate (the command line reports them)."""
    from ..core.progress import StageLine

    with StageLine() as progress:
        result = job.work(progress)
    return job.apply(context, result)


class JobOperator:
    """Mixin for an operator that runs a :class:`Job` (see the module docstring). Subclasses
    define ``make_job(context) -> Job``; LcaError raised there is reported before any work."""

    def make_job(self, context: bpy.types.Context) -> Job:
        raise NotImplementedError

    def execute(self, context):
        try:
            job = self.make_job(context)
        except LcaError as err:
            self.report({"ERROR"}, error_sentence("", err))
            return {"CANCELLED"}
        if bpy.app.background or context.window is None:
            return self.run_job_here(context, job)
        return self.start_job(context, job)

    # -- synchronous (background mode) ---------------------------------------------------------

    def run_job_here(self, context, job: Job) -> set[str]:
        """Run ``job`` on this thread (:func:`run_job`); Ctrl-C propagates."""
        try:
            done = run_job(context, job)
        except Exception as err:
            return self._failed(job, err)
        return self._done(done)

    # -- modal (the Blender app) ---------------------------------------------------------------

    def start_job(self, context, job: Job) -> set[str]:
        """Start the worker and the timer; the window manager then calls :meth:`modal`."""
        self._job = job
        self._worker = job.runner() if job.runner is not None else Worker(job.work)
        self._area = context.area
        manager = context.window_manager
        self._timer = manager.event_timer_add(POLL_SECONDS, window=context.window)
        manager.modal_handler_add(self)
        manager.progress_begin(0, 100)
        self._worker.start()
        self._show(context, status_text(job.title, "starting", 0.0), 0.0)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        worker = self._worker
        if event.type in CANCEL_EVENTS and event.value == "PRESS":
            if not worker.cancelled:
                worker.cancel()
                self._show(context, f"{self._job.title}: cancelling...", None)
            return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        if worker.running:
            if not worker.cancelled:
                stage, fraction = worker.status()
                self._show(context, status_text(self._job.title, stage, fraction), fraction)
            return {"PASS_THROUGH"}
        self._end(context)
        if worker.cancelled:
            self.report({"INFO"}, f"{self._job.title} cancelled; nothing was added.")
            return {"CANCELLED"}
        if worker.error is not None:
            if not isinstance(worker.error, Exception):  # e.g. SystemExit inside the work
                raise worker.error
            return self._failed(self._job, worker.error)
        return self._apply(context, self._job, worker.result)

    def cancel(self, context):
        """Blender ends the operator (a file is loaded, the window closes): stop the work."""
        self._worker.cancel()
        self._end(context)

    def _show(self, context, text: str, fraction: float | None) -> None:
        if fraction is not None:
            context.window_manager.progress_update(int(100 * fraction))
        if context.workspace is not None:
            context.workspace.status_text_set(text)
        if self._area is not None:
            self._area.header_text_set(text)

    def _end(self, context) -> None:
        manager = context.window_manager
        if self._timer is not None:
            manager.event_timer_remove(self._timer)
            self._timer = None
        manager.progress_end()
        if context.workspace is not None:
            context.workspace.status_text_set(None)
        if self._area is not None:
            self._area.header_text_set(None)
            self._area = None

    # -- both ----------------------------------------------------------------------------------

    def _apply(self, context, job: Job, result) -> set[str]:
        try:
            done = job.apply(context, result)
        except Exception as err:
            return self._failed(job, err)
        return self._done(done)

    def _done(self, done: Done) -> set[str]:
        self.report({"INFO"}, done.message)
        for warning in done.warnings:
            self.report({"WARNING"}, warning)
        return {"FINISHED"}

    def _failed(self, job: Job, err: Exception) -> set[str]:
        if os.environ.get("LCA_DEBUG") and not isinstance(err, LcaError):
            traceback.print_exception(err)
        self.report({"ERROR"}, error_sentence(job.title, err))
        return {"CANCELLED"}
