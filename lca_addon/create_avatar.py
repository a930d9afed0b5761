"""Create Avatar from Photos: photos of one person -> a rigged Gaussian avatar in the scene.

The operator is thin: a file browser picks the photos (``files`` + ``directory``), its
options become a :class:`CreateOptions` (the photos, the output and one
``core.create_settings.CreateSettings``), and :func:`create_job` makes the background job
(``jobs.py``):

- work (worker thread, no bpy): ``core.recon.create.create_avatar`` (with torch's thread
  count of the settings' ``threads`` for the job only), then the rig, the `.lca` bytes and,
  when asked, the preview image (``core.commands.create_options.render_preview``, as ``lca create``
  renders it);
- apply (main thread, one undoable step): the `.lca` file (and the preview) and the scene,
  built exactly as the import builds it (``import_avatar.build_imported_avatar``). The files
  are written under temporary names and renamed only once the scene is built, so a cancelled
  or failed job leaves no file (and nothing in the scene).

``blender -c lca create`` (``commands.py``) runs the same job synchronously, with a preview.
Where Blender's own Python cannot create avatars (5.1+, packages missing), or when the
preferences ask for it, the operator runs ``lca create`` in a worker process instead
(``create_worker.py``: the same options, the same import, one undo step).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import bpy
from bpy.props import BoolProperty, CollectionProperty, EnumProperty, IntProperty, StringProperty

from ..core.commands.create_options import check_output, named, render_preview, torch_threads
from ..core.create_settings import CreateSettings
from ..core.errors import LcaError, OutputError
from .create_worker import create_route, worker_job
from .dependencies import missing_dependency, missing_photo_dependency
from .jobs import Done, Job, JobOperator
from .preferences import addon_preferences

QUALITY_ITEMS = (
    ("draft", "Draft", "About a minute on a CPU"),
    ("standard", "Standard", "A few minutes on a CPU"),
    ("high", "High", "Slow on a CPU; meant for a CUDA GPU"),
)
METHOD_ITEMS = (
    ("fit", "Fit", "Fit the Gaussians to the photos (today's path)"),
    ("feedforward", "Network", "The LCA network's prediction in one pass, no refinement"),
    ("auto", "Network + Refine", "The network's prediction, then a third of the refinement"),
)
DEVICE_ITEMS = (
    ("auto", "Auto", "The CUDA GPU where there is one, else the CPU"),
    ("cpu", "CPU", "The CPU"),
    ("cuda", "CUDA", "An NVIDIA GPU with CUDA"),
)
TITLE = "Creating avatar"


@dataclass(frozen=True)
class CreateOptions:
    """photos: one or more photos of one person; output: the .lca file to write; settings:
    how to create it (its threads: torch's CPU threads during the job only); preview: where
    to write the front-view PNG that ``lca create`` writes (None: no preview)."""

    photos: tuple[Path, ...]
    output: Path
    settings: CreateSettings = CreateSettings()
    preview: Path | None = None


@dataclass(frozen=True)
class Created:
    """What the work hands to apply: the avatar, its rig, its `.lca` bytes, the preview image
    (None when not asked for), notes for the user and the seconds the creation took."""

    avatar: object
    rig: object
    data: bytes
    preview: object
    notes: tuple[str, ...]
    seconds: float


def default_output(photos: tuple[Path, ...]) -> Path:
    """NAME.lca next to the first photo, NAME being the photo's (avatar.lca without one)."""
    return photos[0].with_suffix(".lca") if photos else Path("avatar.lca")


def check_options(options: CreateOptions, in_worker: bool = False) -> None:
    """Refuse, before any work, what would fail later (LcaError, one sentence); ``in_worker``:
    the worker process creates it (``create_worker.py``), which has checked its own needs."""
    problem = None if in_worker else missing_dependency() or missing_photo_dependency()
    if problem is not None:
        raise LcaError(problem)
    if not options.photos:
        raise LcaError("No photos were chosen; select one or more photos of the person.")
    output = options.output
    check_output(output, preview=options.preview is not None)
    if not output.parent.is_dir():
        raise OutputError(f"The folder of '{output}' does not exist; create it or choose another.")


def create_job(options: CreateOptions) -> Job:
    """The background job that creates the avatar of ``options`` (see the module docstring)."""

    def work(progress) -> Created:
        from ..core.avatar.lca_file import lca_bytes
        from ..core.recon.create import create_avatar
        from .import_avatar import avatar_rig

        with torch_threads(options.settings.threads):
            result = create_avatar(list(options.photos), options.settings, progress=progress)
            progress("rig", 0.0)
            avatar = named(result.avatar, options.output.stem)
            rig = avatar_rig(avatar)
            data = lca_bytes(avatar, rig)
            progress("rig", 1.0)
            preview = None
            if options.preview is not None:
                progress("preview", 0.0)
                preview = render_preview(avatar)
                progress("preview", 1.0)
        return Created(avatar, rig, data, preview, result.notes, result.seconds.total)

    def apply(context: bpy.types.Context, created: Created) -> Done:
        from ..core.fileio import atomic_path
        from .import_avatar import build_imported_avatar

        path, preview = options.output, options.preview
        if context.mode != "OBJECT":  # the user went into Edit or Pose Mode meanwhile
            bpy.ops.object.mode_set(mode="OBJECT")
        try:
            with contextlib.ExitStack() as renamed:  # both renamed once the scene is built
                partial = renamed.enter_context(atomic_path(path))
                partial.write_bytes(created.data)
                if preview is not None:
                    created.preview.save(renamed.enter_context(atomic_path(preview)), "PNG")
                objects = build_imported_avatar(context, created.avatar, created.rig, path)
        except OSError as err:
            raise OutputError(
                f"Cannot write '{path}' ({err.strerror or type(err).__name__}); choose a "
                "writable folder with free space."
            ) from None
        count = len(objects.avatar.data.vertices)
        saved = path.name if preview is None else f"{path.name} (preview {preview.name})"
        return Done(
            f"Created '{objects.avatar.name}' ({count:,} Gaussians) in {created.seconds:.0f} s "
            f"and saved it as {saved}.",
            warnings=created.notes,
            made=objects,
        )

    return Job(TITLE, work, apply)


class LCA_OT_create_avatar(JobOperator, bpy.types.Operator):
    """Create a rigged Gaussian avatar from photos of one person (runs in the background; Esc
    cancels)"""

    bl_idname = "lca.create_avatar"
    bl_label = "Create Avatar from Photos"
    bl_options = {"UNDO"}  # no REGISTER: a redo panel would run the whole job again

    files: CollectionProperty(type=bpy.types.OperatorFileListElement, options={"SKIP_SAVE"})
    directory: StringProperty(subtype="DIR_PATH", options={"SKIP_SAVE"})
    filter_image: BoolProperty(default=True, options={"HIDDEN", "SKIP_SAVE"})
    filter_folder: BoolProperty(default=True, options={"HIDDEN", "SKIP_SAVE"})

    quality: EnumProperty(name="Quality", items=QUALITY_ITEMS, default="standard")
    device: EnumProperty(name="Device", items=DEVICE_ITEMS, default="auto")
    method: EnumProperty(name="Method", items=METHOD_ITEMS, default="fit")
    checkpoint: StringProperty(
        name="Network",
        subtype="FILE_PATH",
        description="A trained network for Network methods (empty: the shipped model)",
    )
    seed: IntProperty(name="Seed", default=0, min=0, description="Seeds the Gaussians and fits")
    person: IntProperty(
        name="Person",
        default=-1,
        min=-1,
        description="Which person in photos of several people (0 = leftmost); -1 refuses them",
    )
    allow_partial: BoolProperty(
        name="Allow Partial", description="Accept a person whose head or feet are cut off"
    )
    allow_mixed: BoolProperty(
        name="Allow Different People",
        description=(
            "Use photos that seem to show different people anyway: with several photos, the "
            "colours each photo gives the same parts of the fitted body are compared, and "
            "photos that disagree (another person, or other clothes) are refused"
        ),
    )
    threads: IntProperty(
        name="Threads",
        default=0,
        min=0,
        description=(
            "CPU threads torch uses for this creation (0: torch's choice, one per core); on a "
            "machine busy with other work, 1 is often much faster"
        ),
    )
    output: StringProperty(
        name="Save As",
        subtype="FILE_PATH",
        description="The .lca file to write (empty: NAME.lca next to the first photo)",
    )

    @classmethod
    def poll(cls, context):
        if context.mode != "OBJECT":
            cls.poll_message_set("Switch to Object Mode to create an avatar.")
            return False
        return True

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def make_job(self, context) -> Job:
        folder = Path(bpy.path.abspath(self.directory))
        photos = tuple(folder / item.name for item in self.files if item.name)
        output = Path(bpy.path.abspath(self.output)) if self.output else default_output(photos)
        settings = CreateSettings(
            quality=self.quality,
            device=self.device,
            seed=self.seed,
            person=None if self.person < 0 else self.person,
            allow_partial=self.allow_partial,
            allow_mixed=self.allow_mixed,
            threads=self.threads or None,
            method=self.method,
            checkpoint=(
                Path(bpy.path.abspath(self.checkpoint))
                if self.checkpoint and self.method != "fit"
                else None
            ),
        )
        options = CreateOptions(photos=photos, output=output, settings=settings)
        route = create_route(addon_preferences())
        if route.problem is not None:
            raise LcaError(route.problem)
        check_options(options, in_worker=route.in_worker)
        if route.in_worker:
            return worker_job(options, route.python)
        return create_job(options)
