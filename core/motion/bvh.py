"""BVH motion files: read into a :class:`~core.motion.clip.Clip`, write one back.

Read: ``HIERARCHY`` (ROOT, JOINT, End Site, OFFSET, CHANNELS in any order), ``MOTION``
(Frames, Frame Time, one row of channel values per frame). Each joint's rotation is the
product of its rotation channels in the order given (``Zrotation Yrotation Xrotation`` is
``Rz @ Ry @ Rx``), in degrees; a root's position channels give its position. Position
channels on other joints are read and must stay at the joint's offset (they do in every
exporter we know); where they move, the clip keeps the offsets and says so in ``notes``.
End Sites are not joints of the clip (they carry no motion).

Write: the same hierarchy with ZXY rotation channels on every joint, 6 channels on the root,
an End Site on every leaf, numbers to 9 significant digits.

Bad files are refused in one sentence naming the line: empty, not BVH, a truncated
hierarchy, an unknown channel, a frame row with the wrong number of values or a value that is
not a finite number, fewer rows than ``Frames`` says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from ..errors import PATH_LIMIT, LcaError, quoted
from ..fileio import atomic_path, check_output_file, read_small_text
from ..quaternion import axis_rotations
from .clip import Clip, Skeleton

MAX_BYTES = 512 * 1024 * 1024
"""A BVH file larger than this is refused before it is read."""

MAX_JOINTS = 1024
_ROTATIONS = {"xrotation": 0, "yrotation": 1, "zrotation": 2}
_POSITIONS = {"xposition": 0, "yposition": 1, "zposition": 2}


@dataclass
class _Joint:
    name: str
    parent: int
    offset: list[float]
    channels: list[str] = field(default_factory=list)
    first: int = 0


@dataclass(frozen=True)
class BvhFile:
    """A read BVH: the clip, and notes for the user (e.g. moving joint offsets ignored)."""

    clip: Clip
    notes: tuple[str, ...]


class _Lines:
    """The file's words line by line, with the line number for messages."""

    def __init__(self, text: str, name: str) -> None:
        self.rows = [(n + 1, line.split()) for n, line in enumerate(text.splitlines())]
        self.rows = [(n, words) for n, words in self.rows if words]
        self.at = 0
        self.name = name

    def next(self, what: str) -> tuple[int, list[str]]:
        if self.at >= len(self.rows):
            raise LcaError(f"{self.name} ends early: {what} is missing (a truncated BVH file).")
        row = self.rows[self.at]
        self.at += 1
        return row

    def fail(self, line: int, why: str) -> LcaError:
        return LcaError(f"{self.name}, line {line}: {why}")


def _float(word: str, lines: _Lines, line: int, what: str) -> float:
    try:
        value = float(word)
    except ValueError:
        raise lines.fail(line, f"{what} {quoted(word)} is not a number.") from None
    if not math.isfinite(value):
        raise lines.fail(line, f"{what} {quoted(word)} is not a finite number.")
    return value


