"""The mesh drives the splats: Blender's evaluated body mesh against core.

Tolerances: the rest pose, every expression key and the body-shape keys at 1 match
``body.forward`` to float32 precision (1e-5 m). Posed, the bones match the body model's
exactly (1e-5), and the mesh matches ``core.posing.posed_vertices`` (what ``lca render``
poses) and the twin of Blender's skinning (``core.rig.skin_canonical``) to 1e-5 m; the body
model's own posed vertices differ by up to a few millimetres (Anny skins its own rest mesh;
see core/posing.py).
"""

import numpy as np
import pytest
import torch

from tests.addon.util import BPY_MISSING, set_pose

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)

EXACT = 1e-5


@pytest.fixture
def scene(addon, avatar, rig):
    scene_build = addon.module("lca_addon.scene_build")
    return scene_build.build_avatar_scene(bpy.context, avatar, rig, "small")


def evaluated(addon, body) -> torch.Tensor:
    live_link = addon.module("lca_addon.live_link")
    depsgraph = bpy.context.evaluated_depsgraph_get()
    return torch.from_numpy(live_link.evaluated_vertices(body, depsgraph))


def test_rest_pose_is_the_canonical_mesh(addon, avatar, scene):
    vertices = evaluated(addon, scene.body)
    assert float((vertices - avatar.canonical_vertices).abs().max()) < 1e-6


def test_every_expression_key_matches_the_body_model(addon, anny_body, scene):
    names = anny_body.expression_names
    with torch.no_grad():
        expected = anny_body.forward(expression=torch.eye(len(names))).vertices
    keys = scene.body.data.shape_keys.key_blocks
    for index, name in enumerate(names):
        keys[name].value = 1.0
        error = float((evaluated(addon, scene.body) - expected[index]).abs().max())
        assert error < EXACT, (name, error)
        keys[name].value = 0.0


def test_body_shape_keys_are_exact_at_one(addon, anny_body, scene):
    keys = scene.body.data.shape_keys.key_blocks
    parameters = [p.name for p in anny_body.shape_parameters]
    for name, parameter, value in (
        ("body_age_max", "age", 1.0),
        ("body_weight_min", "weight", 0.0),
    ):
        shape = anny_body.default_shape()
        shape[0, parameters.index(parameter)] = value
        with torch.no_grad():
            expected = anny_body.forward(shape).vertices[0]
        keys[name].value = 1.0
        assert float((evaluated(addon, scene.body) - expected).abs().max()) < EXACT
        keys[name].value = 0.0


def test_posed_bones_and_mesh_match_core(addon, anny_body, avatar, rig, scene):
    import dataclasses

    from core.body.poses import parse_pose
    from core.posing import posed_vertices
    from core.rig import skin_canonical

    pose = parse_pose(anny_body, "arm-raise+finger-curl+jaw-open")
    pose = dataclasses.replace(pose, translation=torch.tensor([0.05, -0.1, 0.02]))
    set_pose(scene.armature, rig, pose.rotations, pose.translation)
    scene.body.data.shape_keys.key_blocks["jawOpen"].value = 1.0
    with torch.no_grad():
        expected = anny_body.forward(
            pose=pose.rotations[None],
            expression=pose.expression[None],
            translation=pose.translation[None],
        )
    vertices = evaluated(addon, scene.body)  # evaluates the depsgraph, so the pose is current

    bones = np.array([np.array(b.matrix) for b in scene.armature.pose.bones])
    assert np.abs(bones - expected.bone_transforms[0].numpy()).max() < EXACT

    core_side = posed_vertices(avatar, anny_body, [pose])[0]
    assert float((vertices - core_side).abs().max()) < EXACT

    posed = torch.from_numpy(bones).float()
    jaw = rig.expression_deltas[rig.expression_names.index("jawOpen")]
    twin = skin_canonical(dataclasses.replace(rig, vertices=rig.vertices + jaw), posed[None])[0]
    assert float((vertices - twin).abs().max()) < EXACT

    own = (vertices - expected.vertices[0]).norm(dim=-1)  # Anny's own skinning
    assert float(own.max()) < 0.005 and float(own.mean()) < 1e-4


