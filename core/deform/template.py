"""The template avatar: Gaussians seeded on the body model alone (the starter avatar).

Photo reconstruction and the LCA network start from it.

Gaussians are seeded on the canonical body surface as flat discs in each triangle's tangent
plane, area-weighted times a density per region (:func:`region_density`: several times more
per area on the face, densest at the eyes, lips and brows, and on the hands, where people
look in close-ups), each disc as wide as the spacing where it sits. Anny ships no skin
texture, so the colour is a clean neutral skin with lips at Anny's FaceMesh lip points, eyes
and mouth from Anny's UV region labels, and a soft studio light baked in (as a
captured avatar has the light of its capture baked in): a key light, a sky/ground term and a
cavity term from the mesh, so that shapes read in a render.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..avatar.avatar import Avatar, BodyIdentity, GaussianBinding
from ..body.model import BodyModel
from ..body.parts import in_parts
from ..render.sh import SH_C0
from .frames import triangle_frames

SKIN = (0.86, 0.67, 0.56)
SCLERA = (0.93, 0.92, 0.90)
IRIS = (0.30, 0.22, 0.16)
PUPIL = (0.04, 0.04, 0.05)
MOUTH = (0.45, 0.18, 0.18)
TONGUE = (0.75, 0.42, 0.42)
LIPS = (0.72, 0.43, 0.40)
LIP_RADIUS = 0.003
"""Metres around Anny's FaceMesh lip points that take the lips' colour."""
NOSTRIL = (0.24, 0.12, 0.10)
NOSTRIL_RADII = (0.0050, 0.0060, 0.0040)
"""Half-axes in metres (across, front-to-back, up) of each nostril's dark opening."""


FACE_DENSITY = 4.0
"""Gaussians per area on the front of the head, relative to the torso (and the rest of the
body): a face close-up of 512 px shows the face ~20x larger than a full-body view."""
FEATURE_DENSITY = 10.0
"""... within FEATURE_RADIUS of the eyes, lips and brows (Anny's FaceMesh points)."""
FEATURE_RADIUS = 0.012
"""Metres around each eye, lip and brow point that count as that feature."""
HEAD_DENSITY = 1.5
"""... on the rest of the head (scalp, ears, back) and the eyes' own surfaces."""
HAND_DENSITY = 6.0
"""... on the hands: fingers 1.5-2 cm wide need discs of a few millimetres to stay apart."""
FEATURE_GROUPS = ("eyes", "lips", "brows")
FINGER_STRETCH = 1.7
"""Discs on the fingers are this many times longer along the finger than a round disc of
the same area, and as many times narrower across it: a round disc as wide as the spacing
reaches across the 2-4 mm gap to the next finger and webs the fingers together."""
FINGER_WORDS = ("finger", "thumb", "index", "middle", "ring", "pinky")
"""A bone whose name contains one of these is a finger bone (Anny's finger2-1.L, SMPL-X's
left_index1)."""


def region_density(body: BodyModel, vertices: Tensor) -> Tensor:
    """(F,) Gaussians per area of each triangle relative to the torso's 1: FACE_DENSITY on
    the front of the head, FEATURE_DENSITY near the eyes, lips and brows (where the body's
    mesh is Anny's default one, whose FaceMesh points are known), HEAD_DENSITY on the rest
    of the head, HAND_DENSITY on the hands, 1 elsewhere. vertices: (V, 3) canonical pose
    (facing -Y, Z up)."""
    faces = body.triangles.cpu()
    names = tuple(body.part_names)
    part = body.vertex_parts.cpu()[faces[:, 0]]
    centre = vertices[faces].mean(dim=1)
    density = torch.ones(faces.shape[0])
    head = in_parts(part, names, ("head", "eyes"))
    density[in_parts(part, names, ("hand.L", "hand.R"))] = HAND_DENSITY
    if bool(head.any()):
        density[head] = HEAD_DENSITY
        head_centre = centre[head].mean(dim=0)
        top = float(centre[head, 2].max())
        front = head & (centre[:, 1] < head_centre[1] - 0.02) & (centre[:, 2] < top - 0.05)
        front &= in_parts(part, names, ("head",))
        density[front] = FACE_DENSITY
    features = _feature_points(vertices)
    if features is not None:
        near = torch.cdist(centre, features).min(dim=1).values < FEATURE_RADIUS
        density[near & head] = FEATURE_DENSITY
    return density


