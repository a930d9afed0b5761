"""ARKit face curves: Live Link Face CSV and JSON in, Live Link Face CSV out, every bad input
refused with one sentence."""

import csv
import json
import math
from pathlib import Path

import pytest
import torch

from core.errors import LcaError
from core.motion.arkit_names import HEAD_NAMES, LIVE_LINK_NAMES, canonical_name, pascal_name
from core.motion.face_curves import (
    LIVE_LINK_UNIT,
    FaceCurves,
    read_face_curves,
    write_live_link_csv,
)

FACE_ARKIT = (Path(__file__).resolve().parents[3] / ".." / "shared" / "face_arkit").resolve()
REAL = FACE_ARKIT / "llf_jmtechart_MySlate_3.csv"
HEADER = ["Timecode", "BlendShapeCount", *map(pascal_name, LIVE_LINK_NAMES), *HEAD_NAMES]


def _real() -> Path:
    if not REAL.is_file():
        pytest.skip(f"shared face curves not found at {REAL}")
    return REAL


def _csv(tmp_path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    path = tmp_path / "take.csv"
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


def _row(frame: int, value: str = "0.25") -> list[str]:
    return [f"00:00:{frame // 60:02d}:{frame % 60:02d}.000", "61"] + [value] * 61


def test_names_are_recognised_in_every_spelling():
    for spelling in ("eyeBlinkLeft", "EyeBlinkLeft", "eyeblinkleft", "eyeBlink_L", " EyeBlink_L"):
        assert canonical_name(spelling) == "eyeBlinkLeft"
    assert canonical_name("mouth_R") == "mouthRight"
    assert canonical_name("HeadYaw") is None
    assert canonical_name("blink") is None


def test_real_live_link_face_file_reads_exactly():
    path = _real()
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    curves = read_face_curves(path)
    assert curves.frames == len(body) == 328
    assert curves.fps == 60.0
    assert curves.unknown == ()
    assert curves.names == LIVE_LINK_NAMES
    expected = torch.tensor([[float(x) for x in r[2:54]] for r in body], dtype=torch.float64)
    assert torch.equal(curves.weights, expected)
    rotations = torch.tensor([[float(x) for x in r[54:63]] for r in body], dtype=torch.float64)
    assert header[54:63] == list(HEAD_NAMES)
    assert torch.equal(curves.head, rotations * LIVE_LINK_UNIT)


def test_real_file_written_back_matches_cell_for_cell(tmp_path):
    path = _real()
    out = tmp_path / "again.csv"
    write_live_link_csv(read_face_curves(path), out)
    original = [r[1:] for r in csv.reader(path.open(newline=""))]
    written = [r[1:] for r in csv.reader(out.open(newline=""))]
    assert written == original  # every cell but the timecode, byte for byte
    assert read_face_curves(out).fps == 60.0


def test_expression_frames_follow_the_body_order():
    weights = torch.tensor([[0.6, 1.0]], dtype=torch.float64)
    curves = FaceCurves(("jawOpen", "eyeBlinkLeft"), weights, None, 30.0)
    out = curves.expression_frames(("eyeBlinkLeft", "browInnerUp", "jawOpen"))
    assert out.tolist() == [[1.0, 0.0, 0.6]]


@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_write_then_read_gives_the_same_curves(tmp_path, fps):
    gen = torch.Generator().manual_seed(3)
    T = int(fps) + 12  # crosses a second boundary, so the rate is in the timecodes
    weights = torch.rand(T, 52, generator=gen, dtype=torch.float64)
    weights[0, :4] = torch.tensor([0.0, 1.0, 0.3, 0.7], dtype=torch.float64)
    head = (torch.rand(T, 9, generator=gen, dtype=torch.float64) - 0.5) * 0.8
    curves = FaceCurves(LIVE_LINK_NAMES, weights, head, fps)
    path = tmp_path / "curves.csv"
    write_live_link_csv(curves, path)
    back = read_face_curves(path)
    assert back.fps == fps
    assert back.names == LIVE_LINK_NAMES
    assert torch.equal(back.weights, weights)  # exact
    assert torch.allclose(back.head, head, rtol=1e-13, atol=1e-15)
    assert path.read_text().splitlines()[1].split(",")[2:6] == [
        "0.0000000000", "1.0000000000", "0.3000000000", "0.7000000000"
    ]  # fmt: skip


def test_short_clip_takes_the_frame_rate_argument(tmp_path):
    path = _csv(tmp_path, [_row(0), _row(1), _row(2)])
    assert read_face_curves(path).fps == 60.0
    assert read_face_curves(path, fps=30).fps == 30.0


def test_variant_names_import_and_unknown_columns_are_listed(tmp_path):
    header = ["Timecode", "eyeBlink_L", "jawOpen", "Mood", "HeadYaw"]
    path = _csv(tmp_path, [["00:00:00:01", "1", "0.5", "happy", "0.5"]], header)
    curves = read_face_curves(path)
    assert curves.names == ("eyeBlinkLeft", "jawOpen")
    assert curves.unknown == ("Mood",)
    assert curves.weights.tolist() == [[1.0, 0.5]]
    assert curves.head[0, 0].item() == pytest.approx(math.pi / 4)
    assert curves.head[0, 1:].abs().sum().item() == 0.0


def test_json_form(tmp_path):
    path = tmp_path / "curves.json"
    frames = [{"jawOpen": 0.3, "eyeBlink_R": 1}, {"jawOpen": 0.5, "HeadYaw": 0.2, "note": 1}]
    path.write_text(json.dumps({"fps": 30, "frames": frames}))
    curves = read_face_curves(path)
    assert curves.fps == 30.0
    assert curves.names == ("jawOpen", "eyeBlinkRight")
    assert curves.weights.tolist() == [[0.3, 1.0], [0.5, 0.0]]
    assert curves.head[:, 0].tolist() == [0.0, 0.2]
    assert curves.unknown == ("note",)


def _refused(path: Path, *words: str, fps: float | None = None) -> str:
    with pytest.raises(LcaError) as err:
        read_face_curves(path, fps=fps)
    message = str(err.value)
    assert message.count(". ") == 0 and message.endswith((".", ".}.")), message
    for word in words:
        assert word in message, message
    return message


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    _refused(path, "is empty")
    path.write_text("\n \n")
    _refused(path, "is empty")


def test_missing_file_is_refused(tmp_path):
    _refused(tmp_path / "nope.csv", "does not exist")
    _refused(tmp_path, "is a folder")


def test_missing_timecode_is_refused(tmp_path):
    path = _csv(tmp_path, [_row(0)[1:]], HEADER[1:])
    _refused(path, "no Timecode column")


def test_no_known_column_is_refused(tmp_path):
    path = _csv(tmp_path, [["00:00:00:00", "1", "2"]], ["Timecode", "Smile", "Frown"])
    _refused(path, "no ARKit blendshape column")


def test_duplicate_column_is_refused(tmp_path):
    path = _csv(tmp_path, [["00:00:00:00", "1", "2"]], ["Timecode", "jawOpen", "JawOpen"])
    _refused(path, "two columns for jawOpen")


def test_header_without_frames_is_refused(tmp_path):
    _refused(_csv(tmp_path, []), "no frames")


def test_non_numeric_cell_names_row_and_column(tmp_path):
    row = _row(1)
    row[2 + LIVE_LINK_NAMES.index("jawOpen")] = "abc"
    path = _csv(tmp_path, [_row(0), row])
    _refused(path, "line 3", "'JawOpen'", "'abc'", "not a number")


def test_non_finite_value_is_refused(tmp_path):
    for bad in ("nan", "inf", "-Infinity", "1e999"):
        row = _row(0)
        row[5] = bad
        _refused(_csv(tmp_path, [row]), "line 2", "not a finite number")


def test_broken_timecode_names_the_row(tmp_path):
    for bad in ("00:00:01", "xx:00:00:00", "00:61:00:00", ""):
        row = _row(1)
        row[0] = bad
        _refused(_csv(tmp_path, [_row(0), row]), "line 3", "not HH:MM:SS:FF")


def test_ragged_row_is_refused(tmp_path):
    _refused(_csv(tmp_path, [_row(0)[:-3]]), "line 2", "cells")


def test_timecodes_against_the_frame_rate_argument(tmp_path):
    path = _csv(tmp_path, [_row(t) for t in range(50, 70)])
    assert read_face_curves(path).fps == 60.0
    _refused(path, "frame number 59", fps=30)


def test_not_utf8_is_refused(tmp_path):
    path = tmp_path / "bin.csv"
    path.write_bytes(b"\xff\xfe\x00Timecode")
    _refused(path, "not UTF-8")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("{", ("not valid JSON",)),
        ("[1, 2]", ('no "frames" list',)),
        ('{"frames": []}', ('no "frames" list',)),
        ('{"frames": [3]}', ("frames[0]", "not an object")),
        ('{"frames": [{"smile": 1}]}', ("no ARKit blendshape key",)),
        ('{"frames": [{"jawOpen": "x"}]}', ("frames[0]", "'jawOpen'", "not a number")),
        ('{"frames": [{"jawOpen": true}]}', ("frames[0]", "not a number")),
        ('{"frames": [{"jawOpen": 0}, {"jawOpen": NaN}]}', ("frames[1]", "not a finite")),
        ('{"frames": [{"jawOpen": 1' + "0" * 400 + "}]}", ("not a finite",)),
        ('{"fps": -1, "frames": [{"jawOpen": 0}]}', ('"fps"',)),
        ('{"frames": [{"jawOpen": 0, "JawOpen": 1}]}', ("two keys for jawOpen",)),
    ],
)
def test_bad_json_is_refused(tmp_path, data, words):
    path = tmp_path / "curves.json"
    path.write_text(data)
    _refused(path, *words)
