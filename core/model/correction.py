"""The correction MLP: a pose and an expression -> per-anchor offsets in the triangle frame.

It learns what skinning cannot (cloth folds, bulges): for pose rotations (B, J, 3) and an
expression (B, E), offsets (B, M, 3) at the anchors, exactly zero at the canonical pose
(all zeros, neutral face) because the MLP's output at zero is subtracted. Each Gaussian takes
its anchors' offsets by the decoder's anchor weights; the result goes into
:func:`core.deform.deform_gaussians` as its optional ``correction`` (triangle sizes, in the
triangle frame), on top of the binding, never as a second skinning path.

An avatar the network makes carries it (:func:`stored_correction`, the `.lca` file's
optional ``correction.*`` tensors, schema 4): ``core.posing`` and Blender's live link apply
it; Blender's native splats (5.3+) cannot and say so (docs/model.md).

Letters: B poses, J bones, E expressions, M anchors, N Gaussians, k neighbours.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..avatar.pose_correction import PoseCorrection
from .layers import Mlp


class CorrectionMlp(nn.Module):
    """Pose (B, J, 3) radians and expression (B, E) -> anchor offsets (B, M, 3)."""

    def __init__(self, bones: int, expressions: int, anchors: int, hidden: int):
        super().__init__()
        self.bones, self.expressions, self.anchors = bones, expressions, anchors
        self.mlp = Mlp(bones * 3 + expressions, hidden, anchors * 3)
        nn.init.zeros_(self.mlp.fc2.weight)
        nn.init.zeros_(self.mlp.fc2.bias)

    def forward(self, rotations: Tensor, expression: Tensor) -> Tensor:
        B = rotations.shape[0]
        if tuple(rotations.shape[1:]) != (self.bones, 3) or tuple(expression.shape) != (
            B,
            self.expressions,
        ):
            raise ValueError(
                f"need rotations (B, {self.bones}, 3) and expression (B, {self.expressions}), "
                f"got {tuple(rotations.shape)} and {tuple(expression.shape)}."
            )
        x = torch.cat((rotations.flatten(1), expression), dim=-1)
        out = self.mlp(x) - self.mlp(torch.zeros_like(x[:1]))
        return out.view(B, self.anchors, 3)


def gaussian_offsets(anchor_offsets: Tensor, index: Tensor, weight: Tensor) -> Tensor:
    """(B, N, 3) per-Gaussian offsets from (B, M, 3) anchor offsets, each Gaussian's k
    anchors ``index`` (N, k) weighted by ``weight`` (N, k)."""
    return (anchor_offsets[:, index] * weight[None, ..., None]).sum(-2)


def stored_correction(mlp: CorrectionMlp, index: Tensor, weight: Tensor) -> PoseCorrection:
    """``mlp`` with the N Gaussians' anchors ``index`` (N, k) and ``weight`` (N, k) as the
    avatar stores it (detached copies on the CPU, float32):
    :func:`core.avatar.pose_correction.correction_offsets` of it equals
    ``gaussian_offsets(mlp(...), index, weight)``."""

    def plain(t: Tensor) -> Tensor:
        return t.detach().to("cpu", torch.float32).clone()

    return PoseCorrection(
        bones=mlp.bones,
        expressions=mlp.expressions,
        fc1_weight=plain(mlp.mlp.fc1.weight),
        fc1_bias=plain(mlp.mlp.fc1.bias),
        fc2_weight=plain(mlp.mlp.fc2.weight),
        fc2_bias=plain(mlp.mlp.fc2.bias),
        anchor_index=index.detach().to("cpu", torch.int64).clone(),
        anchor_weight=plain(weight),
    )
