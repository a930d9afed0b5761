import pytest
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


@pytest.fixture(scope="session")
def template(anny_body):
    from core.deform.template import make_starter_avatar

    return make_starter_avatar(anny_body, count=MICRO.gaussians, seed=1)


@pytest.fixture(scope="session")
def views(template):
    """Three photos of the template (front, side, back), 48x64, with its canonical body."""
    from core.model.inputs import ModelView
    from core.posing import avatar_scene
    from core.render import render
    from core.render.camera import orbit_camera

    out = []
    for azimuth in (0.0, 90.0, 180.0):
        camera = orbit_camera((0.0, 0.0, -0.05), 3.6, azimuth, 3.0, 48, 64, fov_y_deg=36.0)
        with torch.no_grad():
            shot = render(avatar_scene(template), camera, background=(0.0, 0.0, 0.0))
        out.append(ModelView(shot.rgb, shot.alpha, camera, template.canonical_vertices))
    return out


@pytest.fixture(scope="session")
def anchors(anny_body):
    """(M,) the micro network's anchor vertices on the default-shape canonical mesh."""
    from core.model.anchors import farthest_points

    with torch.no_grad():
        canonical = anny_body.forward(anny_body.default_shape(1)).vertices[0].float()
    return farthest_points(canonical, MICRO.anchors)


@pytest.fixture()
def net(anny_body, anchors):
    """A new micro network, seeded."""
    from core.model.network import LcaNet

    torch.manual_seed(0)
    V = anny_body.skinning_weights.shape[0]
    return LcaNet(MICRO, anchors, V, len(anny_body.bone_names), len(anny_body.expression_names))
