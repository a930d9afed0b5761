"""core.deform on CUDA against the same code on the CPU (the deformation is device-agnostic)."""

from __future__ import annotations

import pytest
import torch

from core.avatar.benchmark import synthetic_avatar, torus_mesh
from core.deform import deform_gaussians

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        not torch.cuda.is_available(),
        reason="needs an NVIDIA GPU with CUDA (tests/gpu runs only where CUDA is present)",
    ),
]


def test_deform_on_cuda_matches_cpu(device):
    vertices, faces = torus_mesh(rings=40, segments=80)
    avatar = synthetic_avatar(vertices, faces, 20_000, sh_degree=0, seed=3)
    g = torch.Generator().manual_seed(4)
    # Two "poses": the rest mesh, and a stretched and jittered one.
    jitter = 0.01 * torch.randn(vertices.shape, generator=g)
    posed = torch.stack((vertices, vertices * torch.tensor([1.1, 0.9, 1.2]) + jitter))
    on_cpu = deform_gaussians(posed, faces, avatar.binding)
    on_gpu = deform_gaussians(posed.to(device), faces.to(device), avatar.binding.to(device))
    assert on_gpu.means.device.type == device.type
    # float32 on both; 1e-5 m is far above the rounding of metre-sized coordinates (~1e-7).
    torch.testing.assert_close(on_gpu.means.cpu(), on_cpu.means, atol=1e-5, rtol=0)
    torch.testing.assert_close(on_gpu.scales.cpu(), on_cpu.scales, atol=1e-5, rtol=0)
    # q and -q are the same rotation: compare each quaternion with the nearer sign of the other.
    q_gpu, q_cpu = on_gpu.quats.cpu(), on_cpu.quats
    same = (q_gpu - q_cpu).abs().amax(-1)
    flipped = (q_gpu + q_cpu).abs().amax(-1)
    assert float(torch.minimum(same, flipped).max()) <= 1e-5
