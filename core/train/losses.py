"""The training loss: the predicted avatar rendered by core.render (torch backend on the
CPU) into views it did not get, against the photos there.

The avatar is posed as the subject is (its true pose and expression), with the network's
pose correction for that pose (:func:`subject_correction`, added in the triangle frame by
``deform_gaussians``), so the correction MLP learns what skinning misses.

Per view: (1 - w_ssim) L1 + w_ssim (1 - SSIM) of the colours over black, plus w_mask
|alpha - mask|; plus w_offset times the mean squared offset (triangle sizes), so hair and
clothes may leave the surface but not far.

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
from .dataset import Sample


@dataclass(frozen=True)
class LossParts:
    """photo: the colour terms; mask: the alpha term; offset: the regulariser (unweighted
    means over the target views)."""

    photo: Tensor
    mask: Tensor
    offset: Tensor


def subject_correction(net: LcaNet, prediction: Prediction, sample: Sample) -> Tensor:
    """(1, N, 3) the network's pose correction of ``prediction`` in the sample's subject's
    pose and expression (differentiable; zero at the canonical pose)."""
    shard = sample.subject.shard
    device = prediction.anchor_weight.device
    rotations = shard.rotations[None].to(device=device, dtype=torch.float32)
    expression = shard.expression[None].to(device=device, dtype=torch.float32)
    return net.pose_correction(prediction, rotations, expression)


def sample_loss(
    prediction: Prediction,
    sample: Sample,
    config: LossConfig,
    backend: str = "torch",
    correction: Tensor | None = None,
) -> tuple[Tensor, LossParts]:
    """The weighted loss of one sample (module docstring) and its parts.

    correction: (1, N, 3) the pose correction in the subject's pose
    (:func:`subject_correction`), or None to pose the binding alone."""
    subject = sample.subject
    shard = subject.shard
    binding = prediction.binding
    device = binding.sh.device
    faces = subject.template.faces.to(device)
    world = deform_gaussians(subject.vertices[None].to(device), faces, binding, correction)
    scene = splat_scene(binding, world)
    photo = mask = torch.zeros((), device=device)
    for k in sample.targets:
        view = shard.view(k, subject.vertices)
        result = render(scene, view.camera, background=(0.0, 0.0, 0.0), backend=backend)
        rgb, target = result.rgb, view.rgb.to(device)
        photo = (
            photo
            + (1 - config.ssim) * (rgb - target).abs().mean()
            + config.ssim * (1 - ssim(rgb, target))
        )
        mask = mask + (result.alpha - view.mask.to(device)).abs().mean()
    n = len(sample.targets)
    photo, mask = photo / n, mask / n
    offset = (binding.offset - subject.template.binding.offset.to(device)).square().sum(-1).mean()
    loss = photo + config.mask * mask + config.offset * offset
    return loss, LossParts(photo.detach(), mask.detach(), offset.detach())
