"""Differentiable pure-torch reference of 3DGS rasterisation, following gsplat's conventions.

Letters: N Gaussians in the scene, V visible ones, M (Gaussian, tile) pairs, R non-empty
tiles, A active tiles of one step, J Gaussians per tile per step, S = tile_size,
P = S * S pixels per tile, H x W image.

Conventions (gsplat 1.5 ``rasterization`` with a pinhole camera, ``eps2d=0.3``, no
antialiasing): EWA projection with the perspective Jacobian evaluated at the centre clamped to
1.3x the field of view; a 0.3 px^2 low-pass on the 2D covariance; a Gaussian is culled when its
centre depth lies outside [near, far], its opacity is below 1/255 or its footprint misses the
image. Its footprint is the tight opacity-aware box ``ceil(e * sqrt(cov2d_ii))`` with
``e = min(3.33, sqrt(2 ln(255 opacity)))``, which holds every pixel where its alpha reaches
1/255, so the image does not depend on the tile size. Pixel centres sit at (x + 0.5, y + 0.5);
``sigma = 0.5 (a dx^2 + c dy^2) + b dx dy``; ``alpha = min(0.999, opacity exp(-sigma))``; a
contribution is skipped when sigma < 0 or alpha < 1/255; Gaussians composite front to back by
camera depth, and a pixel stops before the Gaussian that would bring its transmittance to
1e-4 or below.

Work is vectorised over tiles: each tile's depth-sorted list is consumed J Gaussians at a
time, and tiles whose pixels have all stopped leave the active set; memory per step is
bounded by ``_STEP_ELEMENTS``. Autograd differentiates everything but the (discrete) sorting,
culling and part choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..quaternion import quat_to_rotmat
from .sh import sh_colors
from .types import Camera, RenderResult, SplatScene

EPS2D = 0.3
ALPHA_THRESHOLD = 1.0 / 255.0
MAX_ALPHA = 0.999
TRANSMITTANCE_THRESHOLD = 1e-4
MAX_EXTEND = 3.33
FOV_CLAMP = 1.3
# (active tiles) x (Gaussians per step) x (pixels per tile) elements per step: ~8 MB a tensor.
_STEP_ELEMENTS = 1 << 21
# Gaussians per tile per step: the first step is short because most tiles stop early.
_FIRST_STEP = 32
_LATER_STEP = 64
# Per-Gaussian features blended per pixel: rgb (3), depth (1), normal (3), weight (1).
_FEATURES = 8


@dataclass(frozen=True)
class Projected:
    """The visible Gaussians of one view, sorted front to back (V of them).

    means2d: (V, 2) pixel positions; conics: (V, 3) (a, b, c) of the inverse 2D covariance;
    opacities: (V,); radii: (V, 2) int64 footprint half-sizes in pixels; features: (V, 8)
    rgb, camera depth, world normal facing the camera, 1; index: (V,) int64 into the scene.
    """

    means2d: Tensor
    conics: Tensor
    opacities: Tensor
    radii: Tensor
    features: Tensor
    index: Tensor


def _normals(rotations: Tensor, scales: Tensor, means: Tensor, camera_position: Tensor) -> Tensor:
    """(N, 3) world direction of each Gaussian's shortest axis, flipped to face the camera.

    rotations: (N, 3, 3) local -> world; scales: (N, 3); means: (N, 3); camera_position: (3,).
    """
    shortest = scales.detach().argmin(dim=-1)
    index = shortest[:, None, None].expand(-1, 3, 1)
    normal = rotations.gather(2, index).squeeze(2)
    facing = ((camera_position - means) * normal).sum(-1, keepdim=True)
    return torch.where(facing < 0, -normal, normal)


def project(scene: SplatScene, camera: Camera) -> Projected:
    """EWA-project the scene's Gaussians, cull them and sort the visible ones by depth."""
    dtype = scene.means.dtype
    w2c = camera.world_to_camera.to(dtype)
    rot_w2c, t_w2c = w2c[:3, :3], w2c[:3, 3]
    fx, fy = float(camera.K[0, 0]), float(camera.K[1, 1])
    cx, cy = float(camera.K[0, 2]), float(camera.K[1, 2])
    width, height = camera.width, camera.height

    means_c = scene.means @ rot_w2c.T + t_w2c
    x, y, z = means_c.unbind(-1)
    with torch.no_grad():
        in_depth = (z >= camera.near) & (z <= camera.far) & (scene.opacities >= ALPHA_THRESHOLD)
    keep = in_depth.nonzero().squeeze(1)
    if keep.numel() < scene.count:  # cheap early cull (and no division by z <= 0 below)
        x, y, z = x[keep], y[keep], z[keep]
    rotations = quat_to_rotmat(scene.quats[keep])
    scales = scene.scales[keep]

    # The perspective Jacobian at the centre clamped to 1.3x the field of view (as gsplat).
    tan_x, tan_y = 0.5 * width / fx, 0.5 * height / fy
    margin = FOV_CLAMP - 1.0
    tx = z * torch.clamp(x / z, -(cx / fx + margin * tan_x), (width - cx) / fx + margin * tan_x)
    ty = z * torch.clamp(y / z, -(cy / fy + margin * tan_y), (height - cy) / fy + margin * tan_y)
    zeros = torch.zeros_like(z)
    jac = torch.stack(
        (fx / z, zeros, -fx * tx / (z * z), zeros, fy / z, -fy * ty / (z * z)), dim=-1
    ).view(-1, 2, 3)
    # cov2d = J W R S S R^T W^T J^T = m m^T with m = J W R S (V, 2, 3).
    m = (jac @ rot_w2c) @ (rotations * scales[:, None, :])
    cov_a = (m[:, 0] * m[:, 0]).sum(-1) + EPS2D
    cov_b = (m[:, 0] * m[:, 1]).sum(-1)
    cov_c = (m[:, 1] * m[:, 1]).sum(-1) + EPS2D
    det = cov_a * cov_c - cov_b * cov_b
    means2d = torch.stack((fx * x / z + cx, fy * y / z + cy), dim=-1)
    opacities = scene.opacities[keep]

    with torch.no_grad():
        extend = torch.sqrt(2.0 * torch.log(opacities / ALPHA_THRESHOLD)).clamp(max=MAX_EXTEND)
        radii = torch.stack(
            (torch.ceil(extend * cov_a.sqrt()), torch.ceil(extend * cov_c.sqrt())), dim=-1
        )
        lo, hi = means2d - radii, means2d + radii
        visible = (
            (det > 0) & (hi[:, 0] > 0) & (lo[:, 0] < width) & (hi[:, 1] > 0) & (lo[:, 1] < height)
        )
        order = torch.argsort(z[visible])
        sel = visible.nonzero().squeeze(1)[order]

    det = det[sel]
    conics = torch.stack((cov_c[sel] / det, -cov_b[sel] / det, cov_a[sel] / det), dim=-1)
    index = keep[sel]
    camera_position = camera.position.to(dtype)
    means = scene.means[index]
    colors = sh_colors(scene.sh[index], means, camera_position)
    normals = _normals(rotations[sel], scales[sel], means, camera_position)
    ones = torch.ones_like(z[sel])
    features = torch.cat((colors, z[sel, None], normals, ones[:, None]), dim=-1)
    return Projected(
        means2d=means2d[sel],
        conics=conics,
        opacities=opacities[sel],
        radii=radii[sel].long(),
        features=features,
        index=index,
    )


