"""lca_addon/blender_command.py: the ``lca blender`` command the entry point names, bpy-free
until it runs (bpy_module.run_command is replaced here; test_commands.py runs it for real)."""

import argparse
from pathlib import Path

import pytest

from core.errors import LcaError
from lca_addon import blender_command

ROOT = Path(__file__).resolve().parents[2]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lca")
    blender_command.add_parser(parser.add_subparsers())
    return parser.parse_args(["blender", *argv])


def test_run_hands_the_command_line_and_the_checkout_to_the_bpy_module(monkeypatch):
    from lca_addon import bpy_module

    seen = []

    def run_command(argv, checkout):
        seen.append((argv, checkout))
        return 3

    monkeypatch.setattr(bpy_module, "run_command", run_command)
    assert blender_command.run(parse("render", "shot.blend", "--out", "frames")) == 3
    assert seen == [(["render", "shot.blend", "--out", "frames"], ROOT)]


def test_a_missing_bpy_module_is_one_sentence(monkeypatch):
    from lca_addon import bpy_module

    def run_command(argv, checkout):
        raise ImportError("No module named 'bpy'")

    monkeypatch.setattr(bpy_module, "run_command", run_command)
    with pytest.raises(LcaError, match=r"needs the bpy module .*pip install bpy==5\.0\.1"):
        blender_command.run(parse("render", "shot.blend"))


def test_importing_it_imports_no_bpy_and_no_core():
    """It is imported as the top-level lca_addon; nothing of Blender or core loads with it."""
    import subprocess
    import sys

    code = (
        "import sys, lca_addon.blender_command; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('bpy', 'core')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
