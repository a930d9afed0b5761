"""The `.lca` avatar file: safetensors tensors plus one JSON header (DESIGN.md sections 4, 6).

Layout (a standard safetensors file, readable by any safetensors reader):

    binding.triangle        (N,)       I32   (int64 in memory)
    binding.barycentric     (N, 3)     F32
    binding.offset          (N, 3)     F32
    binding.rotation        (N, 4)     F32   wxyz
    binding.log_scale       (N, 3)     F32
    binding.opacity_logit   (N,)       F32
    binding.sh              (N, K, 3)  F32
    binding.part            (N,)       I32   (int64 in memory)
    body.canonical_vertices (V, 3)     F32
    body.faces              (F, 3)     I32   (int64 in memory)

``__metadata__["lca"]`` is compact JSON with sorted keys: format, schema_version, units,
canonical_frame, up_axis, quaternion_order, color, sh_degree, count, body, part_names,
metadata. There are no timestamps, so the same avatar gives the same bytes.

The reader checks the whole layout (sizes, dtypes, shapes, offsets, schema version) from the
header alone before it reads tensor data, then checks index ranges and finiteness. Nothing in
a file is ever executed (no pickle).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import struct
from pathlib import Path

import safetensors
import safetensors.torch
import torch
from torch import Tensor

from ..errors import LcaFileError, OutputError
from ..fileio import atomic_path
from ..render.sh import SH_COUNTS
from .avatar import BINDING_FIELDS, SCHEMA_VERSION, Avatar, BodyIdentity, GaussianBinding

FORMAT = "lca"
UNITS = "m"
QUATERNION_ORDER = "wxyz"
COLOR = "3dgs-sh-srgb"
UP_AXES = ("Z", "Y")
MAX_HEADER_BYTES = 100 * 1024 * 1024
"""Largest safetensors JSON header the reader accepts (the safetensors library's own cap)."""

_INT_FIELDS = frozenset({"triangle", "part"})
_DTYPE_BYTES = {"F32": 4, "I32": 4}
_BARY_TOL = 1e-3
_INT32_MAX = 2**31 - 1

_NOT_LCA = "choose a .lca file written by `lca create` or the Blender extension"
_DAMAGED = "restore it from a backup or create the avatar again with `lca create`"
_MAGIC = (
    (b"ply\n", "a PLY point cloud"),
    (b"ply\r\n", "a PLY point cloud"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"BLENDER", "a .blend file"),
    (b"PK\x03\x04", "a ZIP archive, perhaps a PyTorch checkpoint"),
)


def _shown(value: object) -> str:
    """``value`` from a file, quoted for a message if it is a short plain name, else "?"."""
    text = str(value)
    return f"'{text}'" if re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", text) else "?"


def _fail(path: Path, problem: str, remedy: str = _DAMAGED) -> LcaFileError:
    """One sentence: the file, what is wrong, what to do."""
    return LcaFileError(f"'{path}' {problem}; {remedy}.")


def _tensor_names(sh_k: int) -> dict[str, tuple[str, tuple[str | int, ...]]]:
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


# ----------------------------------------------------------------------------- checks


def _value_problem(tensors: dict[str, Tensor], n_parts: int) -> str | None:
    """Why the tensor values are unusable (indices, finiteness, barycentrics), or None.

    tensors: the ten named tensors of the layout above (any integer dtype for indices).
    """
    n_verts = int(tensors["body.canonical_vertices"].shape[0])
    n_faces = int(tensors["body.faces"].shape[0])
    ranges = (
        ("binding.triangle", "triangle", n_faces),
        ("body.faces", "face vertex", n_verts),
        ("binding.part", "body-part", n_parts),
    )
    for name, what, limit in ranges:
        t = tensors[name]
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= limit):
            bad = int(t.min()) if int(t.min()) < 0 else int(t.max())
            return f"has {what} index {bad} in '{name}', outside 0..{limit - 1}"
    for name, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            return f"has non-finite values (NaN or Inf) in '{name}'"
    bary = tensors["binding.barycentric"]
    if bary.numel():
        if float(bary.min()) < -_BARY_TOL:
            return "has negative barycentric coordinates in 'binding.barycentric'"
        if float((bary.sum(dim=-1) - 1.0).abs().max()) > _BARY_TOL:
            return "has barycentric coordinates that do not sum to 1 in 'binding.barycentric'"
    rot = tensors["binding.rotation"]
    if rot.numel() and float(rot.norm(dim=-1).min()) < 1e-8:
        return "has zero-length rotation quaternions in 'binding.rotation'"
    return None


