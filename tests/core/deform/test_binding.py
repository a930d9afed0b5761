import math

import pytest
import torch

from core.avatar.avatar import GaussianBinding
from core.deform import deform_gaussians, triangle_frames
from core.deform._reference import _deform_gaussians
from core.deform.frames import frame_components
from core.quaternion import axis_angle_to_rotmat, quat_multiply, quat_to_rotmat, rotmat_to_quat


def _mesh(dtype=torch.float64):
    """A small bent strip of 4 triangles."""
    vertices = torch.tensor(
        [[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0.3], [0, 2, 0.1], [1, 2, 0.5]], dtype=dtype
    )
    faces = torch.tensor([[0, 1, 2], [1, 3, 2], [2, 3, 4], [3, 5, 4]])
    return vertices, faces


def _binding(n=10, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    bary = torch.rand(n, 3, generator=g, dtype=dtype)
    rotation = torch.randn(n, 4, generator=g, dtype=dtype)
    return GaussianBinding(
        triangle=torch.randint(0, 4, (n,), generator=g),
        barycentric=bary / bary.sum(-1, keepdim=True),
        offset=0.1 * torch.randn(n, 3, generator=g, dtype=dtype),
        rotation=rotation / rotation.norm(dim=-1, keepdim=True),
        log_scale=torch.randn(n, 3, generator=g, dtype=dtype) - 2,
        opacity_logit=torch.zeros(n, dtype=dtype),
        sh=torch.zeros(n, 1, 3, dtype=dtype),
        part=torch.zeros(n, dtype=torch.int64),
    )


def _same_rotation(q1, q2, atol=1e-9):
    # q and -q are the same rotation.
    return torch.allclose(quat_to_rotmat(q1), quat_to_rotmat(q2), atol=atol)


def test_frames_are_right_handed_orthonormal():
    vertices, faces = _mesh()
    frames = triangle_frames(vertices[None], faces)
    R = frames.rotation[0]
    eye = torch.eye(3, dtype=R.dtype).expand_as(R)
    assert torch.allclose(R.transpose(-1, -2) @ R, eye, atol=1e-12)
    assert torch.allclose(torch.linalg.det(R), torch.ones(4, dtype=R.dtype))
    # First triangle: unit right triangle in the XY plane -> size sqrt(2 * 0.5) = 1.
    assert frames.size[0, 0].item() == pytest.approx(1.0, abs=1e-6)
    assert torch.allclose(R[0], eye[0], atol=1e-12)


def test_zero_offset_sits_on_the_surface():
    vertices, faces = _mesh()
    b = _binding()
    b = GaussianBinding(**{**b.__dict__, "offset": torch.zeros_like(b.offset)})
    world = deform_gaussians(vertices[None], faces, b)
    expected = (vertices[faces[b.triangle]] * b.barycentric[..., None]).sum(1)
    assert torch.allclose(world.means[0], expected, atol=1e-12)


def test_rigid_motion_moves_gaussians_rigidly():
    vertices, faces = _mesh()
    b = _binding()
    R = axis_angle_to_rotmat(torch.tensor([0.3, -1.1, 0.7], dtype=torch.float64))
    t = torch.tensor([0.5, -2.0, 1.0], dtype=torch.float64)
    before = deform_gaussians(vertices[None], faces, b)
    after = deform_gaussians((vertices @ R.T + t)[None], faces, b)
    assert torch.allclose(after.means[0], before.means[0] @ R.T + t, atol=1e-10)
    assert torch.allclose(after.scales, before.scales, atol=1e-10)
    q = rotmat_to_quat(R).expand_as(before.quats[0])
    assert _same_rotation(after.quats[0], quat_multiply(q, before.quats[0]))


def test_stretched_triangle_stretches_its_gaussians():
    vertices, faces = _mesh()
    vertices[:, 2] = 0.0  # flat in XY, so doubling x doubles every triangle's area
    b = _binding()
    stretched = vertices.clone()
    stretched[:, 0] *= 2.0
    before = deform_gaussians(vertices[None], faces, b)
    after = deform_gaussians(stretched[None], faces, b)
    ratio = after.scales / before.scales
    assert torch.allclose(ratio, torch.full_like(ratio, math.sqrt(2.0)), atol=1e-9)
    assert not torch.allclose(after.scales, before.scales)


def test_quaternions_are_unit():
    vertices, faces = _mesh()
    world = deform_gaussians(vertices[None], faces, _binding(50))
    assert torch.allclose(world.quats.norm(dim=-1), torch.ones(1, 50, dtype=torch.float64))


def test_batch_matches_single():
    vertices, faces = _mesh()
    b = _binding()
    batch = torch.stack([vertices, vertices * 1.5, vertices + 1])
    world = deform_gaussians(batch, faces, b)
    for i in range(3):
        single = deform_gaussians(batch[i : i + 1], faces, b)
        assert torch.allclose(world.means[i], single.means[0])
        assert torch.allclose(world.quats[i], single.quats[0])


def test_gradcheck_float64():
    vertices, faces = _mesh()
    b = _binding(6)

    def f(verts, offset, log_scale):
        binding = GaussianBinding(**{**b.__dict__, "offset": offset, "log_scale": log_scale})
        w = deform_gaussians(verts, faces, binding)
        return w.means, w.quats, w.scales

    inputs = (
        vertices[None].clone().requires_grad_(True),
        b.offset.clone().requires_grad_(True),
        b.log_scale.clone().requires_grad_(True),
    )
    assert torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5)


