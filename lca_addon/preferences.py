"""Edit > Preferences > Add-ons > LCA Avatar: what the extension needs and whether it is
there, the "Install Dependencies" button (pinned torch, CPU or CUDA build, and the other
binary packages, and with "Also install photo reconstruction (MediaPipe)", on by default,
pinned MediaPipe for Create Avatar from Photos, all in one job into the extension's own user
folder), or an existing Python environment of the same Python version to use instead. Where
MediaPipe has no build for Blender's Python (3.13: Blender 5.1 and later) the option is shown
greyed out with the sentence saying so, and the install goes on without it.

The chosen folder goes on ``sys.path`` when the extension registers (:func:`register_folders`)
and comes off when it unregisters; ``pip_install.py`` does the installing and
``python_env.py`` the checking, neither touching bpy.
"""

import importlib.util
from pathlib import Path

import bpy
from bpy.props import BoolProperty, EnumProperty, StringProperty

from . import create_worker, dependencies, extension_state, pip_install, python_env
from .worker_preferences import draw_worker_preferences, environment_description

ADDON_PACKAGE = __package__.rpartition(".")[0]
"""The extension's package (``bl_ext.<repository>.lca_avatar``): its preferences' id."""

SITE_PACKAGES = "site-packages"
"""The folder, inside the extension's user folder, that Install Dependencies fills."""

BUILD_ITEMS = (
    ("cpu", "CPU", "The CPU build of torch (works everywhere; renders on the CPU)"),
    ("cu126", "CUDA 12.6", "torch for NVIDIA GPUs with a driver for CUDA 12.6 or later"),
    ("cu128", "CUDA 12.8", "torch for NVIDIA GPUs with a driver for CUDA 12.8 or later"),
    ("cu130", "CUDA 13.0", "torch for NVIDIA GPUs with a driver for CUDA 13.0 or later"),
)
assert tuple(item[0] for item in BUILD_ITEMS) == pip_install.BUILDS

POLL_SECONDS = 0.2
"""How often the install operator reads pip's output."""

PHOTOS_LABEL = "Also install photo reconstruction (MediaPipe)"


def install_folder(create: bool = False) -> Path:
    """The folder Install Dependencies fills (in Blender's user extensions folder)."""
    return Path(bpy.utils.extension_path_user(ADDON_PACKAGE, path=SITE_PACKAGES, create=create))


def addon_preferences():
    """This extension's preferences, or None while it has no entry in the user preferences."""
    addon = bpy.context.preferences.addons.get(ADDON_PACKAGE)
    return addon.preferences if addon is not None else None


def environment_folder(prefs) -> Path | None:
    """The Python environment the user points at, or None."""
    text = prefs.environment_path.strip() if prefs is not None else ""
    return Path(bpy.path.abspath(text)) if text else None


def chosen_folder(prefs) -> Path | None:
    """The folder to put on sys.path: the environment when one is set and fits this Python,
    else the install folder (None when the environment is refused)."""
    environment = environment_folder(prefs)
    if environment is None:
        return install_folder()
    return None if python_env.environment_problem(environment) else environment


def apply_folders(prefs=None) -> None:
    """Put the chosen folder (only it) on sys.path, while the extension is registered."""
    state = extension_state.current()
    if state is None:
        return
    folder = chosen_folder(prefs if prefs is not None else addon_preferences())
    python_env.use_folders([folder] if folder is not None else [], state.path_entries)


def register_folders() -> None:
    apply_folders()


def unregister_folders() -> None:
    """Cancel an install in progress and take the folders off sys.path again."""
    state = extension_state.current()
    if state is None:
        return
    if state.install is not None:
        state.install.cancel()
        state.install = None
    python_env.forget_folders(state.path_entries)


def install_messages() -> tuple[str, ...]:
    """The last install's sentences (a warning about what it left out, then its result)."""
    state = extension_state.current()
    return () if state is None else tuple(state.install_messages)


def _running_install() -> pip_install.InstallJob | None:
    state = extension_state.current()
    return None if state is None else state.install


def _environment_changed(self, context) -> None:
    apply_folders(self)


def draw_preferences(prefs, layout) -> None:
    """The dependency check, the install button (or its progress) and the environment."""
    statuses = dependencies.check()
    problem = dependencies.missing_sentence(dependencies.missing_names(statuses))
    box = layout.box()
    if problem is None:
        box.label(text="Every package LCA Avatar needs is present.", icon="CHECKMARK")
    else:
        box.label(text=problem, icon="ERROR")
    grid = box.grid_flow(row_major=True, columns=3, even_columns=True)
    photo_statuses = dependencies.check(dependencies.PHOTO_REQUIREMENTS)
    for status in statuses + photo_statuses:
        name = status.requirement.distribution
        if status.present:
            grid.label(text=f"{name} {status.version}".strip(), icon="CHECKMARK")
        else:
            grid.label(text=f"{name}: missing", icon="CANCEL")
    photo_problem = dependencies.missing_photo_dependency()
    if photo_problem is not None:
        box.label(text=photo_problem, icon="INFO")

    box = layout.box()
    job = _running_install()
    if job is not None:
        box.progress(factor=job.fraction, type="BAR", text=f"{job.status} (Esc to cancel)")
    else:
        row = box.row()
        row.prop(prefs, "torch_build")
        row.operator(LCA_OT_install_dependencies.bl_idname, icon="IMPORT")
        row = box.row()
        row.enabled = dependencies.photo_python_problem() is None
        row.prop(prefs, "install_photos")
    box.label(text=f"Installs pinned packages into {install_folder()}")
    for message in install_messages():
        box.label(text=message, icon="INFO")

    box = layout.box()
    box.prop(prefs, "environment_path")
    environment = environment_folder(prefs)
    if environment is not None:
        refusal = python_env.environment_problem(environment)
        if refusal is not None:
            box.label(text=refusal, icon="ERROR")
    draw_worker_preferences(prefs, layout)


