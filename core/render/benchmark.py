"""How fast the torch reference renders a human-sized body (`lca bench render`).

Benchmarks print figures; tests never assert on time (DESIGN.md section 7).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch

from ..quaternion import rotmat_to_quat
from .camera import frame_points
from .render import render
from .sh import SH_C0, SH_COUNTS
from .types import Camera, SplatScene

# Ellipsoids of a 1.72 m body standing on Z = 0 and facing -Y: (centre xyz, radii xyz), metres.
_BODY = (
    ((0.00, 0.00, 1.60), (0.08, 0.10, 0.12)),  # head
    ((0.00, 0.00, 1.45), (0.05, 0.05, 0.07)),  # neck
    ((0.00, 0.00, 1.20), (0.17, 0.11, 0.28)),  # chest and belly
    ((0.00, 0.00, 0.92), (0.16, 0.11, 0.10)),  # pelvis
    ((-0.24, 0.00, 1.24), (0.045, 0.045, 0.16)),  # upper arms
    ((0.24, 0.00, 1.24), (0.045, 0.045, 0.16)),
    ((-0.26, 0.00, 0.95), (0.04, 0.04, 0.14)),  # forearms
    ((0.26, 0.00, 0.95), (0.04, 0.04, 0.14)),
    ((-0.27, 0.00, 0.76), (0.025, 0.045, 0.07)),  # hands
    ((0.27, 0.00, 0.76), (0.025, 0.045, 0.07)),
    ((-0.09, 0.00, 0.65), (0.07, 0.07, 0.22)),  # thighs
    ((0.09, 0.00, 0.65), (0.07, 0.07, 0.22)),
    ((-0.09, 0.00, 0.25), (0.05, 0.05, 0.20)),  # shins
    ((0.09, 0.00, 0.25), (0.05, 0.05, 0.20)),
    ((-0.09, -0.05, 0.03), (0.04, 0.10, 0.03)),  # feet
    ((0.09, -0.05, 0.03), (0.04, 0.10, 0.03)),
)


@dataclass(frozen=True)
class RenderBench:
    """width x height image of ``count`` Gaussians; median_s / min_s over ``repeats`` renders."""

    width: int
    height: int
    count: int
    repeats: int
    median_s: float
    min_s: float


def synthetic_body(count: int, sh_degree: int = 3, seed: int = 0) -> SplatScene:
    """A seeded float32 scene of ``count`` Gaussians on the skin of an ellipsoid body.

    About 1.72 m tall, Z-up, facing -Y; scales 3-8 mm (the shortest along the skin normal),
    opacities 0.85-0.95, parts = index of the ellipsoid.
    """
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([c for c, _ in _BODY], dtype=torch.float64)
    radii = torch.tensor([r for _, r in _BODY], dtype=torch.float64)
    # Knud Thomsen's approximation of each ellipsoid's area, to spread Gaussians evenly.
    p = 1.6075
    a, b, c = (radii**p).unbind(-1)
    area = ((a * b + a * c + b * c) / 3) ** (1 / p)
    part = torch.multinomial(area, count, replacement=True, generator=g)
    sphere = torch.randn(count, 3, generator=g, dtype=torch.float64)
    sphere = sphere / sphere.norm(dim=-1, keepdim=True)
    means = centres[part] + sphere * radii[part]
    normal = sphere / radii[part]
    normal = normal / normal.norm(dim=-1, keepdim=True)
    # A frame whose third axis is the normal, turned by a random angle about it.
    helper = torch.randn(count, 3, generator=g, dtype=torch.float64)
    tangent = torch.linalg.cross(normal, helper)
    tangent = tangent / tangent.norm(dim=-1, keepdim=True)
    frame = torch.stack((tangent, torch.linalg.cross(normal, tangent), normal), dim=-1)
    scales = torch.sort(3e-3 + 5e-3 * torch.rand(count, 3, generator=g), dim=-1, descending=True)
    k = SH_COUNTS[sh_degree]
    sh = 0.05 * torch.randn(count, k, 3, generator=g)
    sh[:, 0] = (torch.rand(count, 3, generator=g) - 0.5) / SH_C0
    return SplatScene(
        means=means.float(),
        quats=rotmat_to_quat(frame).float(),
        scales=scales.values.float(),
        opacities=0.85 + 0.1 * torch.rand(count, generator=g),
        sh=sh,
        parts=part,
    )


def body_camera(scene: SplatScene, width: int, height: int) -> Camera:
    """A front camera (30 degree vertical field of view) the body fills 80% of in height."""
    return frame_points(scene.means, 0.0, 0.0, width, height, fov_y_deg=30.0, margin=1.25)


def bench_render(
    width: int, height: int, count: int, repeats: int = 3, seed: int = 0
) -> RenderBench:
    """Time ``render`` (torch backend, float32, no gradients) of :func:`synthetic_body`.

    One untimed warm-up render precedes the ``repeats`` timed ones.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}.")
    scene = synthetic_body(count, seed=seed)
    camera = body_camera(scene, width, height)
    times = []
    with torch.no_grad():
        for i in range(repeats + 1):
            start = time.perf_counter()
            render(scene, camera, backend="torch")
            if i > 0:
                times.append(time.perf_counter() - start)
    return RenderBench(
        width=width,
        height=height,
        count=count,
        repeats=repeats,
        median_s=statistics.median(times),
        min_s=min(times),
    )
