"""The avatar's stored pose correction: the network's correction MLP and each Gaussian's
anchors, as plain tensors, and its evaluation on a pose (pure torch).

The network (core.model.correction) learns pose- and expression-dependent offsets at M anchor
points; each Gaussian takes its k anchors' offsets, weighted. An avatar made by the network
carries that MLP and those anchors here, so that every place that poses it
(:mod:`core.posing`, the Blender live link) can add the correction to the binding's offsets in
:func:`core.deform.deform_gaussians`: in the triangle frame, on top of the binding, never a
second skinning path. The offsets are exactly zero at the canonical pose (no rotation,
neutral face): the MLP's output at zero is subtracted.

The MLP is Linear -> GELU (exact) -> Linear on the input ``cat(rotations.flatten(), expression)``
((3J + E,)), the very layers of ``core.model.layers.Mlp``, so :func:`correction_offsets` gives
the same offsets as ``LcaNet.pose_correction`` (tested).

Letters: B poses, J bones, E expressions, H hidden units, M anchors, N Gaussians, k anchors
per Gaussian.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F_nn
from torch import Tensor

from ..errors import LcaError
from .dtypes import require_dtype
from .lca_header import correction_tensor_names

CORRECTION_FIELDS = (
    "fc1_weight",
    "fc1_bias",
    "fc2_weight",
    "fc2_bias",
    "anchor_index",
    "anchor_weight",
)
"""The tensors of a PoseCorrection, in the order of their `.lca` names (``correction.<name>``)."""


@dataclass(frozen=True)
class PoseCorrection:
    """The correction MLP of J bones and E expressions and the anchors of N Gaussians.

    bones, expressions: J and E, the MLP's input is (3J + E,).
    fc1_weight: (H, 3J + E), fc1_bias: (H,): the hidden layer (before the GELU).
    fc2_weight: (3M, H), fc2_bias: (3M,): the output layer, M anchors' (x, y, z) offsets in
        the triangle frame, in triangle sizes.
    anchor_index: (N, k) integer, each Gaussian's anchors in 0..M-1.
    anchor_weight: (N, k) float, their weights.

    Building one checks these shapes and dtypes and raises LcaError if they are wrong.
    """

    bones: int
    expressions: int
    fc1_weight: Tensor
    fc1_bias: Tensor
    fc2_weight: Tensor
    fc2_bias: Tensor
    anchor_index: Tensor
    anchor_weight: Tensor

    def __post_init__(self) -> None:
        for name in CORRECTION_FIELDS:
            if not isinstance(getattr(self, name), Tensor):
                kind = type(getattr(self, name)).__name__
                raise LcaError(f"PoseCorrection.{name} is a {kind}; pass a torch tensor.")
        if not all(isinstance(n, int) and n >= 0 for n in (self.bones, self.expressions)):
            raise LcaError("PoseCorrection.bones and .expressions must be counts (ints >= 0).")
        problem = shape_problem(
            {name: tuple(getattr(self, name).shape) for name in CORRECTION_FIELDS},
            self.bones,
            self.expressions,
        )
        if problem is not None:
            raise LcaError(f"PoseCorrection {problem}; build it from the network's correction.")
        for name in CORRECTION_FIELDS:
            require_dtype("PoseCorrection", name, getattr(self, name), name == "anchor_index")

    @property
    def hidden(self) -> int:
        return int(self.fc1_weight.shape[0])

    @property
    def anchors(self) -> int:
        return int(self.fc2_weight.shape[0]) // 3

    @property
    def neighbours(self) -> int:
        return int(self.anchor_index.shape[1])

    @property
    def count(self) -> int:
        return int(self.anchor_index.shape[0])

    def tensors(self) -> dict[str, Tensor]:
        """The tensors under their `.lca` names (``correction.fc1_weight``, ...)."""
        return {f"correction.{name}": getattr(self, name) for name in CORRECTION_FIELDS}


def shape_problem(shapes: dict[str, tuple[int, ...]], bones: int, expressions: int) -> str | None:
    """What is wrong with the fields' ``shapes`` (name -> shape) for J ``bones`` and E
    ``expressions``, or None (the `.lca` layout's: ``lca_header.correction_tensor_names``)."""
    h = shapes["fc1_weight"][0] if len(shapes["fc1_weight"]) == 2 else 0
    m3 = shapes["fc2_weight"][0] if len(shapes["fc2_weight"]) == 2 else 0
    n, k = shapes["anchor_index"] if len(shapes["anchor_index"]) == 2 else (0, 0)
    if h < 1 or m3 < 3 or m3 % 3 or k < 1:
        return "has empty or malformed layers or anchors"
    header = {"bones": bones, "expressions": expressions, "hidden": h, "anchors": m3 // 3}
    for name, (_, sym) in correction_tensor_names(header | {"neighbours": k}).items():
        want = tuple(n if s == "N" else s for s in sym)
        field = name.removeprefix("correction.")
        if shapes[field] != want:
            return f"has {field} of shape {shapes[field]}, not {want}"
    return None


def correction_offsets(correction: PoseCorrection, rotations: Tensor, expression: Tensor) -> Tensor:
    """(B, N, 3) per-Gaussian offsets (triangle frame, triangle sizes) for
    :func:`core.deform.deform_gaussians`'s ``correction``, in poses ``rotations`` (B, J, 3)
    radians with expressions ``expression`` (B, E); exactly zero at the canonical pose."""
    B = rotations.shape[0]
    J, E = correction.bones, correction.expressions
    if tuple(rotations.shape) != (B, J, 3) or tuple(expression.shape) != (B, E):
        raise ValueError(
            f"need rotations (B, {J}, 3) and expression (B, {E}), got "
            f"{tuple(rotations.shape)} and {tuple(expression.shape)}."
        )
    dtype = correction.fc1_weight.dtype
    x = torch.cat((rotations.flatten(1).to(dtype), expression.to(dtype)), dim=-1)  # (B, 3J+E)

    def mlp(inputs: Tensor) -> Tensor:
        hidden = F_nn.gelu(F_nn.linear(inputs, correction.fc1_weight, correction.fc1_bias))
        return F_nn.linear(hidden, correction.fc2_weight, correction.fc2_bias)  # (., 3M)

    out = mlp(x) - mlp(torch.zeros_like(x[:1]))  # (B, 3M)
    # A batch's rows need not round as the lone zero row does: canonical poses get exact zeros.
    out = torch.where(x.any(-1, keepdim=True), out, torch.zeros_like(out))
    anchor_offsets = out.view(B, correction.anchors, 3)
    index = correction.anchor_index.long()
    weight = correction.anchor_weight.to(dtype)
    # offset_bn = sum_k weight_nk anchor_offsets_b,index_nk
    return (anchor_offsets[:, index] * weight[None, ..., None]).sum(-2)
