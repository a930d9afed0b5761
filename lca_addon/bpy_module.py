"""``lca blender ...``: the extension's command-line commands run with the bpy module.

The bpy module cannot run ``blender -c``, so ``lca blender`` (``blender_command.py``, imported
as the top-level package lca_addon, not as the running extension) calls :func:`run_command`,
which

1. imports bpy (Blender as a Python module);
2. enables the extension from the checkout, as a developer would: a temporary extension
   repository whose only entry, ``lca_avatar``, links to the checkout (Blender's
   ``bl_ext.lca_checkout.lca_avatar``), after disabling any other copy of the extension
   for this process;
3. calls the extension's ``commands.run``, the callback ``blender -c lca`` runs;
4. disables the extension and removes the repository again (on Blender 4.5 and later; in
   4.2 the repository stays in this process's preferences until it ends).

Nothing is saved to Blender's preferences.
"""

import importlib
import shutil
import sys
import tempfile
from pathlib import Path

REPOSITORY = "lca_checkout"
"""Module name of the temporary extension repository."""

EXTENSION_ID = "lca_avatar"
"""The manifest's id: the extension's folder name inside a repository."""


def run_command(argv: list[str], checkout: Path, prog: str = "lca blender") -> int:
    """Run ``argv`` (e.g. ["render", "shot.blend", "--out", "frames"]) as
    ``blender -c lca`` would; returns its exit code. ImportError when bpy is missing."""
    import bpy

    addon_utils = importlib.import_module("addon_utils")  # on sys.path once bpy is imported

    folder = Path(tempfile.mkdtemp(prefix="lca-checkout-"))
    (folder / EXTENSION_ID).symlink_to(Path(checkout).resolve(), target_is_directory=True)
    repos = bpy.context.preferences.extensions.repos
    repo = repos.new(
        name="LCA checkout", module=REPOSITORY, custom_directory=str(folder), source="USER"
    )
    package = f"bl_ext.{REPOSITORY}.{EXTENSION_ID}"
    others = [
        name
        for name in bpy.context.preferences.addons.keys()
        if name.endswith(f".{EXTENSION_ID}") and name != package
    ]
    errors: list[BaseException] = []
    try:
        for name in others:
            addon_utils.disable(name, default_set=False)
        addon_utils.enable(package, default_set=False, handle_error=errors.append)
        if errors or not addon_utils.check(package)[1]:
            reason = f" ({errors[0]})" if errors else ""
            print(
                f"{prog}: error: the extension in {checkout} did not load{reason}.", file=sys.stderr
            )
            return 1
        commands = importlib.import_module(f"{package}.lca_addon.commands")
        return commands.run(list(argv), prog=prog)
    finally:
        if addon_utils.check(package)[1]:
            addon_utils.disable(package, default_set=False)
        if bpy.app.version >= (4, 5, 0):  # 4.2's bpy segfaults at exit once this unloads it
            repos.remove(repo)  # (4.3, 4.4 untested); the entry is never saved anyway
        shutil.rmtree(folder, ignore_errors=True)
        for name in others:
            addon_utils.enable(name, default_set=False)
