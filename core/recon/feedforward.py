"""The network's prediction on the photos as ``lca create`` prepares them.

The network (core.model) corrects today's initialisation: the photos' colours projected onto
the seeded template, the unseen rest filled from the nearest seen colours
(:func:`core.recon.appearance.initial_colours`), is its starting colour, and it predicts
colour, offset, scale, rotation and opacity corrections from the photos. An untrained
network therefore returns today's initialisation exactly; training can only move it to what
the views it was not given look like.

Letters: N Gaussians, H x W pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F_nn
from torch import Tensor

from ..avatar.avatar import Avatar
from ..body.model import BodyModel
from ..model.inputs import ModelView
from ..model.network import LcaNet, predict_avatar
from .appearance import initial_colours
from .views import ViewTarget


def model_view(view: ViewTarget) -> ModelView:
    """A ViewTarget (a photo cropped for fitting) as the network takes it."""
    return ModelView(view.rgb.float(), view.mask.float(), view.camera, view.vertices.float())


def view_target(view: ModelView) -> ViewTarget:
    """A ModelView (a synthetic photo) as today's initialisation takes it: its mask's core
    (shrunk by a pixel) is where colours are taken from."""
    eroded = -F_nn.max_pool2d(-view.mask[None, None], 3, stride=1, padding=1)[0, 0]
    H, W = view.mask.shape
    return ViewTarget(view.camera, view.rgb, view.mask, eroded >= 0.5, view.vertices, (0, 0, W, H))


def base_colours(template: Avatar, views: Sequence[ModelView]) -> Tensor:
    """(N, 3) today's initial colours of ``template`` from ``views``."""
    with torch.no_grad():
        return initial_colours(template, [view_target(v) for v in views]).float()


def feedforward_avatar(net: LcaNet, template: Avatar, views: Sequence[ViewTarget]) -> Avatar:
    """The avatar ``net`` predicts on ``template`` from the photos ``views``."""
    inputs = [model_view(v) for v in views]
    return predict_avatar(net, template, inputs, base_colours(template, inputs))


SHIPPED_CHECKPOINT = (
    Path(__file__).resolve().parents[2] / "assets" / "models" / "lca-tiny.safetensors"
)
"""The model the network methods use unless given another (docs/models/lca-tiny.md)."""


def load_network(path: Path | None, body: BodyModel) -> tuple[LcaNet | None, str]:
    """(network, "") from ``path`` (None: SHIPPED_CHECKPOINT), or (None, the note saying why
    ``lca create`` falls back to fitting) when it is missing, broken or made for another body."""
    from ..errors import LcaError
    from ..model.checkpoint import load_checkpoint

    source = SHIPPED_CHECKPOINT if path is None else Path(path)
    what = "no trained network is shipped" if path is None and not source.exists() else ""
    if not what:
        try:
            net, header = load_checkpoint(source)
        except LcaError as err:
            what = str(err).rstrip(".")
        else:
            V = body.skinning_weights.shape[0]
            if header.vertex_count == V and header.bones == len(body.bone_names):
                return net.to(body.device), ""
            what = f"the network in '{source.name}' was made for another body model"
    return None, f"The avatar was made by fitting instead of the network: {what}."
