"""Helpers for the add-on tests (bpy is imported inside the functions, after conftest.py has
pointed BLENDER_USER_RESOURCES at a temporary folder)."""

import importlib
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "bl_ext.user_default.lca_avatar"
"""The extension's package inside Blender: bl_ext.<repository>.<manifest id>."""

BPY_MISSING = "the bpy module is not installed (pip install bpy==5.0.1, Python 3.11)"


@dataclass(frozen=True)
class Extension:
    """The installed, enabled extension."""

    package: str

    def module(self, name: str):
        """The extension's module ``name``, e.g. "lca_addon.scene_build" or "core.rig"."""
        return importlib.import_module(f"{self.package}.{name}")


def raise_error(err: BaseException) -> None:
    """``handle_error`` for addon_utils: fail the test instead of printing."""
    raise err


def install(zip_path: Path) -> None:
    """Install the zip into the user_default repository and enable it, as a user would."""
    import addon_utils
    import bpy

    result = bpy.ops.extensions.package_install_files(
        repo="user_default", filepath=str(zip_path), enable_on_install=True
    )
    assert result == {"FINISHED"}
    assert addon_utils.check(PACKAGE) == (True, True)


def is_installed() -> bool:
    import bpy

    folder = Path(bpy.utils.user_resource("EXTENSIONS")) / "user_default" / "lca_avatar"
    return folder.is_dir()


def scene_counts() -> dict[str, int]:
    """How many datablocks of each kind the file holds (to check that nothing was added)."""
    import bpy

    kinds = ("objects", "meshes", "armatures", "collections", "shape_keys")
    return {kind: len(getattr(bpy.data, kind)) for kind in kinds}
