"""The extension zip: what it holds, and installing, enabling and disabling it in Blender."""

import zipfile

import pytest

from tests.addon.util import BPY_MISSING, PACKAGE, install, raise_error
from tests.installed_state import draw_handler_is_gone, registration_state, view3d_draw_handles

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)
import addon_utils  # noqa: E402  (a Blender module, importable once bpy is)


def test_zip_holds_the_add_on_and_no_development_files(extension_zip):
    assert extension_zip.name == "lca_avatar-0.1.0.zip"
    names = zipfile.ZipFile(extension_zip).namelist()
    top = {name.split("/")[0] for name in names}
    assert {"core", "lca_addon", "__init__.py", "blender_manifest.toml"} <= top
    assert not top & {"tests", ".venv", ".cache", "out", "dist", ".git", "docs", "Makefile"}
    shipped = {"lca_addon/registration.py", "core/rig.py", "core/deform/binding.py"}
    assert shipped | {"core/body/anny_landmarks.json"} <= set(names)  # data files too
    assert not [n for n in names if "__pycache__" in n or n.endswith("build_extension.py")]


def test_install_enable_disable_leaves_nothing_behind(extension_zip):
    if addon_utils.check(PACKAGE)[1]:
        addon_utils.disable(PACKAGE, default_set=True, handle_error=raise_error)
    before = registration_state(PACKAGE)

    install(extension_zip)  # package_install_files(..., enable_on_install=True)
    enabled = registration_state(PACKAGE)
    added = enabled["classes"] - before["classes"]
    assert {name.rsplit(".", 1)[1] for name in added} == {
        "LcaPreferences",
        "LCA_OT_install_dependencies",
        "LcaFloatItem",
        "LcaTextItem",
        "LcaShapeKeyTarget",
        "LcaAvatarProperties",
        "LCA_OT_import_avatar",
        "LCA_OT_create_avatar",
        "LCA_PT_avatar",
        "LCA_PT_motion",
        "LCA_OT_import_motion",
        "LCA_OT_import_face",
        "LCA_OT_check_lca_environment",
        "LCA_OT_convert_to_splats",
        "LCA_RenderEngine",
    }
    assert all(name.startswith(PACKAGE) for name in added)
    assert enabled["object_properties"] - before["object_properties"] == {"lca_avatar"}
    assert len(enabled["import_menu"]) == len(before["import_menu"]) + 1
    assert hasattr(bpy.ops.lca, "import_avatar")
    assert enabled["cli_command"] and not before["cli_command"]
    assert {"RENDER_PT_format", "DATA_PT_lens"} <= enabled["panels_for_engine"]
    assert not before["panels_for_engine"]
    assert enabled["view3d_draw_handlers"] == 1 and not before["view3d_draw_handlers"]

    # Disable, enable, disable, enable (left enabled for the other tests): each disable
    # restores exactly what was there before, each enable what the install registered.
    for _ in range(2):
        (handle,) = view3d_draw_handles(PACKAGE)
        addon_utils.disable(PACKAGE, default_set=True, handle_error=raise_error)
        assert addon_utils.check(PACKAGE) == (False, False)
        assert registration_state(PACKAGE) == before
        assert draw_handler_is_gone(handle)
        addon_utils.enable(PACKAGE, default_set=True, handle_error=raise_error)
        assert addon_utils.check(PACKAGE) == (True, True)
        assert registration_state(PACKAGE) == enabled
