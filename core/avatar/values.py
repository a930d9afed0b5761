"""Which avatar values can be used: one check, shared by the `.lca` reader, its writer and
Blender's avatar object.

Letters: N Gaussians, V mesh vertices, F triangles, K SH coefficients per channel.

Every tensor is checked alone (the reader checks each one as soon as it is read, so a hostile
file is refused before the rest of it is in memory). Beyond finiteness, floating-point values
are bounded so that every command can pose and render them in float32:

- ``binding.log_scale``: |x| <= 20. A scale is ``exp(log_scale)`` triangle sizes; e^20 is
  5e8, far beyond any real avatar (the demo's log-scales lie in -4.1..2.4), while e^100
  overflows float32 and made renders fail.
- every other float (vertices in metres, offsets in triangle sizes, rotations, opacity
  logits, SH): |x| <= 1e4. Real avatars hold |vertices| < 1 m, |offsets| < 0.5, |SH| < 2 and
  opacity logits under 7; 1e4 leaves a margin of more than 1,000 while keeping a posed,
  framed avatar finite (3e38 offsets broke the camera's look-at).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..errors import LcaError
from .avatar import Avatar
from .lca_header import BARYCENTRIC_TOLERANCE as _BARY_TOL
from .lca_header import CHECK_ROWS, INDEXED_FIELDS
from .lca_header import MAX_ABS_LOG_SCALE as MAX_ABS_LOG_SCALE
from .lca_header import MAX_ABS_VALUE as MAX_ABS_VALUE


@dataclass(frozen=True)
class IndexRanges:
    """How many triangles, vertices, body parts and correction anchors an avatar's indices may
    point into."""

    faces: int
    vertices: int
    parts: int
    anchors: int = 0

    def limit(self, name: str) -> int:
        return {
            "binding.triangle": self.faces,
            "body.faces": self.vertices,
            "correction.anchor_index": self.anchors,
        }.get(name, self.parts)


def tensor_problem(name: str, t: Tensor, ranges: IndexRanges) -> str | None:
    """Why the values of one named avatar tensor are unusable, or None.

    name: a tensor name of the `.lca` layout ("binding.offset", "body.faces", ...).
    t: its values (any integer dtype for indices, any float dtype for the rest).
    """
    if name in INDEXED_FIELDS:
        limit = ranges.limit(name)
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= limit):
            bad = int(t.min()) if int(t.min()) < 0 else int(t.max())
            return f"has {INDEXED_FIELDS[name]} index {bad} in '{name}', outside 0..{limit - 1}"
        return None
    bound = MAX_ABS_LOG_SCALE if name == "binding.log_scale" else MAX_ABS_VALUE
    if not t.numel():
        return None
    for rows in t.split(CHECK_ROWS):  # temporaries stay small, whatever N a file declares
        problem = _float_problem(name, rows, bound)
        if problem is not None:
            return problem
    return None


def _float_problem(name: str, t: Tensor, bound: float) -> str | None:
    """``tensor_problem`` for some rows of a floating-point tensor."""
    lo, hi = (float(x) for x in torch.aminmax(t))  # NaN propagates into both
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"has non-finite values (NaN or Inf) in '{name}'"
    if max(-lo, hi) > bound:
        return f"has values beyond +-{bound:g} in '{name}', too large to render"
    if name == "binding.barycentric":
        if lo < -_BARY_TOL:
            return "has negative barycentric coordinates in 'binding.barycentric'"
        if float((t.sum(dim=-1) - 1.0).abs().max()) > _BARY_TOL:
            return "has barycentric coordinates that do not sum to 1 in 'binding.barycentric'"
    if name == "binding.rotation" and float(t.norm(dim=-1).min()) < 1e-8:
        return "has zero-length rotation quaternions in 'binding.rotation'"
    return None


def avatar_tensors(avatar: Avatar) -> dict[str, Tensor]:
    """The avatar's tensors under their `.lca` names (binding.*: (N, ...), body.*: (V|F, 3),
    and correction.* where the avatar carries a pose correction)."""
    b = avatar.binding
    correction = {} if avatar.correction is None else avatar.correction.tensors()
    return correction | {
        "binding.triangle": b.triangle,
        "binding.barycentric": b.barycentric,
        "binding.offset": b.offset,
        "binding.rotation": b.rotation,
        "binding.log_scale": b.log_scale,
        "binding.opacity_logit": b.opacity_logit,
        "binding.sh": b.sh,
        "binding.part": b.part,
        "body.canonical_vertices": avatar.canonical_vertices,
        "body.faces": avatar.faces,
    }


def avatar_problem(avatar: Avatar) -> str | None:
    """Why ``avatar``'s values are unusable (the same checks as loading a `.lca`), or None."""
    ranges = IndexRanges(
        faces=int(avatar.faces.shape[0]),
        vertices=int(avatar.canonical_vertices.shape[0]),
        parts=len(avatar.part_names),
        anchors=0 if avatar.correction is None else avatar.correction.anchors,
    )
    for name, t in avatar_tensors(avatar).items():
        problem = tensor_problem(name, t, ranges)
        if problem is not None:
            return problem
    return None


def require_gaussians(avatar: Avatar, source: str) -> Avatar:
    """``avatar`` if it has Gaussians to pose, render or export; else LcaError naming ``source``."""
    if avatar.count == 0:
        raise LcaError(
            f"'{source}' holds an avatar with no Gaussians, so there is nothing to render or "
            "export; create it again with `lca create`."
        )
    return avatar
