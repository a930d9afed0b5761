"""The layers of docs/core-map.md, read from the code's own imports: each file of core
imports only from its layer and the layers before it, never bpy, never lca_addon."""

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "core"

LAYERS = {
    "errors": 1,
    "progress": 1,
    "progress_events": 1,
    "quaternion": 1,
    "fileio": 1,
    "body": 2,
    "render": 2,
    "create_settings": 2,
    "avatar": 3,
    "images": 3,
    "video": 3,
    "deform": 4,
    "posing": 5,
    "model": 5,
    "rig": 6,
    "recon": 6,
    "motion": 6,
    "demo": 7,
    "bench": 7,
    "fuzz": 7,
    "train": 7,
    "commands": 8,
}
"""Top-level part of core (a package or a module) -> its layer in docs/core-map.md."""

APART = {("body", "render"), ("render", "body"), ("avatar", "images"), ("images", "avatar")}
"""Parts of one layer that must not import each other."""


def _part(path: Path) -> str:
    return path.relative_to(CORE).parts[0].removesuffix(".py")


def _imports(path: Path) -> list[str]:
    """Every module ``path`` imports, absolute (``core.render.sh``, ``torch``), including
    imports inside functions and under TYPE_CHECKING."""
    package = ["core", *path.relative_to(CORE).parent.parts]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found.append(module)
            if node.module is None:  # from . import x, y
                found += [f"{module}.{alias.name}" for alias in node.names]
    return found


FILES = sorted(p for p in CORE.rglob("*.py") if p.name != "__init__.py" or p.parent != CORE)


def test_every_part_of_core_has_a_layer():
    parts = {_part(p) for p in FILES}
    assert parts == set(LAYERS)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORE)))
def test_imports_run_down_the_layers(path):
    own = _part(path)
    wrong = []
    for module in _imports(path):
        top = module.split(".")[0]
        if top in ("bpy", "lca_addon", "bl_ext"):
            wrong.append(module)
            continue
        if top != "core" or module == "core" or module.split(".")[1] == own:
            continue
        other = module.split(".")[1]
        if other not in LAYERS:
            continue  # a name of core/__init__.py (__version__); every part has a layer (above)
        if LAYERS[other] > LAYERS[own] or (own, other) in APART:
            wrong.append(module)
    assert wrong == [], f"{path.relative_to(CORE)} imports {wrong} against docs/core-map.md"


def test_the_check_sees_a_wrong_import(tmp_path, monkeypatch):
    """The walk above finds an upward import inside a function (it cannot pass vacuously)."""
    fake = tmp_path / "core" / "avatar" / "bad.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("def f():\n    from ..deform.binding import deform_gaussians\n")
    monkeypatch.setattr(f"{__name__}.CORE", tmp_path / "core")
    with pytest.raises(AssertionError, match="deform"):
        test_imports_run_down_the_layers(fake)
