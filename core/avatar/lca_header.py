"""The `.lca` file's header: reading it within memory bounds and checking the whole layout.

Everything here runs before a byte of tensor data is read (see ``lca_file`` for the layout
and the data). Bounds, so that a hostile file cannot make the reader allocate much:

- the safetensors JSON header may be at most ``MAX_HEADER_BYTES`` (1 MiB) and must fit in
  the file. A real header is under 2 KB plus its metadata (the demo avatar's is 1,752 bytes;
  a thousand photo names of 255 bytes would add 256 KiB); parsing 1 MiB of the worst JSON
  (``[[],[],...]``) costs about 25 MB, where the 100 MiB that the safetensors library allows
  cost 2.8 GB.
- every tensor's size follows from the header's counts, and the tensors must tile the data
  section exactly, which must be the rest of the file: the file size is checked against the
  counts before any tensor is read.
- every string in the header must be valid Unicode (a lone surrogate such as ``"\\ud800"``
  is refused as a corrupt header, so nothing downstream fails to print or encode it).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

from ..errors import LcaFileError

SCHEMA_VERSION = 4
"""Version of the `.lca` schema this code writes (4: with an optional pose correction; 3: with
an optional rig section; 2: with a checksum of the data; 1 to 3 still read)."""

FORMAT = "lca"
UNITS = "m"
QUATERNION_ORDER = "wxyz"
COLOR = "3dgs-sh-srgb"
UP_AXES = ("Z", "Y")
MAX_SH_DEGREE = 3
"""Highest SH degree a file may hold; degree d has (d + 1) ** 2 coefficients per channel (the
table ``core.render.sh.SH_COUNTS``, not imported here: this module imports no torch)."""
MAX_ABS_LOG_SCALE = 20.0
"""Largest |log-scale| (in units of the triangle size) an avatar may hold (``values``)."""
MAX_ABS_VALUE = 1e4
"""Largest |value| of every other floating-point avatar tensor (``values``)."""
BARYCENTRIC_TOLERANCE = 1e-3
"""How far barycentric coordinates may be below 0, or their sum from 1 (``values``)."""
READABLE_SCHEMA_VERSIONS = (1, 2, 3, 4)
"""Schema 1: no checksum. Schema 2: ``data_checksum`` of the tensor data. Schema 3: schema 2
and an optional rig section (``rig`` in the header, ``rig.*`` tensors). Schema 4 (written
now): schema 3 and an optional pose correction (``correction`` in the header,
``correction.*`` tensors)."""
RIG_SCHEMA_VERSION = 3
"""The first schema that may hold the rig section."""
CORRECTION_SCHEMA_VERSION = 4
"""The first schema that may hold the pose correction."""
CORRECTION_KEYS = ("anchors", "bones", "expressions", "hidden", "neighbours")
"""The header's ``correction`` object: its sizes M, J, E, H and k (``pose_correction``)."""
MAX_CORRECTION_SIZE = 1 << 20
"""Largest size a ``correction`` header may declare (the largest network has 4,096 anchors)."""
MAX_RIG_NAME_BYTES = 63
"""Longest bone, expression or shape-key name (UTF-8 bytes): Blender's name limit, beyond
which it would cut a name and the armature, vertex groups and shape keys would not match."""
CHECKSUM_PREFIX = "blake2b-128:"
"""``data_checksum`` is this prefix and the hex BLAKE2b (16-byte digest) of the data section."""
MAX_HEADER_BYTES = 1024 * 1024
"""Largest safetensors JSON header the reader accepts (see the module docstring)."""

_DTYPE_BYTES = {"F32": 4, "I32": 4}
_CHECKSUM = re.compile(re.escape(CHECKSUM_PREFIX) + "[0-9a-f]{32}")

NOT_LCA = "choose a .lca file written by `lca create` or the Blender extension"
DAMAGED = "restore it from a backup or create the avatar again with `lca create`"
_MAGIC = (
    (b"ply\n", "a PLY point cloud"),
    (b"ply\r\n", "a PLY point cloud"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"BLENDER", "a .blend file"),
    (b"PK\x03\x04", "a ZIP archive, perhaps a PyTorch checkpoint"),
)


