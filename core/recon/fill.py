"""Filling in what no photo shows: colours for the parts of the body seen in no photo.

Works on any points in the canonical frame; appearance fitting uses the body mesh's vertices
(:func:`fill_on_mesh`), so the cost does not grow with the number of Gaussians.

Rule: an unseen point takes the colour of the seen point nearest its left/right mirror
image if that lies within MIRROR_RADIUS of the mirror image (the far arm of a side view
copies the near arm). Else an unseen point on the head (the scalp; typically the back of the
head in a front photo) takes the colour of the nearest seen head point in the top SCALP_BAND
of what was seen of the head, so the hair seen on top continues down the back of the head
instead of the skin of the ears and neck (the "bald from behind" of plain nearness); a bald
head stays skin, because its top is skin. Any other unseen point
takes the colour of the seen point nearest to itself (the back of a front view continues the
colours at its sides). The colours taken by nearness are then relaxed towards their
neighbours' (FILL_SMOOTHING passes over FILL_NEIGHBOURS nearest points), which blends the
patches that nearness leaves (one per seen point along the edge of what was seen); those
taken from the top are relaxed among themselves only: relaxed with their seen neighbours,
the face's skin at the temples ran into the hair over the sides of the head (the profile's
"hair mixed into the face"; at seed 11 the head's pixels in a face close-up scored 20.30 dB
so and 21.43 with the scalp relaxed on its own).

Letters: P points, Q queries, V vertices, F triangles, N Gaussians.
"""

from __future__ import annotations

import torch
from torch import Tensor

MIRROR_RADIUS = 0.02
"""Metres: an unseen point copies the seen point nearest its left/right mirror image if that
one lies within this distance of the mirror image (Anny's vertices mirror onto each other
within millimetres)."""
MIRROR_AXIS = 0
"""The canonical frame's left/right axis (X for Anny and SMPL-X); the body is symmetric about
the plane through the middle of the mesh across it."""
UP_AXIS = 2
"""The canonical frame's up axis (Z for Anny; core.avatar records the frame)."""
SCALP_BAND = 0.03
"""Metres: unseen head points copy the nearest seen head point within this distance of the
highest seen head point (measured along UP_AXIS). On the sample person (core.recon
.sample_person) seen from the front, 2 cm held 4 points of hair, 3 cm all hair."""
FILL_NEIGHBOURS = 8
FILL_SMOOTHING = 10
"""Colours filled by nearness are averaged over their FILL_NEIGHBOURS nearest points this
many times (see :func:`smooth_filled`)."""