def _hierarchy(lines: _Lines) -> list[_Joint]:
    line, words = lines.next("HIERARCHY")
    if words[0].upper() != "HIERARCHY":
        raise lines.fail(line, "this is not a BVH file (it must start with HIERARCHY).")
    joints: list[_Joint] = []
    stack: list[int] = []  # open joints; -2 marks an End Site
    channel_count = 0
    while True:
        line, words = lines.next("the end of the hierarchy")
        key = words[0].upper()
        if key in ("ROOT", "JOINT"):
            if (key == "ROOT") != (not stack):
                raise lines.fail(line, f"{words[0]} is not where a BVH file can have it.")
            if len(words) < 2:
                raise lines.fail(line, f"{words[0]} has no name.")
            name = " ".join(words[1:])
            if any(j.name == name for j in joints):
                raise lines.fail(line, f"joint {quoted(name)} is named twice.")
            if len(joints) >= MAX_JOINTS:
                raise lines.fail(line, f"more than {MAX_JOINTS} joints.")
            joints.append(_Joint(name, stack[-1] if stack else -1, [0.0, 0.0, 0.0]))
            stack.append(-1)  # set to the joint's index at "{"
        elif key == "END":
            if not stack:
                raise lines.fail(line, "an End Site outside any joint.")
            stack.append(-3)
        elif key == "{":
            if not stack or stack[-1] not in (-1, -3):
                raise lines.fail(line, "'{' without a joint before it.")
            stack[-1] = len(joints) - 1 if stack[-1] == -1 else -2
        elif key == "}":
            if not stack:
                raise lines.fail(line, "'}' without a joint to close.")
            stack.pop()
            if not stack:
                break
        elif key == "OFFSET":
            if len(words) != 4:
                raise lines.fail(line, "OFFSET needs 3 numbers.")
            offset = [_float(w, lines, line, "OFFSET value") for w in words[1:]]
            if stack and stack[-1] >= 0:
                joints[stack[-1]].offset = offset
        elif key == "CHANNELS":
            if not stack or stack[-1] < 0:
                raise lines.fail(line, "CHANNELS outside a joint.")
            joint = joints[stack[-1]]
            try:
                count = int(words[1])
            except (IndexError, ValueError):
                raise lines.fail(line, "CHANNELS needs a count and the channel names.") from None
            names = [w.lower() for w in words[2:]]
            if count != len(names) or count > 6:
                raise lines.fail(line, f"CHANNELS says {words[1]} but names {len(names)}.")
            for name in names:
                if name not in _ROTATIONS and name not in _POSITIONS:
                    raise lines.fail(line, f"unknown channel {quoted(name)}.")
            joint.channels, joint.first = names, channel_count
            channel_count += count
        else:
            raise lines.fail(line, f"unexpected {quoted(words[0])} in the hierarchy.")
    for j, parent in enumerate(j.parent for j in joints):
        # children are appended after their parents by construction
        assert parent < j
    return joints


def read_bvh(path: Path | str) -> BvhFile:
    """A BVH file as a clip (module docstring); LcaError naming the problem otherwise."""
    path = Path(path)
    name = quoted(str(path), PATH_LIMIT)
    text = read_small_text(
        path,
        f"Motion file {name}",
        limit=MAX_BYTES,
        give="give a BVH file",
        too_big="it is not a BVH clip",
        errors="replace",
    )
    if not text.strip():
        raise LcaError(f"Motion file {name} is empty.")
    lines = _Lines(text, f"Motion file {name}")
    joints = _hierarchy(lines)
    channel_count = sum(len(j.channels) for j in joints)

    line, words = lines.next("MOTION")
    if words[0].upper() != "MOTION":
        raise lines.fail(line, f"expected MOTION, found {quoted(words[0])}.")
    line, words = lines.next("Frames")
    if words[0].lower() != "frames:" or len(words) != 2 or not words[1].isdigit():
        raise lines.fail(line, "expected 'Frames: N'.")
    frame_count = int(words[1])
    line, words = lines.next("Frame Time")
    if [w.lower() for w in words[:2]] != ["frame", "time:"] or len(words) != 3:
        raise lines.fail(line, "expected 'Frame Time: SECONDS'.")
    frame_time = _float(words[2], lines, line, "Frame Time")
    if not 1e-4 <= frame_time <= 10:
        raise lines.fail(line, f"Frame Time {words[2]} s is not a frame rate (0.1 to 10000 fps).")
    if frame_count < 1:
        raise lines.fail(line, "the clip has no frames.")
    rows = lines.rows[lines.at : lines.at + frame_count]
    if len(rows) < frame_count:
        raise LcaError(
            f"Motion file {name} has {len(rows)} frame rows but says Frames: {frame_count} "
            "(a truncated BVH file)."
        )
    values = torch.empty(frame_count, channel_count, dtype=torch.float64)
    for t, (line, words) in enumerate(rows):
        if len(words) != channel_count:
            raise lines.fail(
                line, f"a frame needs {channel_count} values, this one has {len(words)}."
            )
        try:
            values[t] = torch.tensor([float(w) for w in words], dtype=torch.float64)
        except ValueError:
            bad = next(w for w in words if not _is_float(w))
            raise lines.fail(line, f"frame value {quoted(bad)} is not a number.") from None
    if not bool(torch.isfinite(values).all()):
        bad_row = int((~torch.isfinite(values)).any(1).nonzero()[0])
        raise lines.fail(rows[bad_row][0], "a frame value is not a finite number.")
    return _clip(joints, values, frame_time, name)


