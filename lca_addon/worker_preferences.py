"""The preferences' "Create from Photos" box: the `lca` environment (a folder or an
interpreter, ``lca_environment.py``), where creation runs (Automatic or Worker Process,
``create_worker.create_route``), and the Check button, which runs the environment and says in
one sentence what is missing or that it is ready. The properties themselves are declared on
``preferences.LcaPreferences``; this module draws them and holds the button."""

import dataclasses

import bpy

from . import extension_state
from .create_worker import create_route
from .lca_environment import check_environment


def last_check(prefs):
    """The last Check of the environment the preferences name now (None: not checked)."""
    state = extension_state.current()
    found = None if state is None else state.environment_check
    if found is None or prefs is None or found.path != prefs.lca_environment.strip():
        return None
    return found


def route_sentences(prefs) -> tuple[str, ...]:
    """Where Create from Photos runs now and what stops it, one sentence each (reads the
    settings and the last Check; runs nothing)."""
    route = create_route(prefs, check=False)
    if not route.in_worker:
        inside = "Create from Photos runs inside Blender (torch and MediaPipe are present)."
        return (route.problem or inside,)
    said = ["Create from Photos runs `lca create` in a worker process with the lca environment."]
    found = last_check(prefs)
    if found is not None and not found.ok:
        said.append(found.problem)
    if route.problem is not None:  # what importing its result lacks here
        said.append(route.problem)
    return tuple(said)


def draw_worker_preferences(prefs, layout) -> None:
    box = layout.box()
    box.label(text="Create from Photos")
    row = box.row()
    row.prop(prefs, "lca_environment")
    row.operator(LCA_OT_check_lca_environment.bl_idname, text="Check")
    box.prop(prefs, "create_in")
    found = last_check(prefs)
    if found is not None:
        box.label(text=found.message, icon="CHECKMARK" if found.ok else "ERROR")
    for sentence in route_sentences(prefs):
        box.label(text=sentence, icon="INFO")


def environment_description() -> str:
    return (
        "A Python 3.11 or 3.12 environment with LCA Avatar, torch and MediaPipe (such as the "
        ".venv that `make` builds): its folder or its interpreter; Create from Photos runs "
        "`lca create` there where Blender's own Python cannot"
    )


class LCA_OT_check_lca_environment(bpy.types.Operator):
    """Run the lca environment's Python, import what `lca create` needs and say what is
    missing (takes a few seconds)"""

    bl_idname = "lca.check_lca_environment"
    bl_label = "Check lca Environment"

    def execute(self, context):
        from .preferences import addon_preferences

        prefs = addon_preferences()
        setting = prefs.lca_environment.strip() if prefs is not None else ""
        found = check_environment(bpy.path.abspath(setting) if setting else "", full=True)
        found = dataclasses.replace(found, path=setting)
        state = extension_state.current()
        if state is not None:
            state.environment_check = found
        if found.ok:
            self.report({"INFO"}, found.message)
            return {"FINISHED"}
        self.report({"ERROR"}, found.problem)
        return {"CANCELLED"}
