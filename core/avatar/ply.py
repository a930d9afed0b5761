"""Standard 3D Gaussian splatting PLY files (the format of the 3DGS reference code).

One ``vertex`` element, binary little-endian, all properties float32, in this order:

    x y z nx ny nz f_dc_0 f_dc_1 f_dc_2 f_rest_0 .. f_rest_{3(K-1)-1}
    opacity scale_0 scale_1 scale_2 rot_0 rot_1 rot_2 rot_3

Normals are zero; opacity is stored as a logit, scales as logs, rotations as unit wxyz
quaternions. ``f_rest`` is channel-major: every higher-order coefficient of R, then of G,
then of B. Letters: N Gaussians, K SH coefficients per channel (1, 4, 9, 16).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..errors import LcaFileError, OutputError
from ..fileio import atomic_path, check_output_file
from ..render.sh import SH_COUNTS

_MAX_HEADER_BYTES = 64 * 1024
MAX_ABS_LOG_SCALE = 20.0
"""Largest |log-scale| a PLY may hold (log of metres)."""
MAX_ABS_VALUE = 1e6
"""Largest |value| of every other PLY property."""
_REMEDY = "choose a PLY written by `lca export-ply` or another 3D Gaussian splatting tool"

Array = np.ndarray | Tensor


@dataclass(frozen=True)
class PlyGaussians:
    """Gaussians read from a 3DGS PLY, in linear form (float32 numpy arrays).

    means: (N, 3); quats: (N, 4) unit wxyz; scales: (N, 3) linear standard deviations;
    opacities: (N,) in (0, 1); sh: (N, K, 3).
    """

    means: np.ndarray
    quats: np.ndarray
    scales: np.ndarray
    opacities: np.ndarray
    sh: np.ndarray

    @property
    def count(self) -> int:
        return int(self.means.shape[0])


def ply_property_names(sh_k: int) -> list[str]:
    """The 3DGS property names, in file order, for ``sh_k`` SH coefficients per channel."""
    rest = [f"f_rest_{i}" for i in range(3 * (sh_k - 1))]
    return [
        *("x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"),
        *rest,
        *("opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"),
    ]


def _np(x: Array, name: str) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError(f"{name} has non-finite values.")
    return x


def ply_bytes(means: Array, quats: Array, scales: Array, opacities: Array, sh: Array) -> bytes:
    """The complete 3DGS PLY file for N Gaussians (arguments as in :func:`export_ply`)."""
    means, quats, scales = _np(means, "means"), _np(quats, "quats"), _np(scales, "scales")
    opacities, sh = _np(opacities, "opacities"), _np(sh, "sh")
    n = means.shape[0]
    if means.shape != (n, 3) or quats.shape != (n, 4) or scales.shape != (n, 3):
        raise ValueError(
            f"means, quats, scales must be (N, 3), (N, 4), (N, 3), got "
            f"{means.shape}, {quats.shape}, {scales.shape}."
        )
    if opacities.shape != (n,) or sh.ndim != 3 or sh.shape[0] != n or sh.shape[2] != 3:
        raise ValueError(
            f"opacities must be (N,), sh (N, K, 3), got {opacities.shape}, {sh.shape}."
        )
    k = sh.shape[1]
    if k not in SH_COUNTS:
        raise ValueError(f"sh must have K in {SH_COUNTS} coefficients per channel, got {k}.")
    if (scales < 0).any() or (opacities < 0).any() or (opacities > 1).any():
        raise ValueError("scales must be >= 0 and opacities in [0, 1].")
    norm = np.linalg.norm(quats, axis=1, keepdims=True)
    if n and norm.min() < 1e-12:
        raise ValueError("quats must be non-zero.")

    eps = 1e-12
    p = np.clip(opacities, eps, 1.0 - eps)
    names = ply_property_names(k)
    out = np.zeros((n, len(names)), dtype=np.float32)
    out[:, 0:3] = means
    # columns 3:6 are the zero normals
    out[:, 6:9] = sh[:, 0, :]
    # (N, K-1, 3) -> (N, 3, K-1) -> (N, 3(K-1)): channel-major as in 3DGS.
    out[:, 9 : 9 + 3 * (k - 1)] = sh[:, 1:, :].transpose(0, 2, 1).reshape(n, 3 * (k - 1))
    tail = 9 + 3 * (k - 1)
    out[:, tail] = np.log(p) - np.log1p(-p)
    out[:, tail + 1 : tail + 4] = np.log(np.maximum(scales, np.finfo(np.float32).tiny))
    out[:, tail + 4 : tail + 8] = quats / norm
    header = "".join(
        [
            "ply\nformat binary_little_endian 1.0\n",
            f"element vertex {n}\n",
            *(f"property float {name}\n" for name in names),
            "end_header\n",
        ]
    )
    return header.encode("ascii") + out.astype("<f4", copy=False).tobytes()


def export_ply(
    path: Path | str, means: Array, quats: Array, scales: Array, opacities: Array, sh: Array
) -> None:
    """Write a 3DGS PLY atomically (no partial file on failure).

    means: (N, 3) metres; quats: (N, 4) wxyz (normalised on write); scales: (N, 3) linear;
    opacities: (N,) in [0, 1]; sh: (N, K, 3), K in 1, 4, 9, 16.
    Raises ValueError for bad shapes or values, OutputError where ``path`` cannot be written.
    """
    path = Path(path)
    data = ply_bytes(means, quats, scales, opacities, sh)
    check_output_file(path)  # a folder, a name too long, no writable folder: one sentence
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise OutputError(
            f"Cannot write '{path}' ({reason}); choose a writable folder with free space."
        ) from None


def _fail(path: Path, problem: str) -> LcaFileError:
    return LcaFileError(f"'{path}' {problem}; {_REMEDY}.")


def _read_header(path: Path, data: bytes) -> tuple[int, list[str], int]:
    """(vertex count, property names, data start) from a binary little-endian PLY header."""
    if not data.startswith(b"ply\n"):
        raise _fail(path, "is not a PLY file")
    end = data.find(b"end_header\n", 0, _MAX_HEADER_BYTES)
    if end < 0:
        raise _fail(path, "has no complete PLY header")
    try:
        lines = data[:end].decode("ascii").split("\n")[1:-1]
    except UnicodeDecodeError:
        raise _fail(path, "has a PLY header that is not ASCII text") from None
    count, names, elements = -1, [], 0
    for line in lines:
        words = line.split()
        if not words or words[0] in ("comment", "obj_info"):
            continue
        if words[0] == "format":
            if words[1:] != ["binary_little_endian", "1.0"]:
                fmt = " ".join(words[1:2])[:40] or "unknown"
                raise _fail(path, f"is a PLY in {fmt} format, not binary little-endian")
        elif words[0] == "element":
            elements += 1
            if len(words) != 3 or words[1] != "vertex" or not words[2].isdigit() or elements > 1:
                raise _fail(path, "is not a 3D Gaussian splatting PLY (unexpected elements)")
            count = int(words[2])
        elif words[0] == "property":
            if len(words) != 3 or words[1] not in ("float", "float32"):
                raise _fail(path, f"is not a 3D Gaussian splatting PLY (property {line[:40]!r})")
            names.append(words[2])
        else:
            raise _fail(path, f"has an unknown PLY header line {line[:40]!r}")
    if count < 0:
        raise _fail(path, "has no vertex element")
    return count, names, end + len(b"end_header\n")


def _value_problem(table: np.ndarray, col: dict[str, int]) -> str | None:
    """Why the (N, P) float64 property ``table`` (columns by name ``col``) is unusable, or None.

    Bounds (as for avatars, core.avatar.values): log-scales |x| <= 20 (e^20 m is 5e8 m;
    3DGS scenes hold about -12..3), every other value |x| <= 1e6 (positions in metres: a
    margin for large scenes, yet finite when rendered in float32).
    """
    if not np.isfinite(table).all():
        return "has non-finite values (NaN or Inf)"
    scales = table[:, [col["scale_0"], col["scale_1"], col["scale_2"]]]
    if scales.size and np.abs(scales).max() > MAX_ABS_LOG_SCALE:
        return f"has log-scales beyond +-{MAX_ABS_LOG_SCALE:g}, too large to render"
    if table.size and np.abs(table).max() > MAX_ABS_VALUE:
        return f"has values beyond +-{MAX_ABS_VALUE:g}, too large to render"
    quats = table[:, [col["rot_0"], col["rot_1"], col["rot_2"], col["rot_3"]]]
    if quats.size and np.linalg.norm(quats, axis=1).min() < 1e-8:
        return "has zero-length rotation quaternions"
    return None


def read_ply(path: Path | str) -> PlyGaussians:
    """Read a 3DGS PLY (binary little-endian, float32 properties) into linear form.

    Properties are found by name, so any order is accepted; raises LcaFileError when the
    file is missing, is not a 3DGS PLY, is truncated, or holds values that cannot be
    rendered (non-finite, absurd scales, zero quaternions).
    """
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "does not exist or is not a file")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise _fail(path, f"cannot be read ({err.strerror})") from None
    count, names, start = _read_header(path, data)
    n_rest = sum(name.startswith("f_rest_") for name in names)
    if n_rest not in (3 * (k - 1) for k in SH_COUNTS):
        raise _fail(path, f"is not a 3D Gaussian splatting PLY ({n_rest} f_rest properties)")
    k = n_rest // 3 + 1
    required = [n for n in ply_property_names(k) if n not in ("nx", "ny", "nz")]
    missing = [n for n in required if n not in names]
    if missing or len(set(names)) != len(names):
        what = f"no '{missing[0]}' property" if missing else "repeated properties"
        raise _fail(path, f"is not a 3D Gaussian splatting PLY ({what})")
    expected = count * len(names) * 4
    if len(data) - start != expected:
        raise _fail(path, f"has {len(data) - start} bytes of data instead of {expected}")
    table = np.frombuffer(data, dtype="<f4", count=count * len(names), offset=start)
    table = table.reshape(count, len(names)).astype(np.float64)
    col = {name: i for i, name in enumerate(names)}
    problem = _value_problem(table, col)
    if problem is not None:
        raise _fail(path, problem)

    def cols(*keys: str) -> np.ndarray:
        return table[:, [col[key] for key in keys]]

    rest = cols(*(f"f_rest_{i}" for i in range(n_rest))).reshape(count, 3, k - 1)
    sh = np.concatenate(
        [cols("f_dc_0", "f_dc_1", "f_dc_2")[:, None, :], rest.transpose(0, 2, 1)], 1
    )
    return PlyGaussians(
        means=cols("x", "y", "z").astype(np.float32),
        quats=cols("rot_0", "rot_1", "rot_2", "rot_3").astype(np.float32),
        scales=np.exp(cols("scale_0", "scale_1", "scale_2")).astype(np.float32),
        opacities=(1.0 / (1.0 + np.exp(-table[:, col["opacity"]]))).astype(np.float32),
        sh=sh.astype(np.float32),
    )