class LcaPreferences(bpy.types.AddonPreferences):
    """Dependencies: check, install, or an existing Python environment."""

    bl_idname = ADDON_PACKAGE

    torch_build: EnumProperty(
        name="torch Build",
        description="Which torch build Install Dependencies installs",
        items=BUILD_ITEMS,
        default="cpu",
    )
    install_photos: BoolProperty(
        name=PHOTOS_LABEL,
        description=(
            "Install Dependencies also installs MediaPipe 0.10.21 and its dependencies, pinned "
            "(about 240 MB), which Create Avatar from Photos needs to find the person in each "
            "photo; MediaPipe 0.10.21 has no build for Python 3.13 (Blender 5.1 and later)"
        ),
        default=True,
    )
    environment_path: StringProperty(
        name="Python Environment",
        description=(
            "The site-packages folder of an existing Python environment of Blender's Python "
            "version that has torch; empty: use the packages Install Dependencies installed"
        ),
        subtype="DIR_PATH",
        update=_environment_changed,
    )
    lca_environment: StringProperty(
        name="lca Environment", description=environment_description(), subtype="FILE_PATH"
    )
    create_in: EnumProperty(
        name="Create from Photos", items=create_worker.ROUTE_ITEMS, default=create_worker.AUTO
    )

    def draw(self, context):
        draw_preferences(self, self.layout)


class LCA_OT_install_dependencies(bpy.types.Operator):
    """Install pinned torch (the chosen build), the other packages LCA Avatar needs and, when
    ticked, MediaPipe for photo reconstruction into the extension's own folder (Esc cancels)"""

    bl_idname = "lca.install_dependencies"
    bl_label = "Install Dependencies"

    @classmethod
    def poll(cls, context):
        if _running_install() is not None:
            cls.poll_message_set("An install is already running; wait for it or press Esc.")
            return False
        return True

    def _start(self) -> pip_install.InstallJob | None:
        if importlib.util.find_spec("pip") is None:
            self.report({"ERROR"}, "This Blender's Python has no pip; reinstall Blender.")
            return None
        prefs = addon_preferences()
        build = prefs.torch_build if prefs is not None else "cpu"
        photos = prefs.install_photos if prefs is not None else True
        self._notes = []
        problem = dependencies.photo_python_problem() if photos else None
        if problem is not None:  # said now, and the rest installed without it
            self.report({"WARNING"}, problem)
            self._notes.append(problem)
            photos = False
        steps = pip_install.install_steps(build, photos=photos)
        job = pip_install.start_install(install_folder(create=True), steps)
        state = extension_state.current()
        if state is not None:
            state.install = job
            state.install_messages[:] = self._notes
        return job

    def _end(self, result: pip_install.InstallResult) -> set[str]:
        state = extension_state.current()
        if state is not None:
            state.install = None
            state.install_messages[:] = [*self._notes, result.message]
        apply_folders()
        if result.ok:
            self.report({"INFO"}, result.message)
            return {"FINISHED"}
        self.report({"WARNING"} if result.cancelled else {"ERROR"}, result.message)
        return {"CANCELLED"}

    def execute(self, context):
        """Install and wait (scripts, background mode)."""
        job = self._start()
        if job is None:
            return {"CANCELLED"}
        try:
            result = job.wait()
        except KeyboardInterrupt:
            result = job.cancel()
        return self._end(result)

    def invoke(self, context, event):
        if bpy.app.background or context.window is None:
            return self.execute(context)
        self._job = self._start()
        if self._job is None:
            return {"CANCELLED"}
        manager = context.window_manager
        self._timer = manager.event_timer_add(POLL_SECONDS, window=context.window)
        manager.modal_handler_add(self)
        self._show(context)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC" and event.value == "PRESS":
            result = self._job.cancel()
        elif event.type == "TIMER":
            result = self._job.poll()
        else:
            return {"PASS_THROUGH"}
        if result is None:
            self._show(context)
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        self._show(context, done=True)
        return self._end(result)

    def _show(self, context, done: bool = False) -> None:
        job = self._job
        text = None if done else f"LCA Avatar: {job.status} {100 * job.fraction:.0f}% (Esc)"
        if context.workspace is not None:
            context.workspace.status_text_set(text)
        for window in context.window_manager.windows:
            for area in window.screen.areas:
                if area.type == "PREFERENCES":
                    area.tag_redraw()