def _check_avatar(avatar: Avatar) -> None:
    """Raise ValueError if ``avatar`` cannot be written as a valid `.lca` file."""
    b = avatar.binding
    n = b.count
    k = int(b.sh.shape[1])
    v = int(avatar.canonical_vertices.shape[0])
    f = int(avatar.faces.shape[0])
    for name, (_, sym) in _tensor_names(k).items():
        if name.startswith("binding."):
            continue  # GaussianBinding checked its shapes and dtypes when it was built
        t = _avatar_tensor(avatar, name)
        want = tuple({"N": n, "V": v, "F": f}.get(s, s) for s in sym)
        if tuple(t.shape) != want:
            raise ValueError(f"{name} must have shape {want}, got {tuple(t.shape)}.")
        if name == "body.faces" and (t.is_floating_point() or t.is_complex()):
            raise ValueError(f"{name} must be an integer tensor, got {t.dtype}.")
    if max(n, v, f, len(avatar.part_names)) > _INT32_MAX:
        raise ValueError("avatar is too large for 32-bit indices.")
    if avatar.up_axis not in UP_AXES:
        raise ValueError(f"up_axis must be one of {UP_AXES}, got {avatar.up_axis!r}.")
    if not all(isinstance(p, str) for p in avatar.part_names):
        raise ValueError("part_names must be strings.")
    if not all(isinstance(a, str) and isinstance(c, str) for a, c in avatar.metadata.items()):
        raise ValueError("metadata must map str -> str.")
    for key, value in avatar.body.shape.items():
        if not isinstance(key, str) or not math.isfinite(float(value)):
            raise ValueError(f"body.shape[{key!r}] must be a finite number under a str key.")
    problem = _value_problem(
        {name: _avatar_tensor(avatar, name) for name in _tensor_names(k)}, len(avatar.part_names)
    )
    if problem is not None:
        raise ValueError(f"avatar {problem}.")


def _avatar_tensor(avatar: Avatar, name: str) -> Tensor:
    if name == "body.canonical_vertices":
        return avatar.canonical_vertices
    if name == "body.faces":
        return avatar.faces
    return getattr(avatar.binding, name.removeprefix("binding."))


# ----------------------------------------------------------------------------- writing


def header_json(avatar: Avatar) -> str:
    """The `lca` header of ``avatar`` as compact JSON with sorted keys."""
    header = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "units": UNITS,
        "canonical_frame": f"{avatar.body.model}-canonical",
        "up_axis": avatar.up_axis,
        "quaternion_order": QUATERNION_ORDER,
        "color": COLOR,
        "sh_degree": avatar.binding.sh_degree,
        "count": avatar.count,
        "body": {
            "model": avatar.body.model,
            "model_version": avatar.body.model_version,
            "shape": {k: float(v) for k, v in avatar.body.shape.items()},
        },
        "part_names": list(avatar.part_names),
        "metadata": dict(avatar.metadata),
    }
    return json.dumps(header, sort_keys=True, separators=(",", ":"), allow_nan=False)


def lca_bytes(avatar: Avatar) -> bytes:
    """The complete `.lca` file of ``avatar`` (deterministic: same avatar, same bytes)."""
    _check_avatar(avatar)
    tensors = {}
    for name, (dtype, _) in _tensor_names(int(avatar.binding.sh.shape[1])).items():
        t = _avatar_tensor(avatar, name).detach().to("cpu")
        t = t.to(torch.int32 if dtype == "I32" else torch.float32).contiguous()
        tensors[name] = t
    return safetensors.torch.save(tensors, metadata={"lca": header_json(avatar)})