@dataclass(frozen=True)
class TensorSpan:
    """One tensor of the data section: name, safetensors dtype, shape, byte range."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass(frozen=True)
class LcaLayout:
    """A checked `.lca` file before its data is read.

    lca: the parsed `lca` JSON header; data_start: offset of the data section in the file;
    spans: the tensors in file order, tiling the data section exactly.
    """

    lca: dict
    data_start: int
    spans: tuple[TensorSpan, ...]

    @property
    def data_size(self) -> int:
        return self.spans[-1].end if self.spans else 0


def shown(value: object) -> str:
    """``value`` from a file, quoted for a message if it is a short plain name, else "?"."""
    text = str(value)
    return f"'{text}'" if re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", text) else "?"


def fail(path: Path, problem: str, remedy: str = DAMAGED) -> LcaFileError:
    """One sentence: the file, what is wrong, what to do."""
    return LcaFileError(f"'{path}' {problem}; {remedy}.")


def tensor_names(sh_k: int) -> dict[str, tuple[str, tuple[str | int, ...]]]:
    """Tensor name -> (safetensors dtype, symbolic shape); N, V, F are resolved later."""
    return {
        "binding.triangle": ("I32", ("N",)),
        "binding.barycentric": ("F32", ("N", 3)),
        "binding.offset": ("F32", ("N", 3)),
        "binding.rotation": ("F32", ("N", 4)),
        "binding.log_scale": ("F32", ("N", 3)),
        "binding.opacity_logit": ("F32", ("N",)),
        "binding.sh": ("F32", ("N", sh_k, 3)),
        "binding.part": ("I32", ("N",)),
        "body.canonical_vertices": ("F32", ("V", 3)),
        "body.faces": ("I32", ("F", 3)),
    }


def rig_tensor_names(rig: dict) -> dict[str, tuple[str, tuple[str | int, ...]]]:
    """The rig section's tensors (name -> safetensors dtype, symbolic shape) for the parsed
    ``rig`` header: J bones, E expressions, K body-shape keys (from the header), V vertices and
    F triangles (the body's), W the most bones any vertex has a weight for (the file's).

    ``rig.weight_bones`` holds each vertex's bones with a non-zero weight, ascending, then -1;
    ``rig.weight_values`` their weights (0 after the last bone): the skinning weights, sparse.
    """
    names = {
        "rig.bone_matrices": ("F32", ("J", 4, 4)),
        "rig.bone_lengths": ("F32", ("J",)),
        "rig.weight_bones": ("I32", ("V", "W")),
        "rig.weight_values": ("F32", ("V", "W")),
        "rig.expression_deltas": ("F32", ("E", "V", 3)),
        "rig.shape_deltas": ("F32", ("K", "V", 3)),
    }
    if rig.get("uvs"):
        names["rig.uvs"] = ("F32", ("F", 3, 2))
    return names


def correction_tensor_names(correction: dict) -> dict[str, tuple[str, tuple[str | int, ...]]]:
    """The pose correction's tensors (name -> safetensors dtype, shape) for the parsed
    ``correction`` header (``core.avatar.pose_correction``): the MLP's two layers, then each
    of the N Gaussians' k anchors (0..M-1) and their weights."""
    J, E = correction["bones"], correction["expressions"]
    H, M, k = correction["hidden"], correction["anchors"], correction["neighbours"]
    return {
        "correction.fc1_weight": ("F32", (H, 3 * J + E)),
        "correction.fc1_bias": ("F32", (H,)),
        "correction.fc2_weight": ("F32", (3 * M, H)),
        "correction.fc2_bias": ("F32", (3 * M,)),
        "correction.anchor_index": ("I32", ("N", k)),
        "correction.anchor_weight": ("F32", ("N", k)),
    }


def correction_header_problem(correction: object) -> str | None:
    """What is wrong with a parsed ``correction`` header, or None."""
    if not isinstance(correction, dict) or set(correction) != set(CORRECTION_KEYS):
        return "bad correction"
    if not all(
        _is_int(v) and 0 <= v <= MAX_CORRECTION_SIZE for v in correction.values()
    ) or not all(correction[key] >= 1 for key in ("anchors", "hidden", "neighbours")):
        return "bad correction sizes"
    return None