@dataclass(frozen=True)
class TileLists:
    """Per-tile depth-sorted Gaussian lists, for the R non-empty tiles.

    ids: (M,) int64 indices into the visible Gaussians, grouped by tile, front to back;
    tiles: (R,) int64 tile index (row-major over ``tiles_x``); starts, counts: (R,) int64.
    """

    ids: Tensor
    tiles: Tensor
    starts: Tensor
    counts: Tensor
    tiles_x: int
    tiles_y: int


@torch.no_grad()
def intersect_tiles(
    means2d: Tensor, radii: Tensor, tile_size: int, width: int, height: int
) -> TileLists:
    """Build every (Gaussian, tile) pair and group them by tile, keeping the depth order.

    means2d: (V, 2) of depth-sorted Gaussians; radii: (V, 2) int64. Returns TileLists.
    """
    tiles_x = -(-width // tile_size)
    tiles_y = -(-height // tile_size)
    lo = torch.floor((means2d - radii) / tile_size).long()
    hi = torch.ceil((means2d + radii) / tile_size).long()
    x0, x1 = lo[:, 0].clamp(0, tiles_x), hi[:, 0].clamp(0, tiles_x)
    y0, y1 = lo[:, 1].clamp(0, tiles_y), hi[:, 1].clamp(0, tiles_y)
    span_x = x1 - x0
    per_gauss = span_x * (y1 - y0)
    total = int(per_gauss.sum())
    device = means2d.device
    gauss = torch.repeat_interleave(
        torch.arange(len(per_gauss), device=device), per_gauss, output_size=total
    )
    first = torch.cumsum(per_gauss, 0) - per_gauss
    local = torch.arange(total, device=device) - first[gauss]
    span = span_x[gauss]
    tile = (y0[gauss] + local // span) * tiles_x + x0[gauss] + local % span
    tile, order = torch.sort(tile, stable=True)  # stable: keeps the depth order within a tile
    counts = torch.bincount(tile, minlength=tiles_x * tiles_y)
    starts = torch.cumsum(counts, 0) - counts
    tiles = counts.nonzero().squeeze(1)
    return TileLists(
        ids=gauss[order],
        tiles=tiles,
        starts=starts[tiles],
        counts=counts[tiles],
        tiles_x=tiles_x,
        tiles_y=tiles_y,
    )


def _composite_step(
    proj: Projected, ids: Tensor, pad: Tensor, origin: Tensor, T: Tensor, done: Tensor, size: int
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Blend the next J Gaussians of A tiles into their pixels.

    ids: (A, J) visible indices, front to back; pad: (A, J) True past the end of a tile's list;
    origin: (A, 2) pixel position of each tile's corner; T: (A, P) transmittance so far;
    done: (A, P) pixels that have stopped (or lie outside the image); size: tile size S.
    Returns sums (A, P, 8) of weight * features, new T (A, P), new done (A, P), and per pixel
    the largest weight (A, P) and its visible index (A, P) int64 (no gradient).
    """
    means2d = proj.means2d[ids]  # (A, J, 2)
    conics = proj.conics[ids]  # (A, J, 3)
    opacities = torch.where(pad, 0.0, proj.opacities[ids])  # padding never reaches 1/255
    offsets = torch.arange(size, dtype=means2d.dtype, device=means2d.device) + 0.5
    # Pixel centre minus Gaussian centre, separably along x and y: (A, J, S) each.
    dx = (origin[:, None, 0:1] - means2d[..., 0:1]) + offsets
    dy = (origin[:, None, 1:2] - means2d[..., 1:2]) + offsets
    a, b, c = (conics[..., i : i + 1] for i in range(3))
    qx = (-0.5 * a) * dx * dx
    qy = (-0.5 * c) * dy * dy
    # -sigma over the tile: (A, J, S rows, S columns) -> (A, J, P), P row-major (y, x).
    neg_sigma = (qy[..., :, None] + qx[..., None, :]) - (b * dx)[..., None, :] * dy[..., :, None]
    neg_sigma = neg_sigma.flatten(2)
    alpha = (opacities[..., None] * torch.exp(neg_sigma)).clamp(max=MAX_ALPHA)
    used = (alpha >= ALPHA_THRESHOLD) & (neg_sigma <= 0)
    alpha = torch.where(used, alpha, 0.0)
    start = torch.where(done, 0.0, T)  # stopped pixels take nothing more
    after = torch.cumprod(1.0 - alpha, dim=1) * start[:, None, :]  # T after each Gaussian
    before = torch.cat((start[:, None, :], after[:, :-1]), dim=1)  # T before each Gaussian
    weights = torch.where(after > TRANSMITTANCE_THRESHOLD, alpha * before, 0.0)  # (A, J, P)
    # ajp,ajf->apf : blend the features with the weights.
    sums = torch.bmm(weights.transpose(1, 2), proj.features[ids])
    new_T = T - sums[..., _FEATURES - 1]  # the weights telescope: sum = T_before - T_after
    new_done = done | (after[:, -1] <= TRANSMITTANCE_THRESHOLD)
    with torch.no_grad():
        best_w, best_j = weights.max(dim=1)
        best_id = ids.gather(1, best_j)
    return sums, new_T, new_done, best_w, best_id


def _tile_pixels(
    lists: TileLists, size: int, width: int, height: int, dtype: torch.dtype
) -> tuple[Tensor, Tensor]:
    """(R, 2) corner of each listed tile in pixels, and (R, P) True for pixels off the image."""
    device = lists.tiles.device
    corner = torch.stack((lists.tiles % lists.tiles_x, lists.tiles // lists.tiles_x), dim=-1)
    corner = corner * size
    step = torch.arange(size, device=device)
    px = corner[:, 0, None, None] + step[None, None, :]  # (R, 1, S)
    py = corner[:, 1, None, None] + step[None, :, None]  # (R, S, 1)
    outside = ((px >= width) | (py >= height)).flatten(1)
    return corner.to(dtype), outside


def rasterise(
    proj: Projected, lists: TileLists, size: int, width: int, height: int
) -> tuple[Tensor, Tensor]:
    """Composite the tiles; returns (R, P, 8) blended features and (R, P) best visible index.

    Tiles are consumed ``_FIRST_STEP`` then ``_LATER_STEP`` Gaussians at a time; a tile leaves
    when its list ends or all its pixels have stopped.
    """
    dtype = proj.means2d.dtype
    n_rows, n_pix = len(lists.tiles), size * size
    corner, outside = _tile_pixels(lists, size, width, height, dtype)
    # Busy tiles first, so that the rows of one chunk have lists of similar length.
    active = torch.argsort(lists.counts, descending=True)
    T = torch.ones(n_rows, n_pix, dtype=dtype, device=corner.device)
    done = outside[active]
    best_w = torch.zeros(n_rows, n_pix, dtype=dtype, device=corner.device)
    best_id = torch.full((n_rows, n_pix), -1, dtype=torch.int64, device=corner.device)
    rows_out, sums_out = [], []
    offset, step = 0, _FIRST_STEP
    last = len(lists.ids) - 1
    while len(active) > 0:
        chunk = max(1, _STEP_ELEMENTS // (step * n_pix))
        new_T, new_done = [], []
        for s in range(0, len(active), chunk):
            rows = active[s : s + chunk]
            counts = lists.counts[rows]
            j = offset + torch.arange(min(step, int(counts.max()) - offset), device=rows.device)
            pos = lists.starts[rows, None] + j
            ids = lists.ids[pos.clamp(max=last)]
            pad = j >= counts[:, None]
            sums, t, d, w, i = _composite_step(
                proj, ids, pad, corner[rows], T[s : s + chunk], done[s : s + chunk], size
            )
            rows_out.append(rows)
            sums_out.append(sums)
            new_T.append(t)
            new_done.append(d)
            with torch.no_grad():
                better = w > best_w[rows]
                best_w[rows] = torch.where(better, w, best_w[rows])
                best_id[rows] = torch.where(better, i, best_id[rows])
        T, done = torch.cat(new_T), torch.cat(new_done)
        offset += step
        step = _LATER_STEP
        alive = (lists.counts[active] > offset) & ~done.all(dim=1)
        active, T, done = active[alive], T[alive], done[alive]
    grid = torch.zeros(n_rows, n_pix, _FEATURES, dtype=dtype, device=corner.device)
    if rows_out:
        grid = grid.index_add(0, torch.cat(rows_out), torch.cat(sums_out))
    return grid, best_id


def _untile(values: Tensor, lists: TileLists, size: int, width: int, height: int, fill) -> Tensor:
    """(R, P, ...) per-tile values -> (H, W, ...) image; pixels of empty tiles get ``fill``."""
    n_tiles = lists.tiles_x * lists.tiles_y
    grid = values.new_full((n_tiles,) + tuple(values.shape[1:]), fill)
    grid = grid.index_copy(0, lists.tiles, values)
    grid = grid.view((lists.tiles_y, lists.tiles_x, size, size) + tuple(values.shape[2:]))
    image = grid.transpose(1, 2).reshape(
        (lists.tiles_y * size, lists.tiles_x * size) + tuple(values.shape[2:])
    )
    return image[:height, :width]


def render_torch(
    scene: SplatScene, camera: Camera, background: Tensor, tile_size: int = 16
) -> RenderResult:
    """Render the passes of one view (see :class:`RenderResult`), differentiably.

    scene: N Gaussians; camera: its tensors in the scene's dtype; background: (3,) sRGB-encoded.
    Gradients reach means, quats, scales, opacities and sh.
    """
    width, height = camera.width, camera.height
    dtype, device = scene.means.dtype, scene.means.device
    proj = project(scene, camera)
    lists = intersect_tiles(proj.means2d, proj.radii, tile_size, width, height)
    if len(lists.tiles) == 0:
        blended = torch.zeros(height, width, _FEATURES, dtype=dtype, device=device)
        best = torch.full((height, width), -1, dtype=torch.int64, device=device)
    else:
        sums, best_id = rasterise(proj, lists, tile_size, width, height)
        blended = _untile(sums, lists, tile_size, width, height, 0.0)
        best = _untile(best_id, lists, tile_size, width, height, -1)
    alpha = blended[..., _FEATURES - 1]
    hit = alpha > 0
    rgb = blended[..., :3] + (1.0 - alpha)[..., None] * background.to(dtype)
    depth = torch.where(hit, blended[..., 3] / torch.where(hit, alpha, 1.0), 0.0)
    normal_sum = blended[..., 4:7]
    square = (normal_sum * normal_sum).sum(-1, keepdim=True)
    has_normal = square > 0
    normal = torch.where(
        has_normal, normal_sum * torch.rsqrt(torch.where(has_normal, square, 1.0)), 0.0
    )
    if scene.parts is None or len(proj.index) == 0:
        part = torch.full((height, width), -1, dtype=torch.int64, device=device)
    else:
        owner = proj.index[best.clamp(min=0)]
        part = torch.where(best >= 0, scene.parts[owner], -1)
    return RenderResult(rgb=rgb, alpha=alpha, depth=depth, normal=normal, part=part)
