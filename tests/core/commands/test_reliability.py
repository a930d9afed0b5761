"""Issue 16's reproductions (items 4-8, 11 and 12) through ``core.commands.main.main``, in
process: each exits 2 with one line on stderr that echoes no more than a bounded part of its
input, and leaves nothing behind (no output folder, no output file, no temporary file)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.avatar.lca_file import save_lca
from core.commands import main as main_module
from core.commands.main import EXIT_BROKEN_PIPE, main
from tests.synthetic import tiny_avatar

ROOT = Path(__file__).resolve().parents[3]
K = [[100.0, 0, 32], [0, 100.0, 24], [0, 0, 1]]
W2C = [[1.0, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 3], [0, 0, 0, 1]]

INPUTS = {
    "pose_string.json": {"bones": {"head": [0, "90", 0]}},
    "pose_nan.json": {"bones": {"head": [0, float("nan"), 0]}},
    "pose_list.json": {"bones": [1, 2, 3]},
    "cam_zero.json": {"K": [[0, 0, 0]] * 3, "world_to_camera": W2C},
    "cam_huge.json": {"K": K, "world_to_camera": W2C, "width": 100000, "height": 100000},
    "cam_shear.json": {"K": K, "world_to_camera": [[1, 1, 0, 0], *W2C[1:]]},
}
"""Files the reproductions read, by name (JSON written with NaN as Python writes it)."""

LONG = "a" * 292  # with ".ply", 296 characters
DIGITS = "9" * 4000

BODY = "body"  # rows marked so need the Anny body model (posing)
CASES = [
    # item 4: poses
    (["render", "{avatar}", "--pose", "arm-raise:nan", "--out", "{out}"], "Pose weight", BODY),
    (["render", "{avatar}", "--pose", "arm-raise:inf", "--out", "{out}"], "Pose weight", BODY),
    (["export-ply", "{avatar}", "--pose", "arm-raise:nan", "-o", "{out}.ply"], "weight", BODY),
    (["render", "{avatar}", "--pose", "{dir}/pose_string.json", "--out", "{out}"], "number", BODY),
    (["render", "{avatar}", "--pose", "{dir}/pose_nan.json", "--out", "{out}"], "finite", BODY),
    (["render", "{avatar}", "--pose", "{dir}/pose_list.json", "--out", "{out}"], "'bones'", BODY),
    (["render", "{avatar}", "--pose", "{dir}/pose_deep.json", "--out", "{out}"], "deeply", BODY),
    # item 5: cameras
    (["render", "{avatar}", "--camera", "{dir}/cam_zero.json", "--out", "{out}"], "focal", None),
    (["render", "{avatar}", "--camera", "{dir}/cam_huge.json", "--out", "{out}"], "16384", None),
    (["render", "{avatar}", "--camera", "{dir}/cam_shear.json", "--out", "{out}"], "rigid", None),
    (["render", "{avatar}", "--size", "100000x100000", "--out", "{out}"], "16384", None),
    # item 6: names too long
    (["export-ply", "{avatar}", "-o", "{dir}/" + LONG + ".ply"], "shorter name", None),
    (["render", "{avatar}", "--out", "{dir}/" + LONG], "shorter one", None),
    (["create", "{dir}/photo.jpg", "-o", "{dir}/" + LONG + ".lca"], "shorter name", None),
    (["create", "{dir}/photo.jpg", "-o", "{dir}/" + "p" * 246 + ".lca"], "shorter name", None),
    # item 8: every argument before anything is written
    (
        ["render", "{avatar}", "--camera", "front", "--camera", "orbit:abc", "--out", "{out}"],
        "orbit:AZIMUTH",
        None,
    ),
    (["render", "{dir}/missing.lca", "--out", "{out}"], "does not exist", None),
    (["render", "{dir}/photo.jpg", "--out", "{out}"], "", None),
    (
        ["render", "{avatar}", "--camera", "face", "--camera", "hand.L", "--out", "{out}"],
        "hand.L",
        None,
    ),
    (["render", "{avatar}", "--pose", "moonwalk", "--out", "{out}"], "moonwalk", BODY),
    (["export-ply", "{dir}/missing.lca", "-o", "{out}.ply"], "does not exist", None),
    (["export-ply", "{avatar}", "-o", "{dir}"], "is a folder", None),
    (["eval", "--sample", "sideways", "--out", "{out}"], "sideways", None),
    (["eval", "--train", "{dir}/photo.jpg", "--out", "{out}"], "not an image file", None),
    (["demo", "--frames", "0", "--out", "{out}"], "--frames", None),
    (["demo", "--photo", "{dir}/missing.jpg", "--out", "{out}"], "missing.jpg", None),
    # item 12: bounded echoes
    (["render", "{avatar}", "--pose", "arm-raise:" + DIGITS, "--out", "{out}"], "...", BODY),
    (["render", "{avatar}", "--camera", "orbit:" + DIGITS + "x", "--out", "{out}"], "...", None),
    (["render", "{avatar}", "--camera", "\x1b[31m" + DIGITS, "--out", "{out}"], "\\x1b", None),
    (["render", "{avatar}", "--size", DIGITS + "x1", "--out", "{out}"], "...", None),
    (["render", "{avatar}", "--pose", "x" * 4000, "--out", "{out}"], "...", BODY),
]


@pytest.fixture
def inputs(tmp_path) -> dict[str, Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    save_lca(tiny_avatar(n=200, sh_degree=1), folder / "tiny.lca")
    for name, data in INPUTS.items():
        (folder / name).write_text(json.dumps(data))
    (folder / "pose_deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "photo.jpg").write_bytes(b"\xff\xd8 not really a photo")
    return {"avatar": folder / "tiny.lca", "dir": folder, "out": tmp_path / "out"}


@pytest.mark.parametrize(("args", "expected", "needs"), CASES)
def test_each_reproduction_is_one_sentence_and_leaves_nothing(
    args, expected, needs, inputs, tmp_path, capsys
):
    if needs == BODY:
        from core.body.anny_body import anny_cache_is_warm

        if not anny_cache_is_warm():
            pytest.skip("Anny's cache is cold; run `make test` (it builds the cache first).")
    before = sorted(p.name for p in inputs["dir"].iterdir())
    argv = [a.format(**{k: str(v) for k, v in inputs.items()}) for a in args]
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    lines = [line for line in err.splitlines() if not line.rstrip().endswith("%")]
    assert len(lines) == 1 and lines[0].startswith("lca: error: "), err
    assert expected in lines[0] and "Traceback" not in err
    assert len(lines[0]) < 400, len(lines[0])  # no 4,181-character line
    assert lines[0].isprintable()
    assert not inputs["out"].exists() and not Path(f"{inputs['out']}.ply").exists()
    assert sorted(p.name for p in inputs["dir"].iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["in"]


def test_a_closed_pipe_ends_quietly(inputs, monkeypatch, capsys):
    """Item 7, in process: a stdout whose reader went away."""

    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            raise io.UnsupportedOperation("no descriptor")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["info", str(inputs["avatar"])]) == EXIT_BROKEN_PIPE
    assert capsys.readouterr().err == ""


def test_a_closed_pipe_ends_quietly_in_a_real_process(inputs):
    """Item 7: `lca info AVATAR | head -1`, with the reader gone before the first line."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "core.commands", "info", str(inputs["avatar"])],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    finally:
        os.close(write)
    assert result.returncode == EXIT_BROKEN_PIPE
    assert result.stderr == ""


def test_the_exit_codes_are_distinct():
    codes = {main_module.EXIT_BAD_INPUT, main_module.EXIT_INTERRUPTED, EXIT_BROKEN_PIPE}
    assert len(codes) == 3


def test_a_legal_250_byte_name_is_written(inputs, capsys):
    """Item 6: the name is legal, so only the temporary name had to shrink."""
    target = inputs["dir"] / ("b" * 246 + ".ply")
    assert main(["export-ply", str(inputs["avatar"]), "-o", str(target)]) == 0
    assert target.is_file()
    assert not any(p.name.endswith(".tmp") for p in inputs["dir"].iterdir())
