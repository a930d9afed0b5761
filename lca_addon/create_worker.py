"""Create from Photos in a worker process: where it runs, and the job that runs it there.

Two routes (:func:`create_route`): in Blender's own process (``create_avatar.create_job``),
where torch and MediaPipe import (Blender 4.2-5.0 with the dependencies installed), or in a
worker: ``lca create --progress json`` run by the `lca` environment's Python (set in the
preferences, ``lca_environment.py``), where Blender's Python cannot run it (5.1+, or packages
missing) or where the preferences ask for it ("Create from Photos: Worker Process").

The worker job (:func:`worker_job`) is a ``jobs.Job`` whose runner is a
``worker_process.WorkerJob``: the modal operator shows its progress, Esc kills it; the worker
writes NAME.lca into a scratch folder beside the output that the job chose (so the file is
complete before anything sees it), and apply reads it, builds the scene as the import does
(one undo step) and only then moves the file to its place. A cancelled or failed worker
leaves no file and an unchanged scene.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import bpy

from ..core.errors import LcaError, OutputError
from .dependencies import missing_dependency, missing_photo_dependency
from .jobs import Done, Job
from .lca_environment import check_environment, not_set_sentence
from .worker_process import WorkerJob, create_command, run_to_end

AUTO, WORKER = "AUTO", "WORKER"
ROUTE_ITEMS = (
    (
        AUTO,
        "Automatic",
        "In Blender where it can run (4.2-5.0 with torch and MediaPipe), "
        "else in the lca environment",
    ),
    (WORKER, "Worker Process", "Always in the lca environment, in a separate process"),
)
"""Where Create from Photos runs: the preferences' choice."""

TITLE = "Creating avatar"


@dataclass(frozen=True)
class Route:
    """python: the lca environment's interpreter when the worker runs the creation (None:
    Blender's own process, or no interpreter found); problem: one sentence when it cannot run
    (the environment's, or what the import of its result lacks here)."""

    python: Path | None = None
    problem: str | None = None

    @property
    def in_worker(self) -> bool:
        return self.python is not None


def in_process_problem() -> str | None:
    """None when Blender's own Python can create avatars, else the sentence saying why not."""
    return missing_dependency() or missing_photo_dependency()


def create_route(prefs, check: bool = True) -> Route:
    """Where Create from Photos runs with the preferences ``prefs`` (None: defaults).
    ``check`` runs the environment's interpreter (a fraction of a second) to find the
    packages; without it only the setting is read (for drawing). The result of a worker is
    imported here, in Blender, so what the import needs is checked too (torch on 4.2-5.2)."""
    mode = getattr(prefs, "create_in", AUTO)
    setting = getattr(prefs, "lca_environment", "").strip()
    own = in_process_problem()
    if mode == AUTO and own is None:
        return Route()
    if not setting:
        return Route(problem=own if mode == AUTO else not_set_sentence())
    python, problem = Path(bpy.path.abspath(setting)), None
    if check:
        found = check_environment(str(python))
        python, problem = found.python, found.problem
    # The worker's file holds its rig (schema 3): on 5.3+ (native splats) the import of it
    # needs no torch; on 4.2-5.2 the avatar object is drawn with torch.
    from .splat_object import native_splats_supported

    needs = None if native_splats_supported() else missing_dependency()
    return Route(python=python, problem=problem or needs)


def scratch_folder(output: Path) -> Path:
    """A new hidden folder beside ``output`` (the same file system: the move is a rename)."""
    try:
        return Path(tempfile.mkdtemp(prefix=f".{output.stem}.creating-", dir=output.parent))
    except OSError as err:
        raise OutputError(
            f"Cannot write in '{output.parent}' ({err.strerror or type(err).__name__}); choose "
            "a writable folder."
        ) from None


def worker_job(options, python: Path) -> Job:
    """The job that creates ``options`` (``create_avatar.CreateOptions``) with ``lca create``
    run by ``python`` in a worker process (see the module docstring). Its scratch folder is
    made now (OutputError when it cannot be), and removed by the job in every outcome."""
    folder = scratch_folder(options.output)
    command = create_command(python, options.photos, folder / options.output.name, options.settings)

    def runner() -> WorkerJob:
        return WorkerJob(command, cwd=folder, scratch=folder)

    def work(progress) -> dict:  # background mode: the same worker, waited for
        return run_to_end(runner(), progress)

    def apply(context: bpy.types.Context, result: dict) -> Done:
        try:
            return apply_created(context, options.output, result)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return Job(TITLE, work, apply, runner=runner)


def apply_created(context: bpy.types.Context, output: Path, result: dict) -> Done:
    """Read the worker's NAME.lca, build it into the scene as the import does, then move the
    file to ``output``; LcaError before the scene is touched when the file does not load."""
    from .import_avatar import build_imported_avatar, read_avatar_and_rig

    partial = Path(result["path"])
    try:
        avatar, rig = read_avatar_and_rig(partial)
    except LcaError as err:
        raise LcaError(f"The lca worker wrote an avatar that does not load ({err})") from None
    if context.mode != "OBJECT":  # the user went into Edit or Pose Mode meanwhile
        bpy.ops.object.mode_set(mode="OBJECT")
    objects = build_imported_avatar(context, avatar, rig, output)
    try:
        os.replace(partial, output)
    except OSError as err:
        raise OutputError(
            f"Cannot write '{output}' ({err.strerror or type(err).__name__}); choose a "
            "writable folder with free space."
        ) from None
    count = len(objects.avatar.data.vertices)
    seconds = float(result.get("seconds", 0.0))
    return Done(
        f"Created '{objects.avatar.name}' ({count:,} Gaussians) in {seconds:.0f} s in the lca "
        f"worker and saved it as {output.name}.",
        warnings=tuple(result.get("notes", ())),
        made=objects,
    )
