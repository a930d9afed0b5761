"""ARKit face curves: per-frame weights of the 52 ARKit blendshapes, and the head and eye
rotations, read from Live Link Face CSV or JSON files and written as Live Link Face CSV.

**Live Link Face CSV** (Epic's iPhone app): a header ``Timecode,BlendShapeCount,`` then the
52 blendshapes in PascalCase (``EyeBlinkLeft`` ... ``TongueOut``, :data:`LIVE_LINK_NAMES`
order) then ``HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,LeftEyePitch,LeftEyeRoll,RightEyeYaw,
RightEyePitch,RightEyeRoll``; one row per frame. The timecode is ``HH:MM:SS:FF`` or
``HH:MM:SS:FF.fff`` (FF the frame within the second, ``.fff`` a sub-frame fraction, ignored).
The frame rate is read from the timecodes where a second boundary shows the highest frame
number (the smallest of 24, 25, 30, 48, 50, 60 above it); else the ``fps`` argument, else
60. Rows are taken as consecutive frames.

Columns are recognised by name in any letter case, also as ``eyeBlink_L``/``_R``
(:func:`core.motion.arkit_names.canonical_name`); recognised columns are imported, the
others are listed in ``FaceCurves.unknown``. A file without any ARKit column is refused.

Rotation unit: Live Link Face writes the rotations as a fraction of a quarter turn
(1.0 = 90 degrees), which ``FaceCurves`` holds in radians (value * pi / 2). The file does not
say so; two independent Live Link Face importers read it that way (``value * pi / 2``), and
in the recording in ``../shared/face_arkit`` the eye pitch is 0.61 x ``EyeLookDown``, so a
full look down is 55 degrees in this reading (35 degrees if it were radians; under a degree if
it were degrees). That recording has its head rotations at 0 (not captured).

**JSON** (this project's own form)::

    {"fps": 60, "frames": [{"jawOpen": 0.3, "eyeBlinkLeft": 1.0, "HeadYaw": 0.1}, ...]}

``frames`` is a list, one object per frame; keys are ARKit names (spelt as above) or the 9
rotation names, in radians; a key missing from a frame is 0 there; other keys are listed in
``unknown``. ``fps`` is optional (then the argument, else 60).

Bad input (empty, no Timecode, no ARKit column, a cell that is not a number, a broken
timecode, a value that is not finite) raises LcaError with one sentence naming the row and
column; nothing is returned half-read.

Letters: T frames, K weight columns, E a body model's expressions.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..errors import PATH_LIMIT, LcaError, quoted
from ..fileio import atomic_path, read_small_text
from .arkit_names import HEAD_NAMES, LIVE_LINK_NAMES, canonical_name, head_name, pascal_name

CURVES_LIMIT = 256 << 20
"""Bytes of the largest curves file read (an hour at 60 fps is about 140 MB of CSV)."""
FRAME_RATES = (24, 25, 30, 48, 50, 60)
"""Frame rates a timecode's highest frame number is matched to."""
DEFAULT_FPS = 60.0
LIVE_LINK_UNIT = math.pi / 2
"""Radians per unit of Live Link Face's rotation columns (module docstring)."""
_TIMECODE = re.compile(r"(\d{1,3}):(\d{2}):(\d{2})[:;](\d{2,3})(?:\.\d+)?")


