"""The avatar: Gaussians bound to body-mesh triangles, the body identity and metadata.

Letters: N Gaussians, V mesh vertices, F triangles, K spherical-harmonics coefficients
per channel (1, 4, 9, 16 for degree 0..3).

The one invariant (DESIGN.md section 3): every Gaussian is bound to one triangle. Its world
state is computed from the posed mesh by :func:`core.deform.deform_gaussians`; nothing here
stores world-space positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from ..errors import LcaError
from ..render.sh import SH_COUNTS, SH_DEGREES
from .dtypes import require_dtype
from .lca_header import SCHEMA_VERSION as SCHEMA_VERSION  # its home is the header module
from .pose_correction import PoseCorrection


@dataclass(frozen=True)
class GaussianBinding:
    """Per-Gaussian binding to the body mesh, in the triangle's local frame.

    triangle: (N,) int64 index into the body mesh's triangles.
    barycentric: (N, 3) barycentric coordinates in the triangle (sum to 1).
    offset: (N, 3) offset from the barycentric point along (tangent, bitangent, normal),
        in units of the triangle's size (sqrt of twice its area; see core.deform.frames).
    rotation: (N, 4) unit quaternion, wxyz, Gaussian -> triangle frame.
    log_scale: (N, 3) log of the standard deviations in units of the triangle's size.
    opacity_logit: (N,) logit of the opacity.
    sh: (N, K, 3) spherical harmonics as in 3DGS PLY files (sRGB-encoded DC terms).
    part: (N,) int64 body-part index into ``Avatar.part_names``.

    Building one checks the shapes (one N throughout, K in 1, 4, 9, 16) and the dtypes
    (integer triangle and part, floating-point rest) and raises LcaError if they are wrong.
    """

    triangle: Tensor
    barycentric: Tensor
    offset: Tensor
    rotation: Tensor
    log_scale: Tensor
    opacity_logit: Tensor
    sh: Tensor
    part: Tensor

    def __post_init__(self) -> None:
        for name in BINDING_FIELDS:
            if not isinstance(getattr(self, name), Tensor):
                kind = type(getattr(self, name)).__name__
                raise LcaError(f"GaussianBinding.{name} is a {kind}; pass a torch tensor.")
        n = int(self.triangle.shape[0]) if self.triangle.ndim else 0
        k = int(self.sh.shape[1]) if self.sh.ndim == 3 else 0
        for name, width in _FIELD_WIDTHS:
            tensor = getattr(self, name)
            if name == "sh":
                width = (k, 3) if k in SH_COUNTS else (-1, 3)  # -1: no shape matches
            if tuple(tensor.shape) != (n, *width):
                shape = "(N, K, 3), K in 1, 4, 9, 16," if name == "sh" else _shown(width)
                raise LcaError(
                    f"GaussianBinding.{name} has shape {tuple(tensor.shape)}, not {shape} with "
                    f"N = {n} (the length of triangle); give every field one row per Gaussian."
                )
            require_dtype("GaussianBinding", name, tensor, integer=name in _INDEX_FIELDS)

    @property
    def count(self) -> int:
        return int(self.triangle.shape[0])

    @property
    def sh_degree(self) -> int:
        return SH_DEGREES[int(self.sh.shape[1])]

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None):
        """A copy on ``device``; floating tensors cast to ``dtype`` when given."""

        def move(t: Tensor) -> Tensor:
            if dtype is not None and t.is_floating_point():
                return t.to(device=device, dtype=dtype)
            return t.to(device=device)

        return GaussianBinding(**{name: move(getattr(self, name)) for name in BINDING_FIELDS})


BINDING_FIELDS = (
    "triangle",
    "barycentric",
    "offset",
    "rotation",
    "log_scale",
    "opacity_logit",
    "sh",
    "part",
)

_FIELD_WIDTHS = (
    ("triangle", ()),
    ("barycentric", (3,)),
    ("offset", (3,)),
    ("rotation", (4,)),
    ("log_scale", (3,)),
    ("opacity_logit", ()),
    ("sh", ()),  # (K, 3), K read from the tensor
    ("part", ()),
)
"""Each binding field and its shape after N."""
_INDEX_FIELDS = frozenset({"triangle", "part"})


def _shown(width: tuple[int, ...]) -> str:
    """The shape ``(N, *width)`` as written in docstrings: (N,), (N, 3)."""
    return "(N,)" if not width else f"(N, {', '.join(map(str, width))})"


@dataclass(frozen=True)
class BodyIdentity:
    """Which body the avatar is bound to and its shape.

    model: body model id, e.g. "anny" or "smplx".
    model_version: version of the body model package the binding was made with.
    shape: shape parameter name -> value (Anny phenotypes in [0, 1], SMPL-X betas).
    """

    model: str
    model_version: str
    shape: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Avatar:
    """A Gaussian avatar in canonical (rest) pose.

    binding: the Gaussians.
    body: the body identity.
    canonical_vertices: (V, 3) float32 body-mesh vertices in the canonical pose and shape,
        metres, in the frame named by ``frame`` (Z-up for Anny).
    faces: (F, 3) int64 triangles of the body mesh.
    part_names: name of each body-part index used by ``binding.part``.
    up_axis: "Z" or "Y", the up axis of the canonical frame.
    metadata: free text key -> value (name, how it was made, seed).
    correction: the network's pose correction (core.avatar.pose_correction) for these N
        Gaussians, or None: posing then adds no correction.

    Building one with a correction for another number of Gaussians raises LcaError.
    """

    binding: GaussianBinding
    body: BodyIdentity
    canonical_vertices: Tensor
    faces: Tensor
    part_names: tuple[str, ...]
    up_axis: str = "Z"
    metadata: dict[str, str] = field(default_factory=dict)
    correction: PoseCorrection | None = None

    def __post_init__(self) -> None:
        c = self.correction
        if c is not None and (not isinstance(c, PoseCorrection) or c.count != self.count):
            raise LcaError(
                "Avatar.correction must be a PoseCorrection with one row per Gaussian "
                f"({self.count}); drop it (correction=None) when the Gaussians change."
            )

    @property
    def count(self) -> int:
        return self.binding.count
