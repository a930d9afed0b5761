"""How fast `.lca` files are written and read (`lca bench io`).

Benchmarks print figures; tests never assert on time (DESIGN.md section 7).
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..render.sh import SH_COUNTS
from .avatar import Avatar, BodyIdentity, GaussianBinding
from .lca_file import load_lca, save_lca


@dataclass(frozen=True)
class IoBench:
    """count: Gaussians; file_bytes: size of the `.lca` file; write_s / read_s: medians."""

    count: int
    file_bytes: int
    write_s: float
    read_s: float


def torus_mesh(rings: int = 100, segments: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
    """A closed torus of about body-mesh size: vertices (V, 3) float32, faces (F, 3) int64.

    V = rings * segments, F = 2 V; radii 0.5 m and 0.15 m, Z up.
    """
    u = torch.arange(rings, dtype=torch.float64) * (2 * math.pi / rings)
    v = torch.arange(segments, dtype=torch.float64) * (2 * math.pi / segments)
    uu, vv = torch.meshgrid(u, v, indexing="ij")
    r = 0.5 + 0.15 * torch.cos(vv)
    verts = torch.stack((r * torch.cos(uu), r * torch.sin(uu), 0.15 * torch.sin(vv)), dim=-1)
    i = torch.arange(rings)[:, None]
    j = torch.arange(segments)[None, :]
    a = i * segments + j
    b = ((i + 1) % rings) * segments + j
    c = ((i + 1) % rings) * segments + (j + 1) % segments
    d = i * segments + (j + 1) % segments
    faces = torch.cat((torch.stack((a, b, c), -1), torch.stack((a, c, d), -1)), 0).reshape(-1, 3)
    return verts.reshape(-1, 3).to(torch.float32), faces.to(torch.int64)


def synthetic_avatar(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    count: int,
    sh_degree: int = 3,
    seed: int = 0,
    part_names: tuple[str, ...] = ("body", "head", "hands"),
) -> Avatar:
    """A seeded avatar of ``count`` random but valid Gaussians bound to a mesh.

    vertices: (V, 3) float32; faces: (F, 3) int64.
    """
    g = torch.Generator().manual_seed(seed)
    n, k = count, SH_COUNTS[sh_degree]
    bary = -torch.log(torch.rand(n, 3, generator=g).clamp_min(1e-6))  # Dirichlet(1, 1, 1)
    rot = torch.randn(n, 4, generator=g)
    binding = GaussianBinding(
        triangle=torch.randint(0, faces.shape[0], (n,), generator=g),
        barycentric=bary / bary.sum(-1, keepdim=True),
        offset=0.1 * torch.randn(n, 3, generator=g),
        rotation=rot / rot.norm(dim=-1, keepdim=True),
        log_scale=0.3 * torch.randn(n, 3, generator=g) - 2.0,
        opacity_logit=torch.randn(n, generator=g),
        sh=0.3 * torch.randn(n, k, 3, generator=g),
        part=torch.randint(0, len(part_names), (n,), generator=g),
    )
    return Avatar(
        binding=binding,
        body=BodyIdentity(model="synthetic", model_version="0", shape={"size": 0.5}),
        canonical_vertices=vertices,
        faces=faces,
        part_names=part_names,
        up_axis="Z",
        metadata={"name": "synthetic", "seed": str(seed)},
    )


def synthetic_rig(avatar: Avatar, bones: int = 3, expressions: int = 2, seed: int = 0):
    """A seeded, valid rig (``lca_rig.RigArrays``) for ``avatar``'s mesh, not a body model's:
    a chain of ``bones`` bones, up to 3 skinning weights per vertex, ``expressions``
    expression keys, two body-shape keys and UVs (for the file and fuzz tests)."""
    import numpy as np

    from .lca_rig import RigArrays, ShapeKeyTarget, axes_to_blender

    rng = np.random.default_rng(seed)
    axes = axes_to_blender(avatar.up_axis)
    vertices = avatar.canonical_vertices.numpy().astype(np.float32) @ axes.T
    V, F = vertices.shape[0], int(avatar.faces.shape[0])
    matrices = np.tile(np.eye(4, dtype=np.float32), (bones, 1, 1))
    angles = rng.uniform(-np.pi, np.pi, bones)
    matrices[:, 0, 0], matrices[:, 0, 1] = np.cos(angles), -np.sin(angles)
    matrices[:, 1, 0], matrices[:, 1, 1] = np.sin(angles), np.cos(angles)
    matrices[:, :3, 3] = rng.normal(0, 0.3, (bones, 3))
    weights = np.zeros((V, bones), np.float32)
    for v in range(V):
        chosen = rng.choice(bones, size=min(bones, 1 + v % 3), replace=False)
        weights[v, chosen] = rng.dirichlet(np.ones(len(chosen))).astype(np.float32)
    return RigArrays(
        bone_names=tuple(f"bone_{j}" for j in range(bones)),
        bone_parents=tuple(range(-1, bones - 1)),
        bone_matrices=matrices,
        bone_lengths=rng.uniform(0.05, 0.3, bones).astype(np.float32),
        vertices=vertices,
        faces=avatar.faces.numpy().astype(np.int64),
        uvs=rng.uniform(0, 1, (F, 3, 2)).astype(np.float32),
        skinning_weights=weights,
        expression_names=tuple(f"expression_{e}" for e in range(expressions)),
        expression_deltas=rng.normal(0, 0.01, (expressions, V, 3)).astype(np.float32),
        shape_keys=(
            ShapeKeyTarget("body_size_max", "size", 0.5, 1.0),
            ShapeKeyTarget("body_size_min", "size", 0.5, 0.0),
        ),
        shape_deltas=rng.normal(0, 0.02, (2, V, 3)).astype(np.float32),
        axes=axes,
    )


def bench_io(count: int = 200_000, repeats: int = 5, seed: int = 0) -> IoBench:
    """Median times of :func:`save_lca` and :func:`load_lca` for ``count`` Gaussians (SH 3)."""
    vertices, faces = torus_mesh()
    avatar = synthetic_avatar(vertices, faces, count, sh_degree=3, seed=seed)
    writes, reads = [], []
    with tempfile.TemporaryDirectory(prefix="lca-bench-") as tmp:
        path = Path(tmp) / "bench.lca"
        for _ in range(max(1, repeats)):
            start = time.perf_counter()
            save_lca(avatar, path)
            writes.append(time.perf_counter() - start)
            start = time.perf_counter()
            load_lca(path)
            reads.append(time.perf_counter() - start)
        size = path.stat().st_size
    return IoBench(
        count=count,
        file_bytes=size,
        write_s=statistics.median(writes),
        read_s=statistics.median(reads),
    )
