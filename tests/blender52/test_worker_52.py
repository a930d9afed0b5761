"""Blender 5.2 (bpy module, Python 3.13, no torch, no MediaPipe) with the lca environment set:
Create from Photos takes the worker route (`lca create` run by the environment's Python 3.11),
the Check button says the environment is ready, and the preferences say so. The import of the
worker's result still needs torch in Blender (until a torch-free import lands): the route says
that in its own sentence."""

import importlib
import sys
from pathlib import Path

import pytest

from tests.layout_recorder import RecordingLayout

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "bl_ext.user_default.lca_avatar"
LCA_ENV = ROOT / ".venv"


def raise_error(err: BaseException) -> None:
    raise err


def test_worker_route_is_available_with_a_valid_environment(monkeypatch):
    import bpy

    from lca_addon.build_extension import zip_name

    if not (LCA_ENV / "bin" / "python").is_file():
        pytest.skip(f"no lca environment at {LCA_ENV}; run `make` to build it")
    zip_path = ROOT / "dist" / zip_name(ROOT)
    if not zip_path.is_file():
        pytest.fail(f"{zip_path} is missing; run `make extension` first.")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the worker runs this repository's core
    addon_utils = importlib.import_module("addon_utils")
    assert sys.version_info[:2] == (3, 13)
    result = bpy.ops.extensions.package_install_files(
        repo="user_default", filepath=str(zip_path), enable_on_install=True
    )
    assert result == {"FINISHED"} and addon_utils.check(PACKAGE) == (True, True)
    module = lambda name: importlib.import_module(f"{PACKAGE}.lca_addon.{name}")  # noqa: E731
    prefs = module("preferences").addon_preferences()
    try:
        create_worker = module("create_worker")
        photo_problem = module("dependencies").missing_photo_dependency()
        assert "lca environment" in photo_problem  # points at the worker

        prefs.lca_environment = str(LCA_ENV)
        route = create_worker.create_route(prefs)
        assert route.in_worker and route.python.parent == LCA_ENV / "bin"
        assert route.problem == module("dependencies").missing_dependency()  # torch, to import

        assert bpy.ops.lca.check_lca_environment() == {"FINISHED"}
        found = module("worker_preferences").last_check(prefs)
        assert found.ok and "is ready: Python 3.11" in found.message

        layout = RecordingLayout()
        module("preferences").draw_preferences(prefs, layout)
        assert found.message in layout.texts
        assert (
            "Create from Photos runs `lca create` in a worker process with the lca environment."
            in layout.texts
        )
    finally:
        prefs.lca_environment = ""
        addon_utils.disable(PACKAGE, default_set=True, handle_error=raise_error)