@dataclass(frozen=True)
class FaceCurves:
    """Face animation: ARKit weights and head and eye rotations per frame.

    names: K ARKit camelCase names, one per column of ``weights``; weights: (T, K) float64;
    head: (T, 9) float64 radians in :data:`HEAD_NAMES` order (HeadYaw, HeadPitch, HeadRoll,
    then yaw, pitch, roll of the left and the right eye), or None; fps: frames per second;
    unknown: columns found in the source but not imported; source: where the curves came
    from, in words.
    """

    names: tuple[str, ...]
    weights: Tensor
    head: Tensor | None
    fps: float
    unknown: tuple[str, ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        T = self.weights.shape[0] if self.weights.ndim == 2 else -1
        if self.weights.shape != (T, len(self.names)) or self.weights.dtype != torch.float64:
            raise ValueError(f"weights must be (T, {len(self.names)}) float64")
        if len(set(self.names)) != len(self.names) or not set(self.names) <= set(LIVE_LINK_NAMES):
            raise ValueError(f"names must be distinct ARKit names, got {self.names}")
        if self.head is not None and (
            self.head.shape != (T, len(HEAD_NAMES)) or self.head.dtype != torch.float64
        ):
            raise ValueError(f"head must be ({T}, 9) float64")
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be positive, got {self.fps}")

    @property
    def frames(self) -> int:
        """T, the number of frames."""
        return self.weights.shape[0]

    def expression_frames(self, expression_names: tuple[str, ...]) -> Tensor:
        """(T, E) float64: the weights in a body model's expression order (Anny's
        ``expression_names`` are the 52 ARKit names); an expression without a curve is 0."""
        out = torch.zeros(self.frames, len(expression_names), dtype=torch.float64)
        column = {name: k for k, name in enumerate(self.names)}
        for e, name in enumerate(expression_names):
            k = column.get(canonical_name(name) or name)
            if k is not None:
                out[:, e] = self.weights[:, k]
        return out


def read_face_curves(path: Path | str, fps: float | None = None) -> FaceCurves:
    """The curves of a Live Link Face CSV or a JSON file (module docstring).

    fps: the frame rate where the file does not give one (default 60); a file whose own rate
    differs from it is refused. LcaError (one sentence) for any bad input.
    """
    path = Path(path)
    shown = f"Face curves file {quoted(path, PATH_LIMIT)}"
    if fps is not None and not (math.isfinite(fps) and 0 < fps <= 1000):
        raise LcaError(f"The frame rate {fps} for {shown} is not between 0 and 1000.")
    text = read_small_text(
        path,
        shown,
        limit=CURVES_LIMIT,
        give="give a Live Link Face CSV or JSON",
        too_big="split the recording",
        encoding="utf-8-sig",
    )
    if not text.strip():
        raise LcaError(f"{shown} is empty; give a Live Link Face CSV or a face curves JSON.")
    if text.lstrip().startswith(("{", "[")):
        return _from_json(text, shown, fps, path.name)
    return _from_csv(text, shown, fps, path.name)


def write_live_link_csv(curves: FaceCurves, path: Path | str) -> None:
    """Write ``curves`` as a Live Link Face CSV (all 52 blendshapes and 9 rotations; a name
    without a curve and a missing head are written as 0), atomically.

    Values are written with 10 decimals, as the app does, where that reads back as the same
    number, else in full (``repr``), so ``read_face_curves`` gives the weights back exactly.
    Timecodes count from 00:00:00:00 at ``round(fps)`` frames a second.
    """
    weights = curves.expression_frames(LIVE_LINK_NAMES).tolist()
    head = (
        curves.head / LIVE_LINK_UNIT
        if curves.head is not None
        else torch.zeros(curves.frames, len(HEAD_NAMES), dtype=torch.float64)
    ).tolist()
    per_second = max(round(curves.fps), 1)
    header = ["Timecode", "BlendShapeCount", *map(pascal_name, LIVE_LINK_NAMES), *HEAD_NAMES]
    lines = [",".join(header)]
    count = str(len(LIVE_LINK_NAMES) + len(HEAD_NAMES))
    for t in range(curves.frames):
        cells = [_timecode(t, per_second), count]
        cells += [_number(v, exact=True) for v in weights[t]]
        cells += [_number(v, exact=False) for v in head[t]]
        lines.append(",".join(cells))
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _number(value: float, exact: bool) -> str:
    """10 decimals where they read back as ``value`` (rotations: within float rounding of
    the unit conversion), else the shortest exact form."""
    short = f"{value:.10f}"
    back = float(short)
    same = back == value if exact else math.isclose(back, value, rel_tol=1e-14, abs_tol=1e-17)
    return short if same else repr(value)


def _timecode(frame: int, per_second: int) -> str:
    seconds, ff = divmod(frame, per_second)
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}.000"


