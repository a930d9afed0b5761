"""What an installed extension leaves registered in Blender, for checking that disabling it
leaves nothing behind. Shared by tests/addon (Blender 5.0, Python 3.11) and tests/blender52
(Blender 5.2, Python 3.13, no torch): it imports neither torch nor numpy, and bpy only inside
the functions (after each conftest.py has pointed BLENDER_USER_RESOURCES at a temporary
folder)."""

import os
import sys
import tempfile

CLASS_BASES = (
    "Operator",
    "Panel",
    "Menu",
    "PropertyGroup",
    "UIList",
    "AddonPreferences",
    "RenderEngine",
)


def registration_state(package: str) -> dict:
    """Everything an add-on can leave registered: handlers, classes, Object properties, the
    File > Import menu's draw functions, render engines added to Blender's panels, the
    ``lca`` command-line command, the extension's 3D Viewport draw handlers and sys.path
    entries holding its name. ``package``: the extension's package, bl_ext.<repo>.<id>."""
    import bpy

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
        "view3d_draw_handlers": len(view3d_draw_handles(package)),
        "sys_path": [entry for entry in sys.path if package.rsplit(".", 1)[1] in entry],
    }


def view3d_draw_handles(package: str) -> tuple:
    """The 3D Viewport draw handlers the extension holds (Blender keeps no list of them)."""
    module = sys.modules.get(f"{package}.lca_addon.viewport_draw")
    return module.draw_handles() if module is not None else ()


def draw_handler_is_gone(handle) -> bool:
    """Whether Blender no longer has the SpaceView3D draw handler ``handle``."""
    import bpy

    try:
        bpy.types.SpaceView3D.draw_handler_remove(handle, "WINDOW")
    except ValueError:  # "invalid or already removed"
        return True
    return False


def cli_command_registered(name: str) -> bool:
    """Whether a command-line command ``name`` is registered: Blender keeps no list, but it
    warns (on stderr, from C) when a second command of the same name is registered."""
    import bpy

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