def finger_directions(body: BodyModel, shape_values: Tensor, faces: Tensor) -> Tensor:
    """(F, 3) unit direction along the finger of each triangle mostly skinned to a finger
    bone (from that bone's head to its child's, or from its parent's for a fingertip), zero
    elsewhere; at the canonical pose with ``shape_values`` (1, S)."""
    with torch.no_grad():
        heads = body.forward(shape_values).bone_transforms[0, :, :3, 3].float().cpu()
    names = [n.lower() for n in body.bone_names]
    parents = list(body.bone_parents)
    finger = torch.tensor([any(w in n for w in FINGER_WORDS) for n in names])
    along = torch.zeros(len(names), 3)
    for bone in torch.nonzero(finger).flatten().tolist():
        children = [c for c, p in enumerate(parents) if p == bone and finger[c]]
        if len(children) == 1:
            along[bone] = heads[children[0]] - heads[bone]
        elif parents[bone] >= 0:
            along[bone] = heads[bone] - heads[parents[bone]]
    along = along / along.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    weights = body.skinning_weights.float().cpu()[faces].sum(dim=1)  # (F, J)
    dominant = weights.argmax(dim=1)
    return torch.where(finger[dominant, None], along[dominant], torch.zeros(()))


def _nostril_centres(vertices: Tensor) -> Tensor | None:
    """(2, 3) the centres of the nostril openings, under the nose between its tip (FaceMesh
    point 1) and the base of each wing (97 and 326), or None for a mesh that is not Anny's."""
    from ..body.anny_landmarks import anny_landmark_tables

    tables = anny_landmark_tables()
    if vertices.shape[0] != tables.vertices:
        return None
    point = {}
    for index, _, v, w in tables.face_points:
        if index in (1, 97, 326):
            point[index] = (vertices[torch.tensor(v)] * torch.tensor(w)[:, None]).sum(0)
    return torch.stack([0.4 * point[1] + 0.6 * point[side] for side in (97, 326)])


def _feature_points(vertices: Tensor, groups: tuple[str, ...] = FEATURE_GROUPS) -> Tensor | None:
    """(P, 3) Anny's FaceMesh points of ``groups`` (eyes, lips, brows, nose, oval, cheeks) on
    these vertices, or None for another mesh."""
    from ..body.anny_landmarks import anny_landmark_tables

    tables = anny_landmark_tables()
    if vertices.shape[0] != tables.vertices:
        return None
    rows = [(v, w) for _, group, v, w in tables.face_points if group in groups]
    index = torch.tensor([v for v, _ in rows], dtype=torch.int64)
    weight = torch.tensor([w for _, w in rows], dtype=vertices.dtype)
    return (vertices[index] * weight[..., None]).sum(dim=1)


