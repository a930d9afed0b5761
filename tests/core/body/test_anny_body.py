import torch

from core.body.parts import PART_NAMES

ARKIT = """browDownLeft browDownRight browInnerUp browOuterUpLeft browOuterUpRight cheekPuff
cheekSquintLeft cheekSquintRight eyeBlinkLeft eyeBlinkRight eyeLookDownLeft eyeLookDownRight
eyeLookInLeft eyeLookInRight eyeLookOutLeft eyeLookOutRight eyeLookUpLeft eyeLookUpRight
eyeSquintLeft eyeSquintRight eyeWideLeft eyeWideRight jawForward jawLeft jawOpen jawRight
mouthClose mouthDimpleLeft mouthDimpleRight mouthFrownLeft mouthFrownRight mouthFunnel mouthLeft
mouthLowerDownLeft mouthLowerDownRight mouthPressLeft mouthPressRight mouthPucker mouthRight
mouthRollLower mouthRollUpper mouthShrugLower mouthShrugUpper mouthSmileLeft mouthSmileRight
mouthStretchLeft mouthStretchRight mouthUpperUpLeft mouthUpperUpRight noseSneerLeft
noseSneerRight tongueOut""".split()


def test_expressions_are_the_52_arkit_names(anny_body):
    assert len(ARKIT) == 52
    assert sorted(anny_body.expression_names) == sorted(ARKIT)


def test_skeleton_has_every_finger_joint(anny_body):
    names = anny_body.bone_names
    for side in "LR":
        for finger in range(1, 6):
            for joint in range(1, 4):
                assert f"finger{finger}-{joint}.{side}" in names
    parents = anny_body.bone_parents
    assert parents[0] == -1
    assert all(0 <= p < i for i, p in enumerate(parents) if i > 0)


def test_static_description_is_consistent(anny_body):
    faces = anny_body.triangles
    weights = anny_body.skinning_weights
    V = weights.shape[0]
    assert faces.dtype == torch.int64 and faces.min() >= 0 and faces.max() < V
    assert weights.shape == (V, len(anny_body.bone_names))
    assert torch.allclose(weights.sum(1), torch.ones(V), atol=1e-4)
    assert anny_body.uvs.shape == (faces.shape[0], 3, 2)
    assert [p.name for p in anny_body.shape_parameters] == [
        "gender",
        "age",
        "muscle",
        "weight",
        "height",
        "proportions",
    ]
    assert anny_body.vertex_parts.shape == (V,)
    # Every part is used by some vertex.
    assert set(anny_body.vertex_parts.tolist()) == set(range(len(PART_NAMES)))


def test_forward_shapes_and_batch(anny_body):
    J, E = len(anny_body.bone_names), len(anny_body.expression_names)
    out = anny_body.forward(pose=torch.zeros(3, J, 3), expression=torch.zeros(3, E))
    V = anny_body.skinning_weights.shape[0]
    assert out.vertices.shape == (3, V, 3)
    assert out.bone_transforms.shape == (3, J, 4, 4)
    single = anny_body.forward()
    assert torch.allclose(out.vertices[1], single.vertices[0], atol=1e-6)
    # Metres, Z-up, about 1.6 m tall, facing -Y (the nose is the front-most point of the head).
    v = single.vertices[0]
    height = float(v[:, 2].max() - v[:, 2].min())
    assert 1.4 < height < 1.9


def test_pose_moves_only_what_it_should(anny_body):
    J = len(anny_body.bone_names)
    names = anny_body.bone_names
    pose = torch.zeros(1, J, 3)
    pose[0, names.index("upperarm01.L"), 1] = -1.8  # raise the left arm
    rest = anny_body.forward().vertices[0]
    posed = anny_body.forward(pose=pose).vertices[0]
    parts = anny_body.vertex_parts
    hand_l = parts == PART_NAMES.index("hand.L")
    foot_r = parts == PART_NAMES.index("foot.R")
    assert (posed[hand_l, 2].mean() - rest[hand_l, 2].mean()) > 0.5
    assert torch.allclose(posed[foot_r], rest[foot_r], atol=1e-5)


def test_expression_moves_the_face_only(anny_body):
    E = anny_body.expression_names
    expression = torch.zeros(1, len(E))
    expression[0, E.index("jawOpen")] = 1.0
    rest = anny_body.forward().vertices[0]
    posed = anny_body.forward(expression=expression).vertices[0]
    moved = (posed - rest).norm(dim=-1) > 1e-4
    parts = anny_body.vertex_parts[moved]
    assert moved.sum() > 100
    assert set(parts.tolist()) <= {PART_NAMES.index("head"), PART_NAMES.index("neck")}


def test_shape_changes_the_body(anny_body):
    shape = anny_body.default_shape()
    taller = shape.clone()
    taller[0, [p.name for p in anny_body.shape_parameters].index("height")] = 1.0
    v0 = anny_body.forward(shape=shape).vertices[0]
    v1 = anny_body.forward(shape=taller).vertices[0]
    h0 = v0[:, 2].max() - v0[:, 2].min()
    h1 = v1[:, 2].max() - v1[:, 2].min()
    assert h1 > h0 + 0.05
