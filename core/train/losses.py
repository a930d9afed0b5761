"""The training loss: the predicted avatar rendered by core.render (torch backend on the
CPU) into views it did not get, against the photos there.

The avatar is posed as each target view shows the subject (a shard's true pose, a video
frame's fitted one), with the network's pose correction for that pose and expression
(:func:`view_correction`, added in the triangle frame by ``deform_gaussians``), so the
correction MLP learns what skinning misses.

Per view: (1 - w_ssim) L1 + w_ssim (1 - SSIM) of the colours over black (for a video frame:
of the colours inside the frame's person mask, render and frame both multiplied by it: the
cross-frame loss, the prediction from some frames scored in others in their fitted pose and
camera), plus w_mask |alpha - mask|; plus w_offset times the mean squared offset (triangle
sizes), so hair and clothes may leave the surface but not far. Nothing here needs a true
avatar, so shards and video folders (which have none) share it.

Letters: H x W pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..deform.binding import deform_gaussians
from ..model.network import LcaNet, Prediction
from ..posing import splat_scene
from ..recon.losses import ssim
from ..render import render
from .config import LossConfig
from .dataset import Sample, TargetView


@dataclass(frozen=True)
class LossParts:
    """photo: the colour terms; mask: the alpha term; offset: the regulariser (unweighted
    means over the target views)."""

    photo: Tensor
    mask: Tensor
    offset: Tensor


def view_correction(net: LcaNet, prediction: Prediction, view: TargetView) -> Tensor | None:
    """(1, N, 3) the network's pose correction of ``prediction`` in the pose of ``view``
    (differentiable; zero at the canonical pose), or None for a view without a pose."""
    if view.rotations is None or view.expression is None:
        return None
    device = prediction.anchor_weight.device
    rotations = view.rotations[None].to(device=device, dtype=torch.float32)
    expression = view.expression[None].to(device=device, dtype=torch.float32)
    return net.pose_correction(prediction, rotations, expression)


def sample_loss(
    prediction: Prediction,
    sample: Sample,
    config: LossConfig,
    backend: str = "torch",
    net: LcaNet | None = None,
) -> tuple[Tensor, LossParts]:
    """The weighted loss of one sample (module docstring) and its parts; ``net``: the network
    that made ``prediction``, for its pose correction (None: posed without one)."""
    template = sample.subject.template
    binding = prediction.binding
    device = binding.sh.device
    faces = template.faces.to(device)
    photo = mask = torch.zeros((), device=device)
    posed, scene = None, None
    for view in sample.targets:
        if view.vertices is not posed:  # one deformation per pose (shards: one per sample)
            posed = view.vertices
            correction = None if net is None else view_correction(net, prediction, view)
            world = deform_gaussians(posed[None].to(device), faces, binding, correction)
            scene = splat_scene(binding, world)
        result = render(scene, view.camera, background=(0.0, 0.0, 0.0), backend=backend)
        rgb, target = result.rgb, view.rgb.to(device)
        if view.weight is not None:
            weight = view.weight.to(device)[..., None]
            rgb, target = rgb * weight, target * weight
        photo = (
            photo
            + (1 - config.ssim) * (rgb - target).abs().mean()
            + config.ssim * (1 - ssim(rgb, target))
        )
        mask = mask + (result.alpha - view.mask.to(device)).abs().mean()
    n = len(sample.targets)
    photo, mask = photo / n, mask / n
    offset = (binding.offset - template.binding.offset.to(device)).square().sum(-1).mean()
    loss = photo + config.mask * mask + config.offset * offset
    return loss, LossParts(photo.detach(), mask.detach(), offset.detach())
