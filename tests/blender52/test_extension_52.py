"""The extension zip (made by `make extension`) in Blender 5.2 (the bpy module, Python 3.13)
without torch: Blender's own build script accepts it, it installs and enables, says in one
sentence that torch is missing (panel, preferences, an operator's refusal), uses the pure
wheels it bundles, and disabling it leaves nothing behind."""

import importlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.installed_state import registration_state
from tests.layout_recorder import RecordingLayout

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "bl_ext.user_default.lca_avatar"


def one_sentence(message: str) -> bool:
    return message.endswith(".") and "\n" not in message and ". " not in message


@pytest.fixture(scope="module")
def extension_zip() -> Path:
    from lca_addon.build_extension import zip_name

    path = ROOT / "dist" / zip_name(ROOT)
    if not path.is_file():
        pytest.fail(f"{path} is missing; run `make extension` first.")
    return path


def raise_error(err: BaseException) -> None:
    raise err


def test_blender_52_validates_the_zip(extension_zip):
    from lca_addon.build_extension import blender_ext_script

    script = blender_ext_script()
    assert "/5.2/" in script.as_posix() or "/5.1/" in script.as_posix(), script
    result = subprocess.run(
        [sys.executable, str(script), "validate", str(extension_zip)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_extension_without_torch_on_blender_52(extension_zip, tmp_path):
    import bpy

    addon_utils = importlib.import_module("addon_utils")  # on sys.path once bpy is imported
    assert bpy.app.version >= (5, 1, 0) and sys.version_info[:2] == (3, 13)
    assert importlib.util.find_spec("torch") is None, "this test needs a Python without torch"
    before = registration_state(PACKAGE)

    result = bpy.ops.extensions.package_install_files(
        repo="user_default", filepath=str(extension_zip), enable_on_install=True
    )
    assert result == {"FINISHED"}
    assert addon_utils.check(PACKAGE) == (True, True)
    enabled = registration_state(PACKAGE)
    assert f"{PACKAGE}.lca_addon.preferences.LcaPreferences" in enabled["classes"]

    dependencies = importlib.import_module(f"{PACKAGE}.lca_addon.dependencies")
    problem = dependencies.missing_dependency()
    assert problem is not None and one_sentence(problem)
    assert "torch" in problem and "Python 3.13" in problem
    found = {status.requirement.module: status for status in dependencies.check()}
    assert found["roma"].present and found["trimesh"].present  # the bundled wheels
    assert found["numpy"].present and not found["torch"].present

    panels = importlib.import_module(f"{PACKAGE}.lca_addon.panels")
    layout = RecordingLayout()
    panels.LCA_PT_avatar.draw(type("Panel", (), {"layout": layout})(), bpy.context)
    assert problem in layout.texts

    preferences = importlib.import_module(f"{PACKAGE}.lca_addon.preferences")
    layout = RecordingLayout()
    preferences.draw_preferences(bpy.context.preferences.addons[PACKAGE].preferences, layout)
    assert problem in layout.texts and "torch: missing" in layout.texts
    assert "lca.install_dependencies" in layout.texts

    with pytest.raises(RuntimeError, match=re.escape(problem)):
        bpy.ops.lca.import_avatar(filepath=str(tmp_path / "any.lca"))

    addon_utils.disable(PACKAGE, default_set=True, handle_error=raise_error)
    assert addon_utils.check(PACKAGE) == (False, False)
    assert registration_state(PACKAGE) == before
    assert not [entry for entry in sys.path if "lca_avatar" in entry and "site-packages" in entry]