def _write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (a temporary file) and flush it to disk."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def save_lca(avatar: Avatar, path: Path | str) -> None:
    """Write ``avatar`` to ``path`` atomically: a failure leaves no file and no temp file.

    Raises ValueError for an inconsistent avatar and OutputError where ``path`` cannot be
    written.
    """
    path = Path(path)
    data = lca_bytes(avatar)
    if path.is_dir():
        raise OutputError(f"Cannot write '{path}' because it is a folder; choose a file name.")
    try:
        with atomic_path(path) as tmp:
            _write_file(tmp, data)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise OutputError(
            f"Cannot write '{path}' ({reason}); choose a writable folder with free space."
        ) from None


# ----------------------------------------------------------------------------- reading


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
    return json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _open_checks(path: Path) -> int:
    """Check ``path`` is an existing regular file; return its size in bytes."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise _fail(path, "does not exist", f"check the path, or {_NOT_LCA}") from None
    except OSError as err:
        raise _fail(path, f"cannot be read ({err.strerror})", _NOT_LCA) from None
    if stat.S_ISDIR(st.st_mode):
        raise _fail(path, "is a folder, not an avatar file", _NOT_LCA)
    if not stat.S_ISREG(st.st_mode):
        raise _fail(path, "is not a regular file", _NOT_LCA)
    return st.st_size


def _parse_lca_header(path: Path, meta: object) -> dict:
    """Validate the `lca` JSON header (from ``__metadata__``) and return it."""
    meta = {} if meta is None else meta
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise _fail(path, "has a corrupt safetensors header (__metadata__ is not text)")
    if not isinstance(meta.get("lca"), str):
        raise _fail(path, "is a safetensors file but not an LCA avatar (no 'lca' header)", _NOT_LCA)
    try:
        h = _parse_json(meta["lca"])
    except (ValueError, RecursionError):
        raise _fail(path, "has a corrupt LCA header (not valid JSON)") from None
    if not isinstance(h, dict) or h.get("format") != FORMAT:
        raise _fail(
            path, "is a safetensors file but not an LCA avatar (format is not 'lca')", _NOT_LCA
        )
    version = h.get("schema_version")
    if not _is_int(version):
        raise _fail(path, "has a corrupt LCA header (schema_version is not an integer)")
    if version != SCHEMA_VERSION:
        raise _fail(
            path,
            f"was written with LCA schema version {version}, but this build reads version "
            f"{SCHEMA_VERSION}",
            "update the LCA Avatar extension and the `lca` package to open it",
        )
    fixed = (("units", UNITS), ("quaternion_order", QUATERNION_ORDER), ("color", COLOR))
    for key, want in fixed:
        if h.get(key) != want:
            raise _fail(path, f"has a corrupt LCA header ({key} is not {want!r})")
    what = _header_problem(h)
    if what is not None:
        raise _fail(path, f"has a corrupt LCA header ({what})")
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
    if not _is_int(h.get("sh_degree")) or h["sh_degree"] not in range(len(SH_COUNTS)):
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
    return None


def _check_layout(path: Path, header: dict, h: dict, data_size: int) -> None:
    """Check every tensor entry against the header: names, dtypes, shapes, offsets, size."""
    expected = _tensor_names(SH_COUNTS[h["sh_degree"]])
    names = set(header) - {"__metadata__"}
    for name in sorted(names - set(expected)):
        raise _fail(path, f"has an unexpected tensor {_shown(name)}")
    for name in expected:
        if name not in names:
            raise _fail(path, f"is missing the tensor '{name}'")
    dims = {"N": h["count"]}
    spans = []
    for name, (dtype, sym) in expected.items():
        entry = header[name]
        if not isinstance(entry, dict):
            raise _fail(path, f"has a corrupt entry for '{name}'")
        shape, offsets = entry.get("shape"), entry.get("data_offsets")
        if entry.get("dtype") != dtype:
            found = _shown(entry.get("dtype"))
            raise _fail(path, f"stores '{name}' as dtype {found} instead of '{dtype}'")
        if (
            not isinstance(shape, list)
            or len(shape) != len(sym)
            or not all(_is_int(s) and s >= 0 for s in shape)
        ):
            raise _fail(path, f"has a corrupt shape for '{name}'")
        for s, want in zip(shape, sym, strict=True):
            want = dims.setdefault(want, s) if isinstance(want, str) else want
            if s != want:
                raise _fail(path, f"stores '{name}' with shape {shape}, inconsistent with the rest")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_int(o) for o in offsets)
        ):
            raise _fail(path, f"has corrupt data offsets for '{name}'")
        nbytes = _DTYPE_BYTES[dtype] * math.prod(shape)
        if offsets[1] - offsets[0] != nbytes:
            raise _fail(path, f"has data offsets for '{name}' that do not match its shape")
        spans.append((offsets[0], offsets[1], name))
    if dims["V"] < 3 or dims["F"] < 1:
        raise _fail(path, "has an empty body mesh")
    end = 0
    for begin, stop, name in sorted(spans):
        if begin != end:
            raise _fail(path, f"has overlapping or gapped tensor data at '{name}'")
        end = stop
    if end > data_size:
        raise _fail(path, f"is truncated (its tensor data needs {end} bytes but has {data_size})")
    if end < data_size:
        raise _fail(path, f"has {data_size - end} unexpected bytes after its tensor data")


def read_lca_header(path: Path | str) -> dict:
    """Validate the file layout of ``path`` without reading tensor data; return the header.

    Returns the parsed `lca` JSON header (see the module docstring). Raises LcaFileError.
    """
    _, h, _ = _read_and_check_header(Path(path))
    return h


def _read_and_check_header(path: Path) -> tuple[dict, dict, int]:
    """(safetensors header, lca header, file size) after all layout checks."""
    size = _open_checks(path)
    if size == 0:
        raise _fail(path, "is empty (0 bytes)")
    try:
        with open(path, "rb") as f:
            prefix = f.read(8)
            for magic, kind in _MAGIC:
                if prefix.startswith(magic):
                    raise _fail(path, f"is not an LCA avatar file (it looks like {kind})", _NOT_LCA)
            if size < 8:
                raise _fail(path, "is too short to be an LCA avatar file (under 8 bytes)")
            (n,) = struct.unpack("<Q", prefix)
            if n > MAX_HEADER_BYTES:
                raise _fail(
                    path, "is not an LCA avatar file (its header size is implausible)", _NOT_LCA
                )
            if n > size - 8:
                problem = f"its header length {n} does not fit in the file's {size} bytes"
                raise _fail(path, f"is truncated or corrupt ({problem})")
            raw = f.read(n)
    except OSError as err:
        raise _fail(path, f"cannot be read ({err.strerror})", _NOT_LCA) from None
    try:
        header = _parse_json(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        header = None
    if not isinstance(header, dict):
        raise _fail(path, "is not an LCA avatar file (its header is not valid JSON)", _NOT_LCA)
    h = _parse_lca_header(path, header.get("__metadata__"))
    _check_layout(path, header, h, size - 8 - n)
    return header, h, size


def load_lca(path: Path | str) -> Avatar:
    """Read and validate a `.lca` file; raise LcaFileError (one sentence) if it is unusable.

    Returns an Avatar with float32 tensors and int64 indices on the CPU.
    """
    path = Path(path)
    _, h, size = _read_and_check_header(path)
    try:
        with open(path, "rb") as f:
            data = f.read(size + 1)
    except OSError as err:
        raise _fail(path, f"cannot be read ({err.strerror})", _NOT_LCA) from None
    if len(data) != size:
        raise _fail(path, "changed while it was being read", "try again")
    try:
        tensors = safetensors.torch.load(data)
    except (safetensors.SafetensorError, ValueError, RuntimeError):
        raise _fail(path, "has corrupt tensor data") from None
    problem = _value_problem(tensors, len(h["part_names"]))
    if problem is not None:
        raise _fail(path, problem)

    def field(name: str) -> Tensor:
        t = tensors[f"binding.{name}"]
        return t.to(torch.int64) if name in _INT_FIELDS else t

    body = h["body"]
    return Avatar(
        binding=GaussianBinding(**{name: field(name) for name in BINDING_FIELDS}),
        body=BodyIdentity(
            model=body["model"],
            model_version=body["model_version"],
            shape={k: float(v) for k, v in body["shape"].items()},
        ),
        canonical_vertices=tensors["body.canonical_vertices"],
        faces=tensors["body.faces"].to(torch.int64),
        part_names=tuple(h["part_names"]),
        up_axis=h["up_axis"],
        metadata=dict(h["metadata"]),
    )
