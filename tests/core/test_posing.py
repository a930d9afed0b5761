"""core/posing.py: the one deformation path, the way Blender poses the imported rig.

Blender's side of the same comparison (the evaluated body mesh against
``posed_vertices``) is in tests/addon/test_live_link.py.
"""

import dataclasses

import numpy as np
import pytest
import torch

from core.avatar.ply import read_ply
from core.body.poses import parse_pose, rest_pose
from core.deform import deform_gaussians
from core.deform.template import make_starter_avatar
from core.errors import LcaError
from core.posing import avatar_scene, export_avatar_ply, pose_gaussians, posed_vertices
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


def test_an_avatar_of_another_mesh_is_refused(anny_body):
    with pytest.raises(LcaError, match="own body model version"):
        posed_vertices(tiny_avatar(), anny_body, [rest_pose(anny_body)])


# ----------------------------------------------------------------------------- pose correction


@pytest.fixture(scope="module")
def corrected(anny_body, avatar):
    """``avatar`` with a random (non-zero) pose correction for Anny's bones and expressions."""
    from tests.synthetic import random_correction

    J, E = len(anny_body.bone_names), len(anny_body.expression_names)
    return dataclasses.replace(avatar, correction=random_correction(avatar.count, J, E, seed=3))


def test_a_correction_poses_identically_at_rest(anny_body, avatar, corrected):
    rest = rest_pose(anny_body)
    vertices = posed_vertices(corrected, anny_body, [rest, rest])
    plain = pose_gaussians(avatar, vertices)
    both = pose_gaussians(corrected, vertices, [rest, rest])
    assert torch.equal(both.means, plain.means) and torch.equal(both.quats, plain.quats)
    assert torch.equal(avatar_scene(corrected, pose=rest).means, avatar_scene(avatar).means)


def test_a_correction_moves_a_posed_frame_in_the_triangle_frame(anny_body, avatar, corrected):
    pose = parse_pose(anny_body, "arm-raise+smile")
    vertices = posed_vertices(corrected, anny_body, [pose])[0]
    plain = avatar_scene(avatar, vertices, pose)
    moved = avatar_scene(corrected, vertices, pose)
    offsets = corrected_offsets(corrected, pose)
    want = deform_gaussians(vertices[None], avatar.faces, avatar.binding, offsets[None])
    torch.testing.assert_close(moved.means, want.means[0], atol=1e-6, rtol=0)
    assert float((moved.means - plain.means).norm(dim=-1).max()) > 1e-3
    assert torch.equal(moved.scales, plain.scales) and torch.equal(moved.quats, plain.quats)
    # Without the pose there is nothing to evaluate: the binding alone, as before.
    assert torch.equal(avatar_scene(corrected, vertices).means, plain.means)


def corrected_offsets(avatar, pose):
    from core.avatar.pose_correction import correction_offsets

    return correction_offsets(avatar.correction, pose.rotations[None], pose.expression[None])[0]


def test_a_correction_for_another_skeleton_is_refused(anny_body, corrected):
    pose = rest_pose(anny_body)
    other = dataclasses.replace(pose, rotations=torch.zeros(3, 3))
    with pytest.raises(LcaError, match="pose correction was made for"):
        avatar_scene(corrected, pose=other)


def test_the_posed_ply_export_applies_the_correction(tmp_path, anny_body, corrected):
    pose = parse_pose(anny_body, "arm-raise")
    vertices = posed_vertices(corrected, anny_body, [pose])[0]
    export_avatar_ply(corrected, tmp_path / "c.ply", vertices=vertices, pose=pose)
    scene = avatar_scene(corrected, vertices, pose)
    np.testing.assert_allclose(read_ply(tmp_path / "c.ply").means, scene.means.numpy(), atol=1e-6)


# ----------------------------------------------------------------------------- PLY export


def test_ply_rest_export_matches_deform(tmp_path):
    avatar = tiny_avatar(n=30, sh_degree=2, seed=4)
    export_avatar_ply(avatar, tmp_path / "rest.ply")
    back = read_ply(tmp_path / "rest.ply")
    world = deform_gaussians(avatar.canonical_vertices[None], avatar.faces, avatar.binding)
    np.testing.assert_allclose(back.means, world.means[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(back.scales, world.scales[0].numpy(), rtol=1e-5)
    opacities = torch.sigmoid(avatar.binding.opacity_logit).numpy()
    np.testing.assert_allclose(back.opacities, opacities, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(back.sh, avatar.binding.sh.numpy())


def test_ply_posed_export_differs_from_rest(tmp_path):
    avatar = tiny_avatar(n=30, sh_degree=1, seed=5)
    export_avatar_ply(avatar, tmp_path / "rest.ply")
    moved = avatar.canonical_vertices * torch.tensor([1.0, 1.0, 1.5]) + torch.tensor([0, 0, 2.0])
    export_avatar_ply(avatar, tmp_path / "posed.ply", vertices=moved)
    rest, posed = read_ply(tmp_path / "rest.ply"), read_ply(tmp_path / "posed.ply")
    assert np.abs(posed.means - rest.means).max() > 1.0
    assert not np.allclose(posed.scales, rest.scales)
    np.testing.assert_array_equal(posed.sh, rest.sh)


def test_ply_posed_export_translation_moves_means_only(tmp_path):
    avatar = tiny_avatar(n=30, seed=6)
    shift = torch.tensor([0.5, -1.0, 2.0])
    export_avatar_ply(avatar, tmp_path / "rest.ply")
    export_avatar_ply(avatar, tmp_path / "shift.ply", vertices=avatar.canonical_vertices + shift)
    rest, shifted = read_ply(tmp_path / "rest.ply"), read_ply(tmp_path / "shift.ply")
    np.testing.assert_allclose(shifted.means - rest.means, shift.expand(30, 3).numpy(), atol=1e-5)
    np.testing.assert_allclose(shifted.quats, rest.quats, atol=1e-6)


def test_ply_export_refuses_a_wrong_vertex_shape(tmp_path):
    with pytest.raises(ValueError, match="vertices"):
        export_avatar_ply(tiny_avatar(), tmp_path / "a.ply", vertices=torch.zeros(5, 3))
    assert list(tmp_path.iterdir()) == []
