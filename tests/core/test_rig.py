"""core/rig.py: the armature, mesh and shape-key data the Blender side writes, without bpy."""

import dataclasses
import math

import pytest
import torch

from core.body.poses import parse_pose
from core.deform._reference import _posed_bone_matrices
from core.deform.template import make_starter_avatar
from core.errors import LcaError
from core.rig import (
    aimed_bone_axes,
    axes_to_blender,
    blender_bone_pose,
    blender_bone_poses,
    build_rig,
    core_bone_rotations,
    posed_bone_matrices,
    skin_canonical,
)
from tests.synthetic import tiny_avatar


@pytest.fixture(scope="module")
def avatar(anny_body):
    return make_starter_avatar(anny_body, count=500)


@pytest.fixture(scope="module")
def rig(anny_body, avatar):
    return build_rig(anny_body, avatar)


def test_axes_to_blender():
    assert torch.equal(axes_to_blender("Z"), torch.eye(3))
    A = axes_to_blender("Y")
    assert torch.allclose(A @ A.T, torch.eye(3)) and float(torch.det(A)) == 1.0
    assert torch.equal(A @ torch.tensor([0.0, 1.0, 0.0]), torch.tensor([0.0, 0.0, 1.0]))  # up
    assert torch.equal(A @ torch.tensor([0.0, 0.0, 1.0]), torch.tensor([0.0, -1.0, 0.0]))  # front
    with pytest.raises(ValueError):
        axes_to_blender("X")


def test_bones_sit_at_the_canonical_pose(anny_body, rig):
    canonical = anny_body.forward().bone_transforms[0]
    assert rig.bone_names == anny_body.bone_names and rig.bone_parents == anny_body.bone_parents
    assert torch.allclose(rig.bone_matrices, canonical, atol=1e-6)  # Anny is Z-up: no turn
    rotations = rig.bone_matrices[:, :3, :3]
    assert torch.allclose(rotations @ rotations.transpose(1, 2), torch.eye(3), atol=1e-5)
    assert bool((rig.bone_lengths > 1e-3).all())


def test_tails_reach_the_next_bone_or_the_end_of_the_part(anny_body, rig):
    names = list(rig.bone_names)
    heads, tails = rig.bone_matrices[:, :3, 3], rig.tails
    for bone, child in (("upperarm02.L", "lowerarm01.L"), ("finger2-1.R", "finger2-2.R")):
        gap = (tails[names.index(bone)] - heads[names.index(child)]).norm()
        assert float(gap) < 0.005, (bone, float(gap))
    head = names.index("head")
    top_of_head = float(rig.vertices[:, 2].max())
    assert float(tails[head, 2]) > top_of_head - 0.05  # the head bone spans the skull


def test_expression_deltas_are_the_body_model_blendshapes(anny_body, avatar, rig):
    assert rig.expression_names == anny_body.expression_names
    index = rig.expression_names.index("jawOpen")
    one_hot = torch.zeros(1, len(rig.expression_names))
    one_hot[0, index] = 1.0
    opened = anny_body.forward(expression=one_hot).vertices[0]
    assert torch.allclose(rig.vertices + rig.expression_deltas[index], opened, atol=1e-5)
    assert float(rig.expression_deltas[index].norm(dim=-1).max()) > 0.005


def test_body_shape_keys_are_exact_at_their_ends(anny_body, rig):
    names = [key.name for key in rig.shape_keys]
    assert len(names) == 2 * len(anny_body.shape_parameters)  # the starter is at 0.5
    index = names.index("body_age_max")
    key = rig.shape_keys[index]
    assert (key.parameter, key.value_from, key.value_to) == ("age", 0.5, 1.0)
    shape = anny_body.default_shape()
    shape[0, [p.name for p in anny_body.shape_parameters].index("age")] = 1.0
    older = anny_body.forward(shape).vertices[0]
    assert torch.allclose(rig.vertices + rig.shape_deltas[index], older, atol=1e-5)


def test_bone_pose_reproduces_the_body_models_bone_transforms(anny_body, rig):
    pose = parse_pose(anny_body, "arm-raise+finger-curl+t-pose:0.3")
    translation = torch.tensor([0.1, -0.2, 0.05])
    quaternions, location = blender_bone_pose(rig, pose.rotations, translation)
    posed = posed_bone_matrices(rig, quaternions, location)
    expected = anny_body.forward(pose=pose.rotations[None], translation=translation[None])
    assert torch.allclose(posed, expected.bone_transforms[0], atol=1e-5)