def _columns(
    cells: list[tuple[int, str]], shown: str
) -> tuple[dict[str, int], dict[str, int], list[str]]:
    """(ARKit name -> column, rotation name -> column, unknown column names) of the header
    cells (column, text) that are neither Timecode nor BlendShapeCount."""
    arkit: dict[str, int] = {}
    head: dict[str, int] = {}
    unknown = []
    for j, cell in cells:
        name = canonical_name(cell)
        target, key = (arkit, name) if name else (head, head_name(cell))
        if key is None:
            unknown.append(cell.strip())
        elif key in target:
            raise LcaError(f"{shown} has two columns for {key}; keep one.")
        else:
            target[key] = j
    if not arkit:
        raise LcaError(
            f"{shown} has no ARKit blendshape column (such as EyeBlinkLeft or jawOpen); "
            "give a Live Link Face CSV or ARKit curves."
        )
    return arkit, head, unknown


def _from_csv(text: str, shown: str, fps: float | None, name: str) -> FaceCurves:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = [(reader.line_num, row) for row in reader if row]
    except csv.Error as err:
        raise LcaError(f"{shown} is not a readable CSV (line {reader.line_num}: {err}).") from None
    (_, header), body = rows[0], rows[1:]
    if header and not header[-1].strip():  # a trailing comma
        header = header[:-1]
    folded = [cell.strip().lower() for cell in header]
    if "timecode" not in folded:
        raise LcaError(
            f"{shown} has no Timecode column; a Live Link Face CSV starts with "
            "Timecode,BlendShapeCount and the blendshape names."
        )
    time_column = folded.index("timecode")
    skip = {time_column, *(j for j, c in enumerate(folded) if c == "blendshapecount")}
    arkit, head, unknown = _columns([(j, c) for j, c in enumerate(header) if j not in skip], shown)
    if not body:
        raise LcaError(f"{shown} has a header but no frames; record some.")
    width = len(header)
    weights, rotations, stamps = [], [], []
    for line, row in body:
        if len(row) == width + 1 and not row[-1].strip():
            row = row[:-1]
        if len(row) != width:
            raise LcaError(
                f"{shown} line {line} has {len(row)} cells but the header has {width}; fix "
                "the file."
            )
        stamps.append(_parse_timecode(row[time_column], shown, line))
        weights.append([_cell(row, j, header, shown, line) for j in arkit.values()])
        rotations.append([_cell(row, j, header, shown, line) for j in head.values()])
    rate = _frame_rate(stamps, fps, shown)
    head_values = None
    if head:
        head_values = torch.zeros(len(body), len(HEAD_NAMES), dtype=torch.float64)
        columns = [HEAD_NAMES.index(key) for key in head]
        head_values[:, columns] = torch.tensor(rotations, dtype=torch.float64) * LIVE_LINK_UNIT
    return FaceCurves(
        names=tuple(arkit),
        weights=torch.tensor(weights, dtype=torch.float64),
        head=head_values,
        fps=rate,
        unknown=tuple(unknown),
        source=f"Live Link Face CSV {quoted(name, PATH_LIMIT)}",
    )


def _cell(row: list[str], j: int, header: list[str], shown: str, line: int) -> float:
    text = row[j].strip()
    try:
        value = float(text)
    except ValueError:
        raise LcaError(
            f"{shown} line {line}, column {quoted(header[j].strip())} holds {quoted(text)}, "
            "not a number; fix the file."
        ) from None
    if not math.isfinite(value):
        raise LcaError(
            f"{shown} line {line}, column {quoted(header[j].strip())} is {quoted(text)}, not a "
            "finite number; fix the file."
        )
    return value


def _parse_timecode(text: str, shown: str, line: int) -> tuple[int, int]:
    """(whole seconds, frame within the second) of a timecode cell."""
    match = _TIMECODE.fullmatch(text.strip())
    if match is None or int(match[2]) >= 60 or int(match[3]) >= 60:
        raise LcaError(
            f"{shown} line {line} has the timecode {quoted(text)}, not HH:MM:SS:FF; fix the file."
        )
    hh, mm, ss, ff = (int(match[i]) for i in range(1, 5))
    return (hh * 60 + mm) * 60 + ss, ff