def sample_surface(
    vertices: Tensor,
    faces: Tensor,
    count: int,
    generator: torch.Generator,
    density: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Stratified samples on a mesh, by area times ``density``.

    Each triangle gets floor(count * its share) samples, and the remaining ones go to
    triangles drawn by their leftover share, so the density is even within a region (no
    clumps and holes as with independent draws); positions inside a triangle are uniform.
    vertices: (V, 3); faces: (F, 3); density: (F,) relative samples per area (None: 1).
    Returns triangle (count,) int64 and barycentric (count, 3).
    """
    v0, v1, v2 = (vertices[faces[:, i]] for i in range(3))
    area = 0.5 * torch.linalg.cross(v1 - v0, v2 - v0).norm(dim=-1).double()
    if density is not None:
        area = area * density.double()
    expected = area / area.sum() * count
    base = expected.floor().long()
    leftover = count - int(base.sum())
    if leftover > 0:
        extra = torch.multinomial(expected - base, leftover, replacement=False, generator=generator)
        base[extra] += 1
    triangle = torch.repeat_interleave(torch.arange(faces.shape[0]), base)
    u = torch.rand(count, 2, generator=generator, dtype=torch.float64)
    su = u[:, 0].sqrt()
    barycentric = torch.stack((1 - su, su * (1 - u[:, 1]), su * u[:, 1]), dim=-1)
    return triangle, barycentric.float()


def vertex_normals(vertices: Tensor, faces: Tensor) -> Tensor:
    """(V, 3) area-weighted vertex normals."""
    v0, v1, v2 = (vertices[faces[:, i]] for i in range(3))
    face_normal = torch.linalg.cross(v1 - v0, v2 - v0)
    normals = torch.zeros_like(vertices)
    for i in range(3):
        normals.index_add_(0, faces[:, i], face_normal)
    return normals / normals.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def cavity(vertices: Tensor, faces: Tensor, normals: Tensor, iterations: int = 12) -> Tensor:
    """(V,) in [0, 1]: how far each vertex sits inside a concavity (1 = deep), from the
    offset of its smoothed neighbourhood along the normal."""
    V = vertices.shape[0]
    edges = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    edges = torch.cat([edges, edges.flip(1)])
    degree = torch.zeros(V).index_add_(0, edges[:, 0], torch.ones(edges.shape[0]))

    def smooth(x: Tensor) -> Tensor:
        total = torch.zeros_like(x).index_add_(0, edges[:, 0], x[edges[:, 1]])
        return total / degree.clamp_min(1).reshape((-1,) + (1,) * (x.ndim - 1))

    centroid = vertices
    for _ in range(iterations):
        centroid = smooth(centroid)
    depth = ((centroid - vertices) * normals).sum(-1)  # > 0 inside a concavity
    scale = depth.abs().quantile(0.98).clamp_min(1e-6)
    return (depth / scale).clamp(0, 1)


def studio_light(normals: Tensor, cavities: Tensor) -> Tensor:
    """(V,) brightness of a soft studio light in the canonical frame (Z-up, facing -Y)."""
    lights = torch.tensor(
        [
            [-0.35, -0.75, 0.55, 0.50],  # key: front, above, from the left
            [0.60, -0.50, 0.10, 0.18],  # fill: front right
            [0.20, 0.80, 0.50, 0.30],  # back light, so the back reads too
        ]
    )
    directions = lights[:, :3] / lights[:, :3].norm(dim=-1, keepdim=True)
    diffuse = ((normals @ directions.T).clamp_min(0) * lights[:, 3]).sum(-1)
    sky = 0.42 + 0.10 * normals[:, 2]
    return (sky + diffuse) * (1 - 0.45 * cavities)


def surface_points(
    vertices: Tensor, faces: Tensor, triangle: Tensor, barycentric: Tensor
) -> Tensor:
    """(N, 3) the points on the mesh given by triangle (N,) and barycentric (N, 3)."""
    return (vertices[faces[triangle]] * barycentric[..., None]).sum(dim=1)


def surface_light(vertices: Tensor, faces: Tensor, triangle: Tensor, barycentric: Tensor) -> Tensor:
    """(N,) the studio light's brightness (:func:`studio_light`) at N points on the mesh, given
    by triangle (N,) and barycentric (N, 3): the shading the body's own shape gives."""
    normals = vertex_normals(vertices, faces)
    light = studio_light(normals, cavity(vertices, faces, normals))
    return (light[faces[triangle]] * barycentric).sum(-1)


def starter_colours(
    body: BodyModel,
    vertices: Tensor,
    triangle: Tensor,
    barycentric: Tensor,
    regions: tuple[tuple[str, ...], Tensor] | None,
) -> Tensor:
    """(N, 3) sRGB colours of the Gaussians: skin, lips, eyes and mouth, lit."""
    faces = body.triangles
    brightness = surface_light(vertices, faces, triangle, barycentric)[:, None]
    points = surface_points(vertices, faces, triangle, barycentric)
    colour = torch.tensor(SKIN).expand(triangle.shape[0], 3).clone()
    lips = _feature_points(vertices, ("lips",))
    if lips is not None:
        near = torch.cdist(points, lips).min(dim=1).values
        mix = (1 - (near - LIP_RADIUS) / LIP_RADIUS).clamp(0, 1)[:, None]  # soft edge
        colour = colour * (1 - mix) + torch.tensor(LIPS) * mix
    nostrils = _nostril_centres(vertices)
    if nostrils is not None:
        radii = torch.tensor(NOSTRIL_RADII)
        inside = ((points[:, None] - nostrils) / radii).norm(dim=-1).min(dim=1).values
        mix = (1.5 - inside).clamp(0, 1)[:, None]  # dark within the ellipsoid, soft rim
        colour = colour * (1 - mix) + torch.tensor(NOSTRIL) * mix
    if regions is not None:
        names, tri_region = regions
        region = tri_region[triangle]
        for name, value in (("mouth_cavity", MOUTH), ("tongue", TONGUE)):
            if name in names:
                colour[region == names.index(name)] = torch.tensor(value)
        for side in ("L", "R"):
            if f"eye_front.{side}" not in names:
                continue
            mask = region == names.index(f"eye_front.{side}")
            if not mask.any():
                continue
            colour[mask] = _eye_colours(points[mask])
    return (colour * brightness).clamp(0, 1)


def _eye_colours(points: Tensor) -> Tensor:
    """Sclera, iris and pupil of one eye's front hemisphere (N, 3), by the distance across
    the gaze axis (-Y) from the hemisphere's centre."""
    centre = points.mean(dim=0)
    across = (points - centre)[:, [0, 2]].norm(dim=-1)
    colour = torch.tensor(SCLERA).expand(points.shape[0], 3).clone()
    colour[across < 0.0060] = torch.tensor(IRIS)
    colour[across < 0.0025] = torch.tensor(PUPIL)
    return colour


def make_starter_avatar(
    body: BodyModel,
    count: int = 120_000,
    seed: int = 0,
    regions: tuple[tuple[str, ...], Tensor] | None = None,
    name: str = "starter",
    shape: Tensor | None = None,
    density: Tensor | None = None,
) -> Avatar:
    """A canonical-pose avatar of ``count`` Gaussians on ``body`` with ``shape``.

    density: (F,) relative Gaussians per area of each triangle; None for
    :func:`region_density` (dense face and hands), ``torch.ones(F)`` for an even spread.
    regions: optional UV region labels (names, (F,) index), e.g. from
    :func:`core.body.anny_body.anny_uv_regions`, used for eye and mouth colours.
    shape: (S,) shape values in ``body.shape_parameters`` order; None for the default shape.
    """
    if count < 1:
        raise ValueError(f"count must be positive, got {count}.")
    default = body.default_shape(1)
    if shape is not None and shape.numel() != default.shape[1]:
        raise ValueError(f"shape must be ({default.shape[1]},), got {tuple(shape.shape)}.")
    shape_values = default if shape is None else shape.detach().reshape(1, -1).to(default)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        vertices = body.forward(shape_values).vertices[0].float().cpu()
    faces = body.triangles.cpu()
    if density is None:
        density = region_density(body, vertices)
    if density.shape != (faces.shape[0],):
        raise ValueError(f"density must be ({faces.shape[0]},), got {tuple(density.shape)}.")
    density = density.float().cpu()
    triangle, barycentric = sample_surface(vertices, faces, count, generator, density)

    frames = triangle_frames(vertices[None], faces)
    size = frames.size[0, triangle]  # (N,)
    area = 0.5 * frames.size[0] ** 2
    # The spacing where each Gaussian sits: sqrt(weighted area per Gaussian / its density).
    per_gaussian = float((area * density).sum()) / count
    spacing = torch.sqrt(per_gaussian / density[triangle])
    # Flat discs: wide in the tangent plane, thin along the normal; relative to the triangle.
    tangent = 0.9 * spacing
    log_tangent = torch.log(tangent / size)
    log_scale = torch.stack((log_tangent, log_tangent, log_tangent + math.log(0.15)), dim=-1)
    spin = torch.rand(count, generator=generator) * math.pi  # random in-plane rotation
    # On the fingers, long narrow discs along the finger (FINGER_STRETCH): the first axis
    # turned onto the finger's direction in the triangle's tangent plane.
    along = finger_directions(body, shape_values, faces)[triangle]
    local = (frames.rotation[0, triangle].transpose(-1, -2) @ along[..., None])[..., 0]
    # Only where the surface runs along the finger (not on the tip's cap or in the crease of
    # a knuckle, where a long disc would stick out): fully from 0.95, none below 0.75.
    in_plane = local[:, :2].norm(dim=-1)
    on_finger = in_plane > 0.75
    spin = torch.where(on_finger, torch.atan2(local[:, 1], local[:, 0]), spin)
    stretch = math.log(FINGER_STRETCH) * ((in_plane - 0.75) / 0.2).clamp(0, 1)
    log_scale[:, 0] += stretch
    log_scale[:, 1] -= stretch
    rotation = torch.stack(
        (torch.cos(spin / 2), torch.zeros(count), torch.zeros(count), torch.sin(spin / 2)), -1
    )
    colours = starter_colours(body, vertices, triangle, barycentric, regions)
    sh = ((colours - 0.5) / SH_C0)[:, None, :]
    part = body.vertex_parts.cpu()[faces[triangle, 0]]

    binding = GaussianBinding(
        triangle=triangle,
        barycentric=barycentric,
        offset=torch.zeros(count, 3),
        rotation=rotation,
        log_scale=log_scale.float(),
        opacity_logit=torch.full((count,), math.log(0.97 / 0.03)),
        sh=sh.float(),
        part=part,
    )
    named_shape = {
        p.name: float(v)
        for p, v in zip(body.shape_parameters, shape_values[0].tolist(), strict=True)
    }
    return Avatar(
        binding=binding,
        body=BodyIdentity(
            model=body.name,
            model_version=body.version,
            shape=named_shape,
        ),
        canonical_vertices=vertices,
        faces=faces,
        part_names=tuple(body.part_names),
        up_axis=body.up_axis,
        metadata={"name": name, "made_by": "lca starter", "seed": str(seed)},
    )
