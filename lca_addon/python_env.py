"""Folders of Python packages the extension adds to ``sys.path``: the one "Install
Dependencies" fills, or the site-packages of an existing Python environment the user points
at, which must be built for this Python version (compiled modules of another version crash or
fail to import). Nothing here imports bpy.
"""

import importlib
import re
import sys
from pathlib import Path

_PATH_VERSION = re.compile(r"python(\d)\.(\d+)$", re.IGNORECASE)
_SO_VERSION = re.compile(r"\.cpython-(\d)(\d+)")
_PYD_VERSION = re.compile(r"\.cp(\d)(\d+)-")


def python_versions(folder: Path) -> set[tuple[int, int]]:
    """Python versions (major, minor) that ``folder``'s packages were built for, read from the
    path (``lib/python3.11/site-packages``) and from compiled modules (``*.cpython-311-*.so``,
    ``*.cp311-*.pyd``; abi3 modules fit any version). Wheel metadata is not read: some wheels'
    ``Tag:`` lines name another version than their file name. Empty when nothing tells."""
    found: set[tuple[int, int]] = set()
    for part in (folder, *folder.parents):
        match = _PATH_VERSION.search(part.name)
        if match:
            found.add((int(match[1]), int(match[2])))
            break
    for pattern in ("*.so", "*/*.so", "*.pyd", "*/*.pyd"):
        for path in folder.glob(pattern):
            match = _SO_VERSION.search(path.name) or _PYD_VERSION.search(path.name)
            if match:
                found.add((int(match[1]), int(match[2])))
    return found


def environment_problem(
    folder: Path, version: tuple[int, int] = (sys.version_info.major, sys.version_info.minor)
) -> str | None:
    """None when ``folder`` can go on sys.path of Python ``version``, else one sentence."""
    this = f"{version[0]}.{version[1]}"
    if not folder.is_dir():
        return (
            f"The Python environment folder '{folder}' does not exist; choose the site-packages "
            f"folder of a Python {this} environment."
        )
    others = sorted(v for v in python_versions(folder) if v != tuple(version))
    if others:
        built = " and ".join(f"{major}.{minor}" for major, minor in others)
        return (
            f"The folder '{folder}' holds packages built for Python {built}, but this Blender "
            f"runs Python {this}; choose the site-packages of a Python {this} environment."
        )
    return None


def use_folders(folders: list[Path], added: list[str]) -> None:
    """Put exactly ``folders`` (those that exist) at the end of sys.path, after Blender's own
    packages, replacing the folders put there before. ``added`` holds the entries put on
    sys.path so far (the caller's record) and is updated in place."""
    forget_folders(added)
    for folder in folders:
        entry = str(folder)
        if folder.is_dir() and entry not in sys.path:
            sys.path.append(entry)
            sys.path_importer_cache.pop(entry, None)
            added.append(entry)
    importlib.invalidate_caches()


def forget_folders(added: list[str]) -> None:
    """Take the entries of ``added`` (put there by :func:`use_folders`) off sys.path again;
    ``added`` is emptied."""
    while added:
        entry = added.pop()
        while entry in sys.path:
            sys.path.remove(entry)
        sys.path_importer_cache.pop(entry, None)
    importlib.invalidate_caches()
