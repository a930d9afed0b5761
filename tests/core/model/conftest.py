import pytest
import torch

from tests.core.model.micro import MICRO, micro_anchors, micro_net


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
    return micro_anchors(anny_body)


@pytest.fixture()
def net(anny_body, anchors):
    return micro_net(anny_body, anchors)