def _frame_rate(stamps: list[tuple[int, int]], fps: float | None, shown: str) -> float:
    """The frame rate the timecodes show (module docstring), checked against ``fps``."""
    highest = max(ff for _, ff in stamps)
    crossed = any(a[0] != b[0] for a, b in zip(stamps, stamps[1:], strict=False))
    rates = [r for r in FRAME_RATES if r > highest]
    if not rates or (fps is not None and highest >= fps):
        raise LcaError(
            f"{shown} has timecode frame number {highest}, too high for "
            f"{fps if fps is not None else 'any usual'} frames a second; check the frame rate."
        )
    if not crossed:
        return float(fps) if fps is not None else DEFAULT_FPS
    found = float(rates[0])
    if fps is not None and not math.isclose(fps, found, rel_tol=0.01):
        raise LcaError(
            f"{shown} has timecodes at {found:g} frames a second, not the {fps:g} asked for; "
            "leave the frame rate out."
        )
    return float(fps) if fps is not None else found


def _from_json(text: str, shown: str, fps: float | None, name: str) -> FaceCurves:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError) as err:
        where = f" (line {err.lineno})" if isinstance(err, json.JSONDecodeError) else ""
        raise LcaError(f"{shown} is not valid JSON{where}; fix the file.") from None
    frames = data.get("frames") if isinstance(data, dict) else None
    if not isinstance(frames, list) or not frames:
        raise LcaError(
            f'{shown} has no "frames" list; write {{"fps": 60, "frames": [{{"jawOpen": 0.3}}, '
            "...]}."
        )
    rate = data.get("fps", fps if fps is not None else DEFAULT_FPS)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 1000:
        raise LcaError(f'{shown} has "fps" {quoted(rate)}, not a number between 0 and 1000.')
    if fps is not None and not math.isclose(fps, rate, rel_tol=0.01):
        raise LcaError(f"{shown} says {rate:g} frames a second, not the {fps:g} asked for.")
    arkit: dict[str, str] = {}
    head: dict[str, str] = {}
    unknown: list[str] = []
    for t, frame in enumerate(frames):
        if not isinstance(frame, dict):
            raise LcaError(f"{shown} frames[{t}] is not an object of name: weight; fix it.")
        for key in frame:
            if key in arkit.values() or key in head.values() or key in unknown:
                continue
            known, rotation = canonical_name(key), head_name(key)
            target, canon = (arkit, known) if known else (head, rotation)
            if canon is None:
                unknown.append(key)
            elif canon in target:
                raise LcaError(f"{shown} has two keys for {canon}; keep one.")
            else:
                target[canon] = key
    if not arkit:
        raise LcaError(f"{shown} has no ARKit blendshape key (such as jawOpen) in any frame.")
    weights = [[_json_value(f, k, t, shown) for k in arkit.values()] for t, f in enumerate(frames)]
    head_values = None
    if head:
        head_values = torch.zeros(len(frames), len(HEAD_NAMES), dtype=torch.float64)
        rows = [[_json_value(f, k, t, shown) for k in head.values()] for t, f in enumerate(frames)]
        head_values[:, [HEAD_NAMES.index(c) for c in head]] = torch.tensor(
            rows, dtype=torch.float64
        )
    return FaceCurves(
        names=tuple(arkit),
        weights=torch.tensor(weights, dtype=torch.float64),
        head=head_values,
        fps=float(rate),
        unknown=tuple(unknown),
        source=f"face curves JSON {quoted(name, PATH_LIMIT)}",
    )


def _json_value(frame: dict, key: str, t: int, shown: str) -> float:
    value = frame.get(key, 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LcaError(f"{shown} frames[{t}] {quoted(key)} is {quoted(value)}, not a number.")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise LcaError(
            f"{shown} frames[{t}] {quoted(key)} is {quoted(value)}, not a finite number."
        )
    return number
