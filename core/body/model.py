"""The body-model contract every backend (Anny, SMPL-X) fulfils.

Letters: B batch, V vertices, F triangles, J bones, S shape parameters, E expressions.

Pose convention (both backends): ``pose`` (B, J, 3) holds one rotation vector (axis * angle,
radians) per bone, the bone's rotation relative to its parent, expressed in the canonical
world axes (SMPL's convention; Anny's "local-ref"). All zeros is the canonical pose, the pose
avatars are stored in. ``translation`` (B, 3) moves the root.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from torch import Tensor


@dataclass(frozen=True)
class ShapeParameter:
    """A named shape control with its default and range (a slider in Blender)."""

    name: str
    default: float
    minimum: float
    maximum: float


@dataclass(frozen=True)
class BodyOutput:
    """vertices: (B, V, 3) posed vertices, metres; bone_transforms: (B, J, 4, 4) world poses
    of the bones (head position and orientation)."""

    vertices: Tensor
    bone_transforms: Tensor


class BodyModel(Protocol):
    """A parametric body: shape, pose and expression -> mesh vertices and bone transforms."""

    name: str
    """Model id stored in avatar files, e.g. "anny" or "smplx"."""
    version: str
    """Version of the package that provides the model."""
    up_axis: str
    """"Z" or "Y": the up axis of the model's canonical frame."""

    triangles: Tensor
    """(F, 3) int64 vertex indices."""

    uvs: Tensor | None
    """(F, 3, 2) texture coordinates of each triangle corner, or None."""

    bone_names: tuple[str, ...]
    """J bone names, parents before children."""

    bone_parents: tuple[int, ...]
    """J parent indices, -1 for the root."""

    skinning_weights: Tensor
    """(V, J) linear-blend-skinning weights, rows sum to 1."""

    shape_parameters: tuple[ShapeParameter, ...]
    """The S shape controls, in the order ``forward`` takes them."""

    expression_names: tuple[str, ...]
    """The E expression names (the 52 ARKit names for Anny)."""

    part_names: tuple[str, ...]
    """Names of the body parts that ``vertex_parts`` indexes."""

    vertex_parts: Tensor
    """(V,) int64 body-part index of each vertex."""

    def default_shape(self, batch: int = 1) -> Tensor:
        """(B, S) the default shape values."""
        ...

    def forward(
        self,
        shape: Tensor | None = None,
        pose: Tensor | None = None,
        expression: Tensor | None = None,
        translation: Tensor | None = None,
    ) -> BodyOutput:
        """shape (B, S), pose (B, J, 3), expression (B, E), translation (B, 3) -> BodyOutput.

        Any argument left as None takes its default (default shape, canonical pose, neutral
        expression, no translation); B is the largest batch among the given arguments.
        """
        ...
