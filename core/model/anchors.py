"""Template anchors: M points spread over the canonical body mesh, and which anchors each
Gaussian listens to.

Anchors are body-mesh vertices chosen by farthest-point sampling on the default-shape
canonical mesh, starting from vertex 0: deterministic, and, being vertex indices, the same
anchors on every body shape (the network's learned embedding of anchor i means the same spot
on everyone). A Gaussian takes features from its ``k`` nearest anchors in the canonical pose
(Euclidean, a proxy for distance along the surface that the A-pose keeps honest: arms and
legs stand apart), weighted by inverse distance.

Letters: V vertices, M anchors, N Gaussians, k neighbours.
"""

from __future__ import annotations

import torch
from torch import Tensor


def farthest_points(points: Tensor, count: int) -> Tensor:
    """(count,) int64 indices of ``points`` (V, 3) by farthest-point sampling from index 0."""
    if not 0 < count <= points.shape[0]:
        raise ValueError(f"count must be 1..{points.shape[0]}, got {count}.")
    points = points.double()
    chosen = torch.zeros(count, dtype=torch.long)
    distance = torch.full((points.shape[0],), float("inf"), dtype=torch.float64)
    for i in range(1, count):
        step = (points - points[chosen[i - 1]]).square().sum(-1)
        distance = torch.minimum(distance, step)
        chosen[i] = torch.argmax(distance)
    return chosen


def anchor_weights(points: Tensor, anchors: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The k nearest anchors of each point: index (N, k) int64 into anchors (M, 3) and
    weights (N, k) summing to 1 (inverse distance); points: (N, 3)."""
    distance = torch.cdist(points.float(), anchors.float())  # (N, M)
    near, index = distance.topk(min(k, anchors.shape[0]), dim=-1, largest=False)
    weight = 1.0 / (near + 1e-3)
    return index, weight / weight.sum(-1, keepdim=True)