def _is_float(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _clip(joints: list[_Joint], values: Tensor, frame_time: float, name: str) -> BvhFile:
    T, J = values.shape[0], len(joints)
    rotations = torch.eye(3, dtype=torch.float64).repeat(T, J, 1, 1)
    offsets = torch.tensor([j.offset for j in joints], dtype=torch.float64)
    root_positions = offsets[0].repeat(T, 1)
    moving: list[str] = []
    for index, joint in enumerate(joints):
        position = offsets[index].repeat(T, 1)
        has_position = False
        for c, channel in enumerate(joint.channels):
            column = values[:, joint.first + c]
            if channel in _ROTATIONS:
                rotations[:, index] = rotations[:, index] @ axis_rotations(
                    torch.deg2rad(column), _ROTATIONS[channel]
                )
            else:
                position[:, _POSITIONS[channel]] = column
                has_position = True
        if joint.parent < 0:
            root_positions = position
        elif has_position and float((position - offsets[index]).abs().max()) > 1e-6 * (
            1 + float(offsets[index].abs().max())
        ):
            moving.append(joint.name)
    notes = ()
    if moving:
        notes = (
            f"{len(moving)} joint(s) ({', '.join(moving[:3])}) move their offsets; the clip "
            "keeps the rest offsets (rotations are what retargeting uses).",
        )
    skeleton = Skeleton(tuple(j.name for j in joints), tuple(j.parent for j in joints), offsets)
    return BvhFile(
        Clip(skeleton, rotations, root_positions, 1.0 / frame_time, f"Motion file {name}"), notes
    )


def _zxy_degrees(R: Tensor) -> Tensor:
    """(T, 3, 3) -> (T, 3) angles (z, x, y) in degrees with R = Rz @ Rx @ Ry."""
    x = torch.asin(R[:, 2, 1].clamp(-1.0, 1.0))
    z = torch.atan2(-R[:, 0, 1], R[:, 1, 1])
    y = torch.atan2(-R[:, 2, 0], R[:, 2, 2])
    return torch.rad2deg(torch.stack((z, x, y), dim=1))


def write_bvh(clip: Clip, path: Path | str) -> None:
    """Write ``clip`` as a BVH file, atomically (module docstring)."""
    path = check_output_file(Path(path))
    sk = clip.skeleton
    children = [[c for c, p in enumerate(sk.parents) if p == j] for j in range(len(sk.names))]
    out: list[str] = ["HIERARCHY"]
    order: list[int] = []

    def number(v: float) -> str:
        return f"{v:.9g}"

    def joint(j: int, depth: int) -> None:
        pad = "\t" * depth
        kind = "ROOT" if sk.parents[j] < 0 else "JOINT"
        offset = " ".join(number(float(v)) for v in sk.offsets[j])
        out.append(f"{pad}{kind} {sk.names[j]}")
        out.append(f"{pad}{{")
        out.append(f"{pad}\tOFFSET {offset}")
        if sk.parents[j] < 0:
            out.append(
                f"{pad}\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"
            )
        else:
            out.append(f"{pad}\tCHANNELS 3 Zrotation Xrotation Yrotation")
        order.append(j)
        for c in children[j]:
            joint(c, depth + 1)
        if not children[j]:
            tip = (
                sk.offsets[j] * 0.5
                if float(sk.offsets[j].norm()) > 0
                else torch.tensor([0, 0.1, 0])
            )
            out.append(f"{pad}\tEnd Site")
            out.append(f"{pad}\t{{")
            out.append(f"{pad}\t\tOFFSET {' '.join(number(float(v)) for v in tip)}")
            out.append(f"{pad}\t}}")
        out.append(f"{pad}}}")

    for root in (j for j, p in enumerate(sk.parents) if p < 0):
        joint(root, 0)
    out += ["MOTION", f"Frames: {clip.frame_count}", f"Frame Time: {1.0 / clip.fps:.9g}"]
    angles = torch.stack([_zxy_degrees(clip.rotations[:, j]) for j in order], dim=1)
    roots = set(j for j, p in enumerate(sk.parents) if p < 0)
    for t in range(clip.frame_count):
        row: list[str] = []
        for k, j in enumerate(order):
            if j in roots:
                row += [number(float(v)) for v in clip.root_positions[t]]
            row += [number(float(v)) for v in angles[t, k]]
        out.append(" ".join(row))
    with atomic_path(path) as temporary:
        temporary.write_text("\n".join(out) + "\n", encoding="utf-8")