def rig_header_problem(rig: object) -> str | None:
    """What is wrong with a parsed ``rig`` header (bone names and parents, expression and
    shape-key names, whether it has UVs), or None."""
    if not isinstance(rig, dict) or set(rig) != {
        "bone_names",
        "bone_parents",
        "expression_names",
        "shape_keys",
        "uvs",
    }:
        return "bad rig"
    bones, parents = rig["bone_names"], rig["bone_parents"]
    if not _names(bones) or not bones:
        return "bad rig bone_names"
    if (
        not isinstance(parents, list)
        or len(parents) != len(bones)
        or not all(_is_int(p) and -1 <= p < j for j, p in enumerate(parents))
        or parents[0] != -1
    ):
        return "bad rig bone_parents (each bone's parent must come before it, the first is a root)"
    keys = rig["shape_keys"]
    if not isinstance(keys, list) or not all(
        isinstance(k, dict)
        and set(k) == {"name", "parameter", "value_from", "value_to"}
        and isinstance(k["parameter"], str)
        and _finite_number(k["value_from"])
        and _finite_number(k["value_to"])
        for k in keys
    ):
        return "bad rig shape_keys"
    expressions = rig["expression_names"]
    if not _names(expressions) or not _names(["Basis", *expressions, *(k["name"] for k in keys)]):
        return "bad rig expression or shape-key names"
    if not isinstance(rig["uvs"], bool):
        return "bad rig uvs"
    return None


def _names(names: object) -> bool:
    """Whether ``names`` is a list of distinct non-empty strings Blender keeps whole."""
    return (
        isinstance(names, list)
        and all(
            isinstance(n, str) and 0 < len(n.encode("utf-8")) <= MAX_RIG_NAME_BYTES for n in names
        )
        and len(set(names)) == len(names)
    )


def _reject_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _reject_constant(token: str) -> float:
    raise ValueError(f"non-finite number {token}")


def _parse_json(text: str) -> object:
    """Strict JSON: no duplicate keys, no NaN or Infinity, only valid Unicode strings."""
    value = json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
    if not _valid_unicode(value):
        raise ValueError("a string is not valid Unicode (a lone surrogate)")
    return value


def _valid_unicode(value: object) -> bool:
    """Whether every string in parsed JSON ``value`` (keys too) encodes as UTF-8."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack += list(item)
            stack += list(item.values())
        elif isinstance(item, list):
            stack += item
    return True


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _open_checks(path: Path) -> int:
    """Check ``path`` is an existing regular file; return its size in bytes."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise fail(path, "does not exist", f"check the path, or {NOT_LCA}") from None
    except OSError as err:
        raise fail(path, f"cannot be read ({err.strerror})", NOT_LCA) from None
    if stat.S_ISDIR(st.st_mode):
        raise fail(path, "is a folder, not an avatar file", NOT_LCA)
    if not stat.S_ISREG(st.st_mode):
        raise fail(path, "is not a regular file", NOT_LCA)
    return st.st_size


def _parse_lca_header(path: Path, meta: object) -> dict:
    """Validate the `lca` JSON header (from ``__metadata__``) and return it."""
    meta = {} if meta is None else meta
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise fail(path, "has a corrupt safetensors header (__metadata__ is not text)")
    if not isinstance(meta.get("lca"), str):
        raise fail(path, "is a safetensors file but not an LCA avatar (no 'lca' header)", NOT_LCA)
    try:
        h = _parse_json(meta["lca"])
    except (ValueError, RecursionError):
        raise fail(path, "has a corrupt LCA header (not valid JSON)") from None
    if not isinstance(h, dict) or h.get("format") != FORMAT:
        raise fail(
            path, "is a safetensors file but not an LCA avatar (format is not 'lca')", NOT_LCA
        )
    version = h.get("schema_version")
    if not _is_int(version):
        raise fail(path, "has a corrupt LCA header (schema_version is not an integer)")
    if version not in READABLE_SCHEMA_VERSIONS:
        raise fail(
            path,
            f"was written with LCA schema version {version if abs(version) < 10**6 else '?'}, "
            f"but this build reads "
            f"versions {READABLE_SCHEMA_VERSIONS[0]} to {SCHEMA_VERSION}",
            "update the LCA Avatar extension and the `lca` package to open it",
        )
    fixed = (("units", UNITS), ("quaternion_order", QUATERNION_ORDER), ("color", COLOR))
    for key, want in fixed:
        if h.get(key) != want:
            raise fail(path, f"has a corrupt LCA header ({key} is not {want!r})")
    if version >= 2 and not (
        isinstance(h.get("data_checksum"), str) and _CHECKSUM.fullmatch(h["data_checksum"])
    ):
        raise fail(path, "has a corrupt LCA header (bad data_checksum)")
    what = _header_problem(h)
    if what is not None:
        raise fail(path, f"has a corrupt LCA header ({what})")
    return h


