"""core/posing.py: the one deformation path, the way Blender poses the imported rig.

Blender's side of the same comparison (the evaluated body mesh against
``posed_vertices``) is in tests/addon/test_live_link.py.
"""

import dataclasses

import pytest
import torch

from core.avatar.starter import make_starter_avatar
from core.body.poses import parse_pose, rest_pose
from core.errors import LcaError
from core.posing import linear_blend_skinning, posed_vertices, rigid_inverse
from core.quaternion import axis_angle_to_rotmat
from core.rig import blender_bone_pose, build_rig, posed_bone_matrices, skin_canonical
from tests.synthetic import tiny_avatar

EXACT = 1e-5  # metres: float32 on a body-sized mesh


@pytest.fixture(scope="module")
def avatar(anny_body):
    return make_starter_avatar(anny_body, count=500)


@pytest.fixture(scope="module")
def rig(anny_body, avatar):
    return build_rig(anny_body, avatar)


def test_the_rest_pose_is_the_canonical_mesh(anny_body, avatar):
    vertices = posed_vertices(avatar, anny_body, [rest_pose(anny_body)])
    assert vertices.shape == (1,) + tuple(avatar.canonical_vertices.shape)
    assert float((vertices[0] - avatar.canonical_vertices).abs().max()) < 1e-6


def test_poses_match_blenders_rig_and_shape_keys(anny_body, avatar, rig):
    """Canonical mesh + expression keys, skinned by the imported rig (core.rig's twin of
    Blender's Armature modifier): the same vertices, batch and all."""
    poses = [
        parse_pose(anny_body, "arm-raise+finger-curl+jaw-open"),
        dataclasses.replace(
            parse_pose(anny_body, "t-pose+smile:0.5"), translation=torch.tensor([0.1, 0.0, -0.2])
        ),
    ]
    vertices = posed_vertices(avatar, anny_body, poses)
    for index, pose in enumerate(poses):
        bones = posed_bone_matrices(rig, *blender_bone_pose(rig, pose.rotations, pose.translation))
        keys = torch.einsum("e,evc->vc", pose.expression, rig.expression_deltas)
        twin = skin_canonical(dataclasses.replace(rig, vertices=rig.vertices + keys), bones[None])
        assert float((vertices[index] - twin[0]).abs().max()) < EXACT, index


def test_poses_stay_within_millimetres_of_the_body_models_own_vertices(anny_body, avatar):
    pose = parse_pose(anny_body, "arm-raise+finger-curl")
    vertices = posed_vertices(avatar, anny_body, [pose])[0]
    with torch.no_grad():
        own = anny_body.forward(pose=pose.rotations[None]).vertices[0]
    error = (vertices - own).norm(dim=-1)
    assert float(error.max()) < 0.005 and float(error.mean()) < 1e-4


def test_an_expression_at_the_rest_pose_is_the_body_models(anny_body, avatar):
    pose = parse_pose(anny_body, "jaw-open+blink-left:0.5")
    with torch.no_grad():
        own = anny_body.forward(expression=pose.expression[None]).vertices[0]
    vertices = posed_vertices(avatar, anny_body, [pose])[0]
    assert float((vertices - own).abs().max()) < EXACT


def test_linear_blend_skinning_blends_the_bone_transforms():
    vertices = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]])
    weights = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    turn = torch.eye(4).repeat(1, 2, 1, 1)
    turn[0, 1, :3, :3] = axis_angle_to_rotmat(torch.tensor([0.0, 0.0, torch.pi / 2]))
    turn[0, 1, :3, 3] = torch.tensor([0.0, 0.0, 1.0])
    skinned = linear_blend_skinning(vertices, weights, turn)
    torch.testing.assert_close(skinned[0, 0], torch.tensor([1.0, 0.0, 0.0]))
    # half of (0, 2, 0) and half of (-2, 0, 1)
    torch.testing.assert_close(skinned[0, 1], torch.tensor([-1.0, 1.0, 0.5]))
    with pytest.raises(ValueError, match="transforms"):
        linear_blend_skinning(vertices, weights, turn[:, :1])


def test_rigid_inverse():
    m = torch.eye(4)
    m[:3, :3] = axis_angle_to_rotmat(torch.tensor([0.3, -0.2, 0.5]))
    m[:3, 3] = torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(rigid_inverse(m) @ m, torch.eye(4))


def test_an_avatar_of_another_mesh_is_refused(anny_body):
    with pytest.raises(LcaError, match="own body model version"):
        posed_vertices(tiny_avatar(), anny_body, [rest_pose(anny_body)])
