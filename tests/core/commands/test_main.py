import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from core.avatar.lca_file import save_lca
from core.avatar.ply import read_ply
from core.commands.main import main
from tests.synthetic import tiny_avatar

COMMANDS = [
    "render",
    "export-ply",
    "info",
    "face-capture",
    "bench",
    "demo",
    "upgrade",
    "warm",
    "create",
    "eval",
    "blender",
    "data",
    "train",
]


@pytest.fixture
def avatar_file(tmp_path) -> Path:
    path = tmp_path / "tiny.lca"
    save_lca(tiny_avatar(n=200, sh_degree=1), path)
    return path


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "usage: lca " + command in capsys.readouterr().out


def test_create_help_lists_the_shared_options(capsys):
    """`lca create` declares its options through core/commands/create_options.py, as the Blender
    command does (tests/addon/test_commands.py compares the two parsers)."""
    with pytest.raises(SystemExit):
        main(["create", "--help"])
    out = capsys.readouterr().out
    for option in ("--quality", "--person", "--allow-partial", "--allow-mixed", "--threads"):
        assert option in out
    assert "NAME.preview.png" in out


def test_info(avatar_file, capsys):
    assert main(["info", str(avatar_file)]) == 0
    out = capsys.readouterr().out
    assert "200 (SH degree 1)" in out and "anny" in out


def test_render_writes_every_pass(avatar_file, tmp_path):
    out = tmp_path / "frames"
    code = main(
        [
            "render",
            str(avatar_file),
            "--size",
            "48x32",
            "--out",
            str(out),
            "--camera",
            "front",
            "--camera",
            "orbit:90:10",
        ]
    )
    assert code == 0
    for stem in ("front", "orbit_90_10"):
        image = Image.open(out / f"{stem}.png")
        assert image.size == (48, 32) and image.mode == "RGBA"
        assert image.getextrema()[3][1] > 0  # something was drawn
        for suffix in ("_depth.png", "_normal.png", "_part.png", "_passes.npz"):
            assert (out / f"{stem}{suffix}").is_file()


def test_export_ply(avatar_file, tmp_path):
    target = tmp_path / "tiny.ply"
    assert main(["export-ply", str(avatar_file), "-o", str(target)]) == 0
    assert read_ply(target).count == 200


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("lca: error: ") and "\n" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["render", "{missing}", "--out", "{tmp}/o"], "does not exist"),
        (["render", "{jpeg}", "--out", "{tmp}/o"], "JPEG"),
        (["render", "{avatar}", "--out", "{tmp}/o", "--size", "12"], "WIDTHxHEIGHT"),
        (["render", "{avatar}", "--out", "{tmp}/o", "--camera", "top"], "Unknown camera"),
        (["render", "{avatar}", "--out", "{blocker}/o"], "choose a writable folder"),
        (["export-ply", "{avatar}", "-o", "{blocker}/x.ply"], "writable"),
        (["info", "{empty}"], "empty"),
        (["info"], "Nothing to show"),
        (["create", "{jpeg}", "-o", "{tmp}/me.ply"], "must be a .lca file"),
        (["create", "{jpeg}", "-o", "{tmp}/me.lca", "--threads", "0"], "--threads must be 1"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(args, expected, avatar_file, tmp_path, capsys):
    jpeg = tmp_path / "photo.lca"
    Image.new("RGB", (8, 8)).save(jpeg, format="JPEG")
    empty = tmp_path / "empty.lca"
    empty.write_bytes(b"")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    names = {
        "missing": tmp_path / "none.lca",
        "jpeg": jpeg,
        "avatar": avatar_file,
        "tmp": tmp_path,
        "blocker": blocker,
        "empty": empty,
    }
    argv = [a.format(**names) for a in args]
    assert main(argv) == 2
    assert expected in _error_line(capsys)
    assert not any(p.name.endswith(".tmp") for p in tmp_path.rglob("*"))


def test_bad_pose_preset_names_the_choices(avatar_file, tmp_path, capsys):
    from core.body.anny_body import anny_cache_is_warm

    if not anny_cache_is_warm():
        pytest.skip("Anny's cache is cold; run `make test` (it builds the cache first).")
    code = main(["render", str(avatar_file), "--out", str(tmp_path), "--pose", "moonwalk"])
    assert code == 2
    assert "Unknown pose preset 'moonwalk'" in _error_line(capsys)


def test_console_exit_code_and_no_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "core.commands", "info", str(tmp_path / "nope.lca")],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert result.returncode == 2
    assert result.stderr.startswith("lca: error: ") and "Traceback" not in result.stderr