def _finite_number(x: object) -> bool:
    if not isinstance(x, int | float) or isinstance(x, bool):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:  # an int too large for a float
        return False


def _header_problem(h: dict) -> str | None:
    """What is wrong with the variable fields of a parsed `lca` header, or None."""
    body = h.get("body")
    if h.get("up_axis") not in UP_AXES:
        return "up_axis is not 'Z' or 'Y'"
    if not _is_int(h.get("sh_degree")) or h["sh_degree"] not in range(MAX_SH_DEGREE + 1):
        return "bad sh_degree"
    if not _is_int(h.get("count")) or h["count"] < 0:
        return "bad count"
    if not isinstance(h.get("canonical_frame"), str):
        return "bad canonical_frame"
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("model"), str)
        or not isinstance(body.get("model_version"), str)
        or not isinstance(body.get("shape"), dict)
        or not all(_finite_number(v) for v in body["shape"].values())
    ):
        return "bad body"
    names = h.get("part_names")
    if not isinstance(names, list) or not all(isinstance(p, str) for p in names):
        return "bad part_names"
    meta = h.get("metadata")
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        return "bad metadata"
    if "correction" in h:
        if h["schema_version"] < CORRECTION_SCHEMA_VERSION:
            return f"a pose correction in a schema {h['schema_version']} file"
        problem = correction_header_problem(h["correction"])
        if problem is not None:
            return problem
    if "rig" in h:
        if h["schema_version"] < RIG_SCHEMA_VERSION:
            return f"a rig in a schema {h['schema_version']} file"
        return rig_header_problem(h["rig"])
    return None


def _check_layout(path: Path, header: dict, h: dict, data_size: int) -> tuple[TensorSpan, ...]:
    """Check every tensor entry against the header: names, dtypes, shapes, offsets, size.

    Returns the tensors in file order; their sizes follow from the counts in the header and
    they tile the ``data_size`` bytes after the header exactly.
    """
    expected = tensor_names((h["sh_degree"] + 1) ** 2)
    dims = {"N": h["count"]}
    if "rig" in h:
        rig = h["rig"]
        expected |= rig_tensor_names(rig)
        dims |= {
            "J": len(rig["bone_names"]),
            "E": len(rig["expression_names"]),
            "K": len(rig["shape_keys"]),
        }
    if "correction" in h:
        expected |= correction_tensor_names(h["correction"])
    names = set(header) - {"__metadata__"}
    for name in sorted(names - set(expected)):
        raise fail(path, f"has an unexpected tensor {shown(name)}")
    for name in expected:
        if name not in names:
            raise fail(path, f"is missing the tensor '{name}'")
    spans = []
    for name, (dtype, sym) in expected.items():
        entry = header[name]
        if not isinstance(entry, dict):
            raise fail(path, f"has a corrupt entry for '{name}'")
        shape, offsets = entry.get("shape"), entry.get("data_offsets")
        if entry.get("dtype") != dtype:
            found = shown(entry.get("dtype"))
            raise fail(path, f"stores '{name}' as dtype {found} instead of '{dtype}'")
        if (
            not isinstance(shape, list)
            or len(shape) != len(sym)
            or not all(_is_int(s) and s >= 0 for s in shape)
        ):
            raise fail(path, f"has a corrupt shape for '{name}'")
        for s, want in zip(shape, sym, strict=True):
            want = dims.setdefault(want, s) if isinstance(want, str) else want
            if s != want:
                raise fail(path, f"stores '{name}' with a shape inconsistent with the rest")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_int(o) for o in offsets)
        ):
            raise fail(path, f"has corrupt data offsets for '{name}'")
        nbytes = _DTYPE_BYTES[dtype] * math.prod(shape)
        if offsets[1] - offsets[0] != nbytes:
            raise fail(path, f"has data offsets for '{name}' that do not match its shape")
        spans.append(TensorSpan(name, dtype, tuple(shape), offsets[0], offsets[1]))
    if dims["V"] < 3 or dims["F"] < 1:
        raise fail(path, "has an empty body mesh")
    if dims.get("W", 0) > dims.get("J", 0):
        raise fail(path, "stores more skinning weights per vertex than it has bones")
    spans.sort(key=lambda span: (span.begin, span.end))
    end = 0
    for span in spans:
        if span.begin != end:
            raise fail(path, f"has overlapping or gapped tensor data at '{span.name}'")
        end = span.end
    if end > data_size:
        needs = f"{end:,}" if end < 10**15 else "an absurd number of"
        has = f"{data_size:,}"
        raise fail(path, f"is truncated (its tensor data needs {needs} bytes but has {has})")
    if end < data_size:
        raise fail(path, f"has {data_size - end:,} unexpected bytes after its tensor data")
    return tuple(spans)