def test_the_avatar_follows_the_evaluated_mesh(addon, anny_body, avatar, rig, scene):
    from core.body.poses import parse_pose
    from core.deform import deform_gaussians
    from core.posing import pose_gaussians, posed_vertices

    pose = parse_pose(anny_body, "arm-raise+blink-left")
    set_pose(scene.armature, rig, pose.rotations)
    scene.body.data.shape_keys.key_blocks["eyeBlinkLeft"].value = 1.0
    scene.armature.location = (1.0, 2.0, 0.5)  # object transforms reach the splats too
    live_link = addon.module("lca_addon.live_link")
    depsgraph = bpy.context.evaluated_depsgraph_get()
    gaussians = live_link.avatar_gaussians(scene.avatar, depsgraph)

    vertices = torch.from_numpy(live_link.evaluated_vertices(scene.body, depsgraph))
    direct = deform_gaussians(vertices[None], avatar.faces, avatar.binding)
    for name in ("means", "quats", "scales"):
        assert torch.equal(getattr(gaussians, name), getattr(direct, name)), name

    posed = posed_vertices(avatar, anny_body, [pose]) + torch.tensor([1.0, 2.0, 0.5])
    core_side = pose_gaussians(avatar, posed)
    assert float((gaussians.means - core_side.means).norm(dim=-1).max()) < EXACT


def test_an_edited_body_mesh_is_reported(addon, scene):
    import bmesh

    mesh = bmesh.new()
    mesh.from_mesh(scene.body.data)
    bmesh.ops.delete(mesh, geom=list(mesh.verts)[:10], context="VERTS")
    mesh.to_mesh(scene.body.data)
    mesh.free()
    live_link = addon.module("lca_addon.live_link")
    errors = addon.module("core.errors")
    with pytest.raises(errors.LcaError, match="is bound to 13718; undo the edit"):
        live_link.avatar_gaussians(scene.avatar, bpy.context.evaluated_depsgraph_get())


def test_a_modifier_that_changes_the_topology_is_reported(addon, scene):
    mask = scene.body.modifiers.new("Mask", "MASK")  # keeps the head's vertices only
    mask.vertex_group = "head"
    live_link = addon.module("lca_addon.live_link")
    errors = addon.module("core.errors")
    with pytest.raises(errors.LcaError, match="remove modifiers that change its topology"):
        live_link.avatar_gaussians(scene.avatar, bpy.context.evaluated_depsgraph_get())


@pytest.fixture
def corrected_scene(addon, anny_body, avatar, rig):
    import dataclasses

    from tests.synthetic import random_correction

    J, E = len(anny_body.bone_names), len(anny_body.expression_names)
    corrected = dataclasses.replace(avatar, correction=random_correction(avatar.count, J, E))
    scene_build = addon.module("lca_addon.scene_build")
    return corrected, scene_build.build_avatar_scene(bpy.context, corrected, rig, "fixed")


def test_the_pose_correction_is_applied_as_lca_render_applies_it(
    addon, anny_body, rig, corrected_scene
):
    from core.body.poses import parse_pose
    from core.posing import pose_gaussians, posed_vertices

    corrected, scene = corrected_scene
    live_link = addon.module("lca_addon.live_link")
    depsgraph = bpy.context.evaluated_depsgraph_get()
    at_rest = live_link.avatar_gaussians(scene.avatar, depsgraph)
    vertices = torch.from_numpy(live_link.evaluated_vertices(scene.body, depsgraph))
    plain = pose_gaussians(corrected, vertices[None])
    assert torch.equal(at_rest.means, plain.means)  # zero at the canonical pose

    pose = parse_pose(anny_body, "arm-raise+blink-left")
    set_pose(scene.armature, rig, pose.rotations)
    scene.body.data.shape_keys.key_blocks["eyeBlinkLeft"].value = 1.0
    gaussians = live_link.avatar_gaussians(scene.avatar, bpy.context.evaluated_depsgraph_get())
    posed = posed_vertices(corrected, anny_body, [pose])
    core_side = pose_gaussians(corrected, posed, [pose])
    assert float((gaussians.means - core_side.means).norm(dim=-1).max()) < EXACT
    without = pose_gaussians(corrected, posed)
    assert float((gaussians.means - without.means).norm(dim=-1).max()) > 1e-3