def nearest_points(query: Tensor, points: Tensor, k: int = 1) -> tuple[Tensor, Tensor]:
    """Distances (Q, k') and indices (Q, k') of the k' = min(k, P) nearest of ``points``
    (P, 3) to each query (Q, 3), nearest first; in chunks of about 2^25 distances."""
    k = min(k, len(points))
    chunk = max(1, (1 << 25) // max(len(points), 1))
    distances, indices = [], []
    for start in range(0, len(query), chunk):
        d = torch.cdist(query[start : start + chunk], points)
        best = torch.topk(d, k, dim=1, largest=False)
        distances.append(best.values)
        indices.append(best.indices)
    if not distances:
        return query.new_zeros(0, k), torch.zeros(0, k, dtype=torch.int64)
    return torch.cat(distances), torch.cat(indices)


def _from_top(query: Tensor, points: Tensor) -> Tensor:
    """(Q,) index into ``points`` (P, 3) of the nearest of those within SCALP_BAND of the
    highest, for each query (Q, 3)."""
    height = points[:, UP_AXIS]
    top = (height >= height.max() - SCALP_BAND).nonzero().squeeze(1)
    return top[torch.cdist(query, points[top]).argmin(dim=1)]


def fill_unseen(
    points: Tensor,
    colour: Tensor,
    seen: Tensor,
    mirror_centre: float = 0.0,
    head: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Colours (P, 3) with every unseen point given a seen one's colour, and (P,) bool True
    for those that took it from the seen point nearest to themselves (to be relaxed by
    :func:`smooth_filled`; those filled from the top of the head come back relaxed among
    themselves).

    points: (P, 3) canonical positions (mesh vertices or Gaussian centres); colour: (P, 3);
    seen: (P,) bool; mirror_centre: the coordinate of the body's symmetry plane along
    MIRROR_AXIS; head: (P,) bool, the points on the head. An unseen point takes the colour of
    the seen point nearest its mirror image if that lies within MIRROR_RADIUS of it; else an
    unseen head point takes the nearest seen head point at the top (module docstring), and
    any other the colour of the seen point nearest to itself. With nothing seen, the colours
    are returned unchanged.
    """
    by_nearest = torch.zeros_like(seen)
    if bool(seen.all()) or not bool(seen.any()):
        return colour, by_nearest
    seen_points = points[seen].float()
    seen_colour = colour[seen]
    unseen = (~seen).nonzero().squeeze(1)
    query = points[unseen].float()
    mirrored = query.clone()
    mirrored[:, MIRROR_AXIS] = 2 * mirror_centre - mirrored[:, MIRROR_AXIS]
    mirror_distance, mirror_index = nearest_points(mirrored, seen_points)
    _, own_index = nearest_points(query, seen_points)
    use_mirror = mirror_distance[:, 0] <= MIRROR_RADIUS
    source = torch.where(use_mirror, mirror_index[:, 0], own_index[:, 0])
    if head is not None and bool((head & seen).any()):
        seen_head = (head & seen).nonzero().squeeze(1)
        # Positions of the seen head points among the seen points.
        rank = torch.cumsum(seen.long(), 0) - 1
        scalp = head[unseen] & ~use_mirror
        top = _from_top(query[scalp], points[seen_head].float())
        source[scalp] = rank[seen_head[top]]
    else:
        scalp = torch.zeros_like(use_mirror)
    out = colour.clone()
    out[unseen] = seen_colour[source]
    by_nearest[unseen[~use_mirror & ~scalp]] = True
    from_top = unseen[scalp]
    out[from_top] = smooth_filled(
        points[from_top], out[from_top], torch.ones_like(from_top, dtype=torch.bool)
    )
    return out, by_nearest


def smooth_filled(points: Tensor, colour: Tensor, loose: Tensor) -> Tensor:
    """Colours (P, 3) of points (P, 3) with the ``loose`` (P,) bool ones relaxed towards the
    mean of their FILL_NEIGHBOURS nearest points, FILL_SMOOTHING times, the others held:
    the nearest-seen fill leaves patches (one per seen point along the edge of what the
    photos show), this blends them."""
    index = loose.nonzero().squeeze(1)
    if len(index) == 0 or FILL_SMOOTHING == 0:
        return colour
    _, neighbours = nearest_points(points[index].float(), points.float(), FILL_NEIGHBOURS)
    out = colour.clone()
    for _ in range(FILL_SMOOTHING):
        out[index] = out[neighbours].mean(dim=1)
    return out


def fill_on_mesh(
    vertices: Tensor,
    faces: Tensor,
    triangle: Tensor,
    barycentric: Tensor,
    colour: Tensor,
    seen: Tensor,
    head: Tensor | None = None,
) -> Tensor:
    """(N, 3) colours of N Gaussians on a mesh with the unseen ones filled in.

    vertices: (V, 3) canonical mesh; faces: (F, 3); triangle: (N,) and barycentric: (N, 3),
    the Gaussians' binding; colour: (N, 3), meaningful where ``seen`` (N,) bool; head: (N,)
    bool, the Gaussians on the head (their triangles' vertices fill from the top of the head).
    Each vertex takes the barycentric-weighted mean colour of the seen Gaussians on its
    triangles (and counts as seen if there is any); the unseen vertices are filled
    (:func:`fill_unseen`) and smoothed (:func:`smooth_filled`); an unseen Gaussian takes the
    barycentric mix of its triangle's vertex colours. Seen Gaussians keep their colours.
    """
    if bool(seen.all()) or not bool(seen.any()):
        return colour
    vertices = vertices.float()
    corners = faces[triangle]  # (N, 3)
    weight = (barycentric * seen[:, None]).flatten()  # (3N,)
    total = torch.zeros(len(vertices)).index_add_(0, corners.flatten(), weight)
    spread = weight[:, None] * colour.repeat_interleave(3, dim=0)  # (3N, 3)
    summed = torch.zeros(len(vertices), 3).index_add_(0, corners.flatten(), spread)
    vertex_seen = total > 0
    vertex_colour = summed / total.clamp_min(1e-12)[:, None]
    axis = vertices[:, MIRROR_AXIS]
    centre = 0.5 * float(axis.min() + axis.max())
    vertex_head = None
    if head is not None:
        vertex_head = torch.zeros(len(vertices), dtype=torch.bool)
        vertex_head[corners[head].flatten()] = True
    filled, by_nearest = fill_unseen(vertices, vertex_colour, vertex_seen, centre, vertex_head)
    filled = smooth_filled(vertices, filled, by_nearest)
    # nki,nk->ni : mix each Gaussian's corner colours by its barycentric coordinates.
    unseen_colour = torch.einsum("nki,nk->ni", filled[corners], barycentric.float())
    return torch.where(seen[:, None], colour, unseen_colour)