def read_layout(path: Path) -> LcaLayout:
    """The layout of ``path`` after every check that needs no tensor data; LcaFileError if bad."""
    size = _open_checks(path)
    if size == 0:
        raise fail(path, "is empty (0 bytes)")
    try:
        with open(path, "rb") as f:
            prefix = f.read(8)
            for magic, kind in _MAGIC:
                if prefix.startswith(magic):
                    raise fail(path, f"is not an LCA avatar file (it looks like {kind})", NOT_LCA)
            if size < 8:
                raise fail(path, "is too short to be an LCA avatar file (under 8 bytes)")
            (n,) = struct.unpack("<Q", prefix)
            if n > MAX_HEADER_BYTES:
                raise fail(
                    path, "is not an LCA avatar file (its header size is implausible)", NOT_LCA
                )
            if n > size - 8:
                problem = f"its header length {n:,} does not fit in the file's {size:,} bytes"
                raise fail(path, f"is truncated or corrupt ({problem})")
            raw = f.read(n)
    except OSError as err:
        raise fail(path, f"cannot be read ({err.strerror})", NOT_LCA) from None
    try:
        header = _parse_json(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        header = None
    if not isinstance(header, dict):
        raise fail(path, "is not an LCA avatar file (its header is not valid JSON)", NOT_LCA)
    h = _parse_lca_header(path, header.get("__metadata__"))
    spans = _check_layout(path, header, h, size - 8 - n)
    return LcaLayout(lca=h, data_start=8 + n, spans=spans)


CHECK_ROWS = 1 << 18
"""Rows a value check looks at in one go (temporaries stay small, whatever N a file
declares); the torch and numpy readers and the rig check share it."""
INDEXED_FIELDS = {
    "binding.triangle": "triangle",
    "body.faces": "face vertex",
    "binding.part": "body-part",
    "correction.anchor_index": "anchor",
}
"""Index tensors of a file, and what their entries index (for the sentence of a bad one)."""


CHECKSUM_CHUNK = 1 << 20
"""Bytes read at a time while the data section is checksummed."""
RECREATE = "re-export it, or create the avatar again with `lca create`"
"""The remedy of a damaged file's sentence."""


def verify_checksum(path: Path, f, layout: LcaLayout) -> None:
    """Stream the data section of open file ``f`` through BLAKE2b; LcaFileError if it differs."""
    digest = hashlib.blake2b(digest_size=16)
    f.seek(layout.data_start)
    left = layout.data_size
    while left:
        chunk = f.read(min(left, CHECKSUM_CHUNK))
        if not chunk:
            raise fail(path, "changed while it was being read", "try again")
        digest.update(chunk)
        left -= len(chunk)
    if CHECKSUM_PREFIX + digest.hexdigest() != layout.lca["data_checksum"]:
        raise fail(path, "is damaged (its data does not match its checksum)", RECREATE)
