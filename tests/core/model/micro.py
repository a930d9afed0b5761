"""The micro network tests train and run (tests/core/model, tests/core/train)."""

import torch

from core.model.config import ModelConfig

MICRO = ModelConfig(
    name="micro",
    width=32,
    depth=1,
    encoder_depth=1,
    heads=2,
    mlp_ratio=2.0,
    patch=8,
    image=32,
    anchors=32,
    neighbours=3,
    bands=2,
    decoder_hidden=16,
    correction_hidden=16,
    depth_grid=16,
    gaussians=500,
)
"""A network small enough for tests (the named sizes are core.model.config.SIZES)."""


def micro_anchors(body):
    """(M,) the micro network's anchor vertices on ``body``'s default-shape canonical mesh."""
    from core.model.anchors import farthest_points

    with torch.no_grad():
        canonical = body.forward(body.default_shape(1)).vertices[0].float()
    return farthest_points(canonical, MICRO.anchors)


def micro_net(body, anchors):
    """A new micro network, seeded."""
    from core.model.network import LcaNet

    torch.manual_seed(0)
    V = body.skinning_weights.shape[0]
    return LcaNet(MICRO, anchors, V, len(body.bone_names), len(body.expression_names))