def test_unbatched_vertices_are_refused():
    vertices, faces = _mesh()
    with pytest.raises(ValueError, match="batched"):
        deform_gaussians(vertices, faces, _binding())


def _random_binding(n, dtype=torch.float64, seed=3):
    """Random numbers everywhere, the stored rotation not unit, the barycentrics not summing to
    1 (as they may be while training)."""
    g = torch.Generator().manual_seed(seed)
    b = _binding(n, dtype, seed)
    return GaussianBinding(
        **{
            **b.__dict__,
            "barycentric": torch.rand(n, 3, generator=g, dtype=dtype),
            "offset": 0.3 * torch.randn(n, 3, generator=g, dtype=dtype),
            "rotation": 2.0 * torch.randn(n, 4, generator=g, dtype=dtype),
        }
    )


@pytest.mark.parametrize("batch", [1, 3])
def test_matches_the_reference_twin_in_values_and_gradients(batch):
    vertices, faces = _mesh()
    g = torch.Generator().manual_seed(4)
    verts = (vertices + 0.2 * torch.randn(batch, *vertices.shape, generator=g)).requires_grad_()
    fields = ("barycentric", "offset", "rotation", "log_scale")
    b0 = _random_binding(40)
    leaves = {k: getattr(b0, k).clone().requires_grad_() for k in fields}
    b = GaussianBinding(**{**b0.__dict__, **leaves})
    world = deform_gaussians(verts, faces, b)
    fast = (world.means, quat_to_rotmat(world.quats), world.scales)
    reference = _deform_gaussians(verts, faces, b)
    for got, expected in zip(fast, reference, strict=True):
        torch.testing.assert_close(got, expected, atol=1e-10, rtol=1e-10)
    cotangents = [torch.randn(x.shape, generator=g, dtype=x.dtype) for x in reference]
    inputs = (verts, *leaves.values())
    grads_fast = torch.autograd.grad(fast, inputs, cotangents)
    grads_reference = torch.autograd.grad(reference, inputs, cotangents)
    for got, expected in zip(grads_fast, grads_reference, strict=True):
        torch.testing.assert_close(got, expected, atol=1e-10, rtol=1e-10)


def test_outputs_are_contiguous_and_keep_the_vertex_dtype():
    vertices, faces = _mesh(torch.float32)
    world = deform_gaussians(vertices[None], faces, _binding(7))  # a float64 binding
    for x, width in ((world.means, 3), (world.quats, 4), (world.scales, 3)):
        assert x.shape == (1, 7, width) and x.dtype == torch.float32 and x.is_contiguous()


def test_triangle_frames_are_the_frame_components_in_rows():
    vertices, faces = _mesh()
    batch = torch.stack([vertices, 2 * vertices + 1])
    frames, c = triangle_frames(batch, faces), frame_components(batch, faces)
    torch.testing.assert_close(frames.rotation[..., 0], c.tangent.transpose(1, 2))
    torch.testing.assert_close(frames.rotation[..., 1], c.bitangent.transpose(1, 2))
    torch.testing.assert_close(frames.rotation[..., 2], c.normal.transpose(1, 2))
    torch.testing.assert_close(frames.origin, c.origin.transpose(1, 2))
    torch.testing.assert_close(frames.edges[:, :, 0], c.edge1.transpose(1, 2))
    torch.testing.assert_close(frames.edges[:, :, 1], c.edge2.transpose(1, 2))
    torch.testing.assert_close(frames.size, c.size)
    expected = torch.linalg.cross(c.edge1, c.edge2, dim=1).norm(dim=1).sqrt()
    torch.testing.assert_close(c.size, expected)


def test_a_correction_adds_to_the_offset_like_the_reference_twin():
    """The network's pose correction (core.model.correction) goes through the one path: the
    same as adding it to the binding's offset, in values and gradients."""
    vertices, faces = _mesh()
    g = torch.Generator().manual_seed(5)
    verts = vertices + 0.2 * torch.randn(2, *vertices.shape, generator=g)
    b = _random_binding(30)
    correction = (0.3 * torch.randn(2, 30, 3, generator=g, dtype=verts.dtype)).requires_grad_()
    fast = deform_gaussians(verts, faces, b, correction).means
    reference = _deform_gaussians(verts, faces, b, correction)[0]
    torch.testing.assert_close(fast, reference, atol=1e-10, rtol=1e-10)
    cotangent = torch.randn(fast.shape, generator=g, dtype=fast.dtype)
    (grad_fast,) = torch.autograd.grad(fast, correction, cotangent)
    (grad_reference,) = torch.autograd.grad(reference, correction, cotangent)
    torch.testing.assert_close(grad_fast, grad_reference, atol=1e-10, rtol=1e-10)
    zero = deform_gaussians(verts, faces, b, torch.zeros(2, 30, 3, dtype=verts.dtype)).means
    torch.testing.assert_close(zero, deform_gaussians(verts, faces, b).means)
    with pytest.raises(ValueError, match="correction"):
        deform_gaussians(verts, faces, b, torch.zeros(1, 30, 3))