@pytest.mark.parametrize("pose_name", ["arm-raise+finger-curl", "t-pose:0.5+jaw-open"])
def test_posed_bone_matrices_match_the_bone_by_bone_twin(anny_body, rig, pose_name):
    """Forward kinematics by depth level against the pose chain composed bone by bone."""
    pose = parse_pose(anny_body, pose_name)
    quaternions, location = blender_bone_pose(rig, pose.rotations, torch.tensor([0.1, 0, 0.2]))
    quaternions.requires_grad_()
    fast = posed_bone_matrices(rig, quaternions, location)
    reference = _posed_bone_matrices(rig.bone_matrices, quaternions, location, rig.bone_parents)
    torch.testing.assert_close(fast, reference, atol=2e-6, rtol=0)
    cotangent = torch.randn(fast.shape, generator=torch.Generator().manual_seed(1))
    (got,) = torch.autograd.grad(fast, quaternions, cotangent)
    (expected,) = torch.autograd.grad(reference, quaternions, cotangent)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


def test_skinning_the_canonical_mesh_matches_the_body_model_within_millimetres(anny_body, rig):
    """Blender skins the canonical mesh; Anny skins its rest mesh (module docstring)."""
    assert torch.allclose(skin_canonical(rig, rig.bone_matrices[None])[0], rig.vertices, atol=1e-6)
    pose = parse_pose(anny_body, "arm-raise+finger-curl")
    posed = posed_bone_matrices(rig, *blender_bone_pose(rig, pose.rotations))
    skinned = skin_canonical(rig, posed[None])[0]
    expected = anny_body.forward(pose=pose.rotations[None]).vertices[0]
    error = (skinned - expected).norm(dim=-1)
    assert float(error.max()) < 0.005 and float(error.mean()) < 1e-4
    rigid = rig.skinning_weights.max(dim=1).values > 0.9999  # one bone: no blending error
    assert float(error[rigid].max()) < 1e-5


def test_bare_joints_get_bones_aimed_at_their_children():
    heads = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 1.0], [2.0, 0.0, 1.0]])
    axes = aimed_bone_axes(heads, (-1, 0, 1, 2))
    y = axes[:, :, 1]
    assert torch.allclose(
        y, torch.tensor([[0.0, 0, 1], [1, 0, 0], [1, 0, 0], [1, 0, 0]]), atol=1e-6
    )
    assert torch.allclose(torch.det(axes), torch.ones(4), atol=1e-6)
    # Roll 0: the smallest turn from +Y, so Z stays put when the bone turns about Z.
    assert torch.allclose(axes[1, :, 2], torch.tensor([0.0, 0.0, 1.0]), atol=1e-6)
    assert math.isclose(float(axes[0, 1, 2]), -1.0, abs_tol=1e-6)  # +Y -> +Z turns Z to -Y


def test_an_avatar_of_another_body_is_refused(anny_body):
    with pytest.raises(LcaError, match="vertices"):
        build_rig(anny_body, tiny_avatar())  # bound to an octahedron, not Anny's mesh
    avatar = dataclasses.replace(
        tiny_avatar(), body=dataclasses.replace(tiny_avatar().body, model="smplx")
    )
    with pytest.raises(LcaError, match="smplx"):
        build_rig(anny_body, avatar)


def test_a_canonical_mesh_far_from_the_body_model_is_refused(anny_body, avatar):
    moved = dataclasses.replace(avatar, canonical_vertices=avatar.canonical_vertices + 0.01)
    with pytest.raises(LcaError, match="10.0 mm"):
        build_rig(anny_body, moved)


def test_bone_poses_over_frames_match_the_single_pose(rig):
    from core.quaternion import axis_angle_to_rotmat

    torch.manual_seed(0)
    rotvecs = 0.8 * torch.randn(5, len(rig.bone_names), 3, dtype=torch.float64)
    translations = 0.1 * torch.randn(5, 3, dtype=torch.float64)
    quaternions, locations = blender_bone_poses(
        rig.bone_matrices, rig.axes, axis_angle_to_rotmat(rotvecs), translations
    )
    assert quaternions.shape == (5, len(rig.bone_names), 4) and locations.shape == (5, 3)
    assert bool(((quaternions[1:] * quaternions[:-1]).sum(-1) >= 0).all())  # continuous signs
    for t in range(5):
        q, location = blender_bone_pose(rig, rotvecs[t].float(), translations[t].float())
        same_sign = torch.where((q * quaternions[t]).sum(-1, keepdim=True) < 0, -1.0, 1.0)
        assert torch.allclose(quaternions[t].float(), q * same_sign, atol=1e-5)
        assert torch.allclose(locations[t].float(), location, atol=1e-6)


def test_blender_bone_rotations_give_the_core_pose_back(anny_body, rig):
    pose = parse_pose(anny_body, "arm-raise+finger-curl+t-pose:0.3")
    quaternions, _ = blender_bone_pose(rig, pose.rotations)
    back = core_bone_rotations(rig.bone_matrices, rig.axes, quaternions)
    assert float(pose.rotations.abs().max()) > 1.0
    torch.testing.assert_close(back, pose.rotations.float(), atol=1e-5, rtol=0)
    rest = core_bone_rotations(
        rig.bone_matrices, rig.axes, torch.tensor([1.0, 0, 0, 0]).repeat(len(rig.bone_names), 1)
    )
    assert not rest.any()
