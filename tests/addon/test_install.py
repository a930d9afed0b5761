"""The extension zip: what it holds, and installing, enabling and disabling it in Blender."""

import zipfile

import pytest

from tests.addon.util import BPY_MISSING, PACKAGE, install, raise_error

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)
import addon_utils  # noqa: E402  (a Blender module, importable once bpy is)

CLASS_BASES = (
    "Operator",
    "Panel",
    "Menu",
    "PropertyGroup",
    "UIList",
    "AddonPreferences",
    "RenderEngine",
)


def registration_state() -> dict:
    """Everything an add-on can leave registered: handlers, classes, Object properties, the
    File > Import menu's draw functions, render engines added to Blender's panels, and the
    ``lca`` command-line command."""
    handlers = bpy.app.handlers
    return {
        "handlers": {
            name: [repr(f) for f in getattr(handlers, name)]
            for name in dir(handlers)
            if isinstance(getattr(handlers, name), list)
        },
        "classes": {
            f"{cls.__module__}.{cls.__qualname__}"
            for base in CLASS_BASES
            for cls in getattr(bpy.types, base).__subclasses__()
            if getattr(cls, "is_registered", False)
        },
        "types": set(dir(bpy.types)),
        "object_properties": set(bpy.types.Object.bl_rna.properties.keys()),
        "import_menu": [
            repr(f) for f in getattr(bpy.types.TOPBAR_MT_file_import.draw, "_draw_funcs", [])
        ],
        "panels_for_engine": {
            panel.__name__
            for panel in bpy.types.Panel.__subclasses__()
            if "LCA_GAUSSIAN" in getattr(panel, "COMPAT_ENGINES", ())
        },
        "cli_command": cli_command_registered("lca"),
        "view3d_draw_handlers": len(view3d_draw_handles()),
    }


def view3d_draw_handles() -> tuple:
    """The 3D Viewport draw handlers the extension holds (Blender keeps no list of them)."""
    import sys

    module = sys.modules.get(f"{PACKAGE}.lca_addon.viewport_draw")
    return module.draw_handles() if module is not None else ()


def draw_handler_is_gone(handle) -> bool:
    """Whether Blender no longer has the SpaceView3D draw handler ``handle``."""
    try:
        bpy.types.SpaceView3D.draw_handler_remove(handle, "WINDOW")
    except ValueError:  # "invalid or already removed"
        return True
    return False


def cli_command_registered(name: str) -> bool:
    """Whether a command-line command ``name`` is registered: Blender keeps no list, but it
    warns (on stderr, from C) when a second command of the same name is registered."""
    import os
    import tempfile

    with tempfile.TemporaryFile(mode="w+") as capture:
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            handle = bpy.utils.register_cli_command(name, lambda argv: 0)
            bpy.utils.unregister_cli_command(handle)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        return "duplicate command" in capture.read()


def test_zip_holds_the_add_on_and_no_development_files(extension_zip):
    assert extension_zip.name == "lca_avatar-0.1.0.zip"
    names = zipfile.ZipFile(extension_zip).namelist()
    top = {name.split("/")[0] for name in names}
    assert {"core", "lca_addon", "__init__.py", "blender_manifest.toml"} <= top
    assert not top & {"tests", ".venv", ".cache", "out", "dist", ".git", "docs", "Makefile"}
    assert {"lca_addon/registration.py", "core/rig.py", "core/deform/binding.py"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith("build_extension.py")]


def test_install_enable_disable_leaves_nothing_behind(extension_zip):
    if addon_utils.check(PACKAGE)[1]:
        addon_utils.disable(PACKAGE, default_set=True, handle_error=raise_error)
    before = registration_state()

    install(extension_zip)  # package_install_files(..., enable_on_install=True)
    enabled = registration_state()
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
        (handle,) = view3d_draw_handles()
        addon_utils.disable(PACKAGE, default_set=True, handle_error=raise_error)
        assert addon_utils.check(PACKAGE) == (False, False)
        assert registration_state() == before
        assert draw_handler_is_gone(handle)
        addon_utils.enable(PACKAGE, default_set=True, handle_error=raise_error)
        assert addon_utils.check(PACKAGE) == (True, True)
        assert registration_state() == enabled
