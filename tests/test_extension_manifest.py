"""The Blender extension's manifest and entry point (the add-on itself is tested with bpy)."""

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_manifest_has_the_required_fields():
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    for key in (
        "schema_version",
        "id",
        "version",
        "name",
        "tagline",
        "maintainer",
        "type",
        "blender_version_min",
        "license",
    ):
        assert manifest.get(key), key
    assert manifest["type"] == "add-on"
    assert manifest["id"].isidentifier()
    assert tuple(int(x) for x in manifest["blender_version_min"].split(".")) >= (4, 2, 0)


def test_manifest_version_matches_the_package():
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert manifest["version"] == pyproject["project"]["version"]


def test_entry_point_defines_register_and_unregister():
    tree = ast.parse((ROOT / "__init__.py").read_text())
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert {"register", "unregister"} <= functions


def _core_imports():
    """(file, imported module name) of every import in core/, absolute or relative."""
    for path in (ROOT / "core").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                yield from ((path, a.name) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                yield path, node.module


def test_core_never_imports_bpy():
    for path, name in _core_imports():
        assert not (name == "bpy" or name.startswith("bpy.")), path


def test_core_never_imports_lca_addon():
    """``lca blender`` is found through an entry point (core/commands/blender.py)."""
    for path, name in _core_imports():
        assert "lca_addon" not in name.split("."), path


def test_manifest_range_includes_blender_5_3():
    """Blender 5.3 draws the avatar natively (GAUSSIAN_SPLAT): the range must include it
    (``blender_version_max`` is exclusive)."""
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    top = tuple(int(x) for x in manifest["blender_version_max"].split("."))
    assert top > (5, 3, 99)
