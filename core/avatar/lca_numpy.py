"""The `.lca` reader on numpy alone: what Blender runs to import an avatar without torch.

It reads the file ``lca_file`` writes (see there for the layout) with the same checks, in
the same order, and the same one-sentence errors (``LcaFileError``), as ``lca_file.load_lca``:

- the header within memory bounds, and the whole layout (names, dtypes, shapes, offsets,
  sizes against the file size) from the header alone: ``lca_header.read_layout``, shared;
- the checksum of the data section, streamed before any tensor is read;
- each tensor read straight into its own buffer and value-checked (indices in range, finite
  and bounded floats, barycentric coordinates, non-zero rotations) before the next one is read;
  the rig section's arrays (schema 3) with ``lca_rig``'s checks, which the torch reader calls
  too; the pose correction's (schema 4) like the other arrays (anchor indices in range,
  finite bounded floats).

Blender's native splats (5.3+, Geometry Nodes, no torch) cannot evaluate the pose correction;
``AvatarArrays.correction`` tells the importer that the file holds one, so that it can say so.

It returns numpy arrays equal, bit for bit, to the tensors ``load_lca`` returns (tested).
Letters: N Gaussians, V vertices, F triangles, K SH coefficients per channel. Importing this
module imports no torch (``core.avatar``'s names load lazily; a test checks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .lca_header import (
    BARYCENTRIC_TOLERANCE,
    CHECK_ROWS,
    INDEXED_FIELDS,
    MAX_ABS_LOG_SCALE,
    MAX_ABS_VALUE,
    NOT_LCA,
    LcaLayout,
    TensorSpan,
    fail,
    read_layout,
    verify_checksum,
)
from .lca_rig import RigArrays, rig_array_problem, rig_from_section, weights_problem


@dataclass(frozen=True)
class BindingArrays:
    """The binding of N Gaussians (``core.avatar.GaussianBinding``'s fields, as numpy).

    triangle, part: (N,) int64; barycentric, offset, log_scale: (N, 3) float32;
    rotation: (N, 4) float32 wxyz; opacity_logit: (N,) float32; sh: (N, K, 3) float32.
    """

    triangle: np.ndarray
    barycentric: np.ndarray
    offset: np.ndarray
    rotation: np.ndarray
    log_scale: np.ndarray
    opacity_logit: np.ndarray
    sh: np.ndarray
    part: np.ndarray

    @property
    def count(self) -> int:
        return int(self.triangle.shape[0])

    @property
    def sh_degree(self) -> int:
        return math.isqrt(int(self.sh.shape[1])) - 1


@dataclass(frozen=True)
class BodyInfo:
    """The body model an avatar was made on (``core.avatar.BodyIdentity``'s fields)."""

    model: str
    model_version: str
    shape: dict[str, float]


@dataclass(frozen=True)
class CorrectionArrays:
    """The pose correction (``core.avatar.pose_correction.PoseCorrection``'s fields, as numpy):
    bones J, expressions E; fc1_weight (H, 3J + E), fc1_bias (H,), fc2_weight (3M, H),
    fc2_bias (3M,), anchor_weight (N, k): float32; anchor_index (N, k) int64."""

    bones: int
    expressions: int
    fc1_weight: np.ndarray
    fc1_bias: np.ndarray
    fc2_weight: np.ndarray
    fc2_bias: np.ndarray
    anchor_index: np.ndarray
    anchor_weight: np.ndarray


@dataclass(frozen=True)
class AvatarArrays:
    """A whole `.lca` file as numpy (``core.avatar.Avatar``'s fields).

    canonical_vertices: (V, 3) float32; faces: (F, 3) int64; rig: the stored rig (schema 3),
    or None where the file has none; correction: the stored pose correction (schema 4), or None.
    """

    binding: BindingArrays
    body: BodyInfo
    canonical_vertices: np.ndarray
    faces: np.ndarray
    part_names: tuple[str, ...]
    up_axis: str
    metadata: dict[str, str]
    rig: RigArrays | None = None
    correction: CorrectionArrays | None = None

    @property
    def count(self) -> int:
        return self.binding.count


def array_problem(
    name: str, a: np.ndarray, faces: int, vertices: int, parts: int, anchors: int = 0
) -> str | None:
    """Why one named `.lca` array is unusable, or None: ``core.avatar.values.tensor_problem``
    on numpy, with the same bounds and sentences.

    faces, vertices, parts, anchors: how many triangles, vertices, body parts and correction
    anchors indices may point into.
    """
    if name in INDEXED_FIELDS:
        limit = {
            "binding.triangle": faces,
            "body.faces": vertices,
            "correction.anchor_index": anchors,
        }.get(name, parts)
        if a.size and (int(a.min()) < 0 or int(a.max()) >= limit):
            bad = int(a.min()) if int(a.min()) < 0 else int(a.max())
            return f"has {INDEXED_FIELDS[name]} index {bad} in '{name}', outside 0..{limit - 1}"
        return None
    bound = MAX_ABS_LOG_SCALE if name == "binding.log_scale" else MAX_ABS_VALUE
    for start in range(0, a.shape[0] if a.size else 0, CHECK_ROWS):
        problem = _float_problem(name, a[start : start + CHECK_ROWS], bound)
        if problem is not None:
            return problem
    return None


def _float_problem(name: str, a: np.ndarray, bound: float) -> str | None:
    """``array_problem`` for some rows of a float32 array."""
    with np.errstate(invalid="ignore", over="ignore"):
        lo, hi = float(a.min()), float(a.max())  # NaN propagates into both
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return f"has non-finite values (NaN or Inf) in '{name}'"
        if max(-lo, hi) > bound:
            return f"has values beyond +-{bound:g} in '{name}', too large to render"
        if name == "binding.barycentric":
            if lo < -BARYCENTRIC_TOLERANCE:
                return "has negative barycentric coordinates in 'binding.barycentric'"
            if float(np.abs(a.sum(axis=-1) - 1.0).max()) > BARYCENTRIC_TOLERANCE:
                return "has barycentric coordinates that do not sum to 1 in 'binding.barycentric'"
        if name == "binding.rotation" and float(np.sqrt((a * a).sum(axis=-1)).min()) < 1e-8:
            return "has zero-length rotation quaternions in 'binding.rotation'"
    return None


def _read_array(path: Path, f, span: TensorSpan, data_start: int) -> np.ndarray:
    """The array ``span`` read from open file ``f`` into a buffer of its own (little-endian)."""
    a = np.empty(span.shape, dtype="<i4" if span.dtype == "I32" else "<f4")
    if a.size:
        f.seek(data_start + span.begin)
        if f.readinto(memoryview(a).cast("B")) != span.end - span.begin:
            raise fail(path, "changed while it was being read", "try again")
    return a


def _read_arrays(path: Path, layout: LcaLayout) -> dict[str, np.ndarray]:
    """Every array of ``path``, each value-checked as soon as it is read, in file order."""
    h = layout.lca
    shapes = {span.name: span.shape for span in layout.spans}
    limits = (
        shapes["body.faces"][0],
        shapes["body.canonical_vertices"][0],
        len(h["part_names"]),
        h["correction"]["anchors"] if "correction" in h else 0,
    )
    bones = len(h["rig"]["bone_names"]) if "rig" in h else 0
    arrays = {}
    try:
        with open(path, "rb") as f:
            if h["schema_version"] >= 2:
                verify_checksum(path, f, layout)
            for span in layout.spans:
                a = _read_array(path, f, span, layout.data_start)
                if span.name.startswith("rig."):
                    problem = rig_array_problem(span.name, a, bones)
                else:
                    problem = array_problem(span.name, a, *limits)
                if problem is not None:
                    raise fail(path, problem)
                arrays[span.name] = a
            if "rig" in h:
                problem = weights_problem(arrays["rig.weight_bones"], arrays["rig.weight_values"])
                if problem is not None:
                    raise fail(path, problem)
            if f.read(1):
                raise fail(path, "changed while it was being read", "try again")
    except OSError as err:
        raise fail(path, f"cannot be read ({err.strerror})", NOT_LCA) from None
    return arrays


def load_lca_arrays(path: Path | str) -> AvatarArrays:
    """Read and validate a `.lca` file without torch; LcaFileError (one sentence) if unusable.

    Returns float32 arrays and int64 indices, equal to what ``lca_file.load_lca`` returns,
    and the stored rig, equal to what ``lca_file.load_lca_with_rig`` returns.
    """
    path = Path(path)
    layout = read_layout(path)
    arrays = _read_arrays(path, layout)
    h = layout.lca

    def field(name: str) -> np.ndarray:
        a = arrays[f"binding.{name}"]
        return a.astype(np.int64) if name in ("triangle", "part") else a.astype(np.float32)

    names = ("triangle", "barycentric", "offset", "rotation", "log_scale", "opacity_logit")
    body = h["body"]
    canonical_vertices = arrays["body.canonical_vertices"].astype(np.float32)
    faces = arrays["body.faces"].astype(np.int64)
    rig = None
    if "rig" in h:
        rig = rig_from_section(h["rig"], arrays, canonical_vertices, faces, h["up_axis"])
    correction = None
    if "correction" in h:
        c = h["correction"]
        floats = ("fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias", "anchor_weight")
        correction = CorrectionArrays(
            bones=c["bones"],
            expressions=c["expressions"],
            anchor_index=arrays["correction.anchor_index"].astype(np.int64),
            **{name: arrays[f"correction.{name}"].astype(np.float32) for name in floats},
        )
    return AvatarArrays(
        binding=BindingArrays(**{name: field(name) for name in (*names, "sh", "part")}),
        body=BodyInfo(
            model=body["model"],
            model_version=body["model_version"],
            shape={k: float(v) for k, v in body["shape"].items()},
        ),
        canonical_vertices=canonical_vertices,
        faces=faces,
        part_names=tuple(h["part_names"]),
        up_axis=h["up_axis"],
        metadata=dict(h["metadata"]),
        rig=rig,
        correction=correction,
    )
