"""core/commands/blender.py: ``lca blender`` is found through the entry point group
"lca.commands" (the lca_addon package's), and says so in one sentence when it is missing."""

import argparse
from types import SimpleNamespace

import pytest

from core.commands import blender
from core.commands.main import main


def entry_points_with(module):
    """A stand-in for importlib.metadata.entry_points holding one ``blender`` entry point."""

    def entry_points(group, name):
        assert (group, name) == ("lca.commands", "blender")
        return [SimpleNamespace(load=lambda: module)] if module is not None else []

    return entry_points


def test_the_installed_command_is_found_and_run(monkeypatch, capsys):
    calls = []

    def add_parser(subparsers):
        p = subparsers.add_parser("blender", help="The fake Blender command.")
        p.add_argument("blender_args", nargs=argparse.REMAINDER)
        return p

    def run(args):
        calls.append(args.blender_args)
        return 0

    fake = SimpleNamespace(add_parser=add_parser, run=run)
    monkeypatch.setattr(blender, "entry_points", entry_points_with(fake))
    assert main(["blender", "render", "shot.blend", "--out", "frames"]) == 0
    assert blender.run_blender(["bench", "--repeats", "2"]) == 0
    assert calls == [["render", "shot.blend", "--out", "frames"], ["bench", "--repeats", "2"]]
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "The fake Blender command." in capsys.readouterr().out  # its help in `lca --help`


def test_without_the_package_lca_blender_says_so_in_one_sentence(monkeypatch, capsys):
    monkeypatch.setattr(blender, "entry_points", entry_points_with(None))
    with pytest.raises(SystemExit) as info:
        main(["blender", "--help"])
    assert info.value.code == 0 and "usage: lca blender" in capsys.readouterr().out
    assert main(["blender", "render", "shot.blend"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lca: error: `lca blender` needs the project's Blender package")
    assert "\n" not in err and err.count(". ") == 0 and err.endswith(".")
    assert main(["bench", "blender"]) == 2
    assert "lca_addon" in capsys.readouterr().err


def test_an_entry_point_whose_module_is_gone_counts_as_missing(monkeypatch):
    def gone():
        raise ModuleNotFoundError("No module named 'lca_addon'")

    monkeypatch.setattr(blender, "entry_points", lambda group, name: [SimpleNamespace(load=gone)])
    assert blender.bridge() is None
