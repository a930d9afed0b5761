"""Differentiable pure-torch reference of 3DGS rasterisation, following gsplat's conventions.

Letters: N Gaussians in the scene, V visible ones, M (Gaussian, tile) pairs, R non-empty
tiles, A active tiles of one step, J Gaussians per tile per step, S = tile_size,
P = S * S pixels per tile, H x W image.

Conventions (gsplat 1.5 ``rasterization``: pinhole camera, ``eps2d=0.3``, no antialiasing):
EWA projection with the perspective Jacobian taken at the centre clamped to 1.3x the field of
view; a 0.3 px^2 low-pass on the 2D covariance; a Gaussian is culled when its centre depth lies
outside [near, far], its opacity is below 1/255 or its footprint misses the image. The
footprint is gsplat's tight opacity-aware box, half-sizes ``ceil(e * sqrt(cov2d_ii))`` with
``e = min(3.33, sqrt(2 ln(255 opacity)))``: it holds every pixel where the Gaussian's alpha
reaches 1/255, so the image does not depend on the tile size. Pixel centres sit at
(x + 0.5, y + 0.5); ``sigma = 0.5 (a dx^2 + c dy^2) + b dx dy``;
``alpha = min(0.999, opacity exp(-sigma))``; a contribution is skipped when sigma < 0 or
alpha < 1/255; Gaussians composite front to back by camera depth (ties in scene order), and a
pixel stops before the Gaussian that would bring its transmittance to 1e-4 or below.

How it is vectorised: every (Gaussian, tile) pair is listed and sorted by (tile, depth); each
step then takes the next J Gaussians of up to ``_STEP_ELEMENTS / (J P)`` tiles as dense
(A, J, P) tensors (sigma built separably from per-row and per-column terms, alpha in the log
domain, transmittance by ``cumprod``, the blend by one ``bmm`` thanks to the telescoping
weights w_j = T_{j-1} - T_j), and tiles whose pixels have all stopped leave. Without gradients
the steps work in place in reused buffers (touching fresh memory is slow); with gradients they
run out of place so that autograd differentiates everything but the discrete choices
(culling, sorting, stopping, part).
"""

from __future__ import annotations

import math
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
# Per-Gaussian values a step gathers: position (2), conic (3), log opacity (1), features.
_PACKED = 6 + _FEATURES


@dataclass(frozen=True)
class Projected:
    """The visible Gaussians of one view, sorted front to back (V of them).

    packed: (V, 14) per Gaussian: pixel position (2), conic (a, b, c) of the inverse 2D
    covariance (3), log opacity (1), and the features blended per pixel: rgb (3), camera depth
    (1), world normal facing the camera (3), 1 (1). means2d: (V, 2) view of the positions;
    max_opacity: the largest opacity; radii: (V, 2) int64 footprint half-sizes in pixels;
    index: (V,) int64 into the scene.
    """

    packed: Tensor
    max_opacity: float
    radii: Tensor
    index: Tensor

    @property
    def means2d(self) -> Tensor:
        return self.packed[:, :2]


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
        order = torch.argsort(z[visible], stable=True)  # ties: scene order, as gsplat
        sel = visible.nonzero().squeeze(1)[order]

    det = det[sel]
    conics = torch.stack((cov_c[sel] / det, -cov_b[sel] / det, cov_a[sel] / det), dim=-1)
    index = keep[sel]
    camera_position = camera.position.to(dtype)
    means = scene.means[index]
    # Colours of all Gaussians then a gather: cheaper than gathering (N, K, 3) coefficients.
    colors = sh_colors(scene.sh, scene.means, camera_position)[index]
    normals = _normals(rotations[sel], scales[sel], means, camera_position)
    ones = torch.ones_like(z[sel])
    log_opacities = torch.log(opacities[sel])
    packed = torch.cat(
        (
            means2d[sel],
            conics,
            log_opacities[:, None],
            colors,
            z[sel, None],
            normals,
            ones[:, None],
        ),
        dim=-1,
    )
    return Projected(
        packed=packed,
        max_opacity=float(opacities[sel].detach().max()) if len(sel) else 0.0,
        radii=radii[sel].long(),
        index=index,
    )


@dataclass(frozen=True)
class TileLists:
    """Per-tile depth-sorted Gaussian lists, for the R non-empty tiles.

    ids: (M,) int32 indices into the visible Gaussians, grouped by tile, front to back;
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
    device = means2d.device
    lo = torch.floor((means2d - radii) / tile_size).int()
    hi = torch.ceil((means2d + radii) / tile_size).int()
    x0, x1 = lo[:, 0].clamp(0, tiles_x), hi[:, 0].clamp(0, tiles_x)
    y0, y1 = lo[:, 1].clamp(0, tiles_y), hi[:, 1].clamp(0, tiles_y)
    span_x = x1 - x0
    per_gauss = span_x * (y1 - y0)  # tiles each Gaussian's box covers, row-major in the box
    total = int(per_gauss.sum())
    first = torch.cumsum(per_gauss, 0, dtype=torch.int32) - per_gauss
    # Pair k of Gaussian g is its box's tile (row, col) = divmod(k - first_g, span_g), so tile
    # = (y0 + row) tiles_x + x0 + col = (y0 tiles_x + x0 - first_g) + k + row (tiles_x - span_g).
    table = torch.stack((first, span_x, y0 * tiles_x + x0 - first, tiles_x - span_x), dim=1)
    gauss = torch.repeat_interleave(
        torch.arange(len(per_gauss), dtype=torch.int32, device=device),
        per_gauss,
        output_size=total,
    )
    per_pair = table.index_select(0, gauss)  # (M, 4)
    pair = torch.arange(total, dtype=torch.int32, device=device)
    tile = torch.sub(pair, per_pair[:, 0]).div_(per_pair[:, 1], rounding_mode="floor")
    tile = tile.mul_(per_pair[:, 3]).add_(pair).add_(per_pair[:, 2])
    del per_pair, pair
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


def _just_below(value: float, dtype: torch.dtype) -> float:
    """The largest ``dtype`` number below ``value`` (so ``x > it`` means ``x >= value``)."""
    v = torch.tensor(value, dtype=dtype)
    return float(torch.nextafter(v, torch.tensor(-math.inf, dtype=dtype)))


class _Workspace:
    """Reusable flat buffers for the no-gradient path (touching fresh memory is slow).

    One per render call; ``take(name, shape)`` views the start of buffer ``name``.
    """

    def __init__(self, elements: int, size: int, dtype: torch.dtype, device: torch.device):
        rows = -(-elements // size)
        narrowest = min(_FIRST_STEP, _LATER_STEP)
        sizes = {"log_alpha": elements, "remain": elements}
        sizes.update({"sums": _FEATURES * elements // narrowest, "gathered": _PACKED * rows})
        sizes.update({name: rows for name in ("dx", "dy", "row", "col", "bdx")})
        self.buffers = {k: torch.empty(n, dtype=dtype, device=device) for k, n in sizes.items()}

    def take(self, name: str, shape: tuple[int, ...]) -> Tensor:
        return self.buffers[name][: math.prod(shape)].view(shape)


def _log_alpha(
    proj: Projected, ids: Tensor, pad: Tensor, origin: Tensor, size: int, ws: _Workspace | None
) -> tuple[Tensor, Tensor]:
    """(A, J, P) log alpha of each Gaussian at each pixel (-inf where skipped), and the
    (A, J, 8) features of the Gaussians; in place in ``ws`` unless it is None (autograd).

    sigma = 0.5 (a dx^2 + c dy^2) + b dx dy is built separably from (A, J, S) factors;
    sigma < 0 is skipped; log alpha = min(log opacity - sigma, log 0.999), and
    alpha < 1/255 is skipped.
    """
    n_rows, n_gauss = ids.shape
    shape = (n_rows, n_gauss, size)

    def out(name: str, dims: tuple[int, ...] = shape) -> Tensor | None:
        return None if ws is None else ws.take(name, dims)

    packed = torch.index_select(
        proj.packed, 0, ids.flatten(), out=out("gathered", (ids.numel(), _PACKED))
    )
    packed = packed.view(n_rows, n_gauss, _PACKED)
    mx, my, a, b, c, log_opacity = (packed[..., i : i + 1] for i in range(6))
    log_opacity = torch.where(pad[..., None], -torch.inf, log_opacity)  # padding: alpha 0
    offsets = torch.arange(size, dtype=packed.dtype, device=packed.device) + 0.5
    # Pixel centre minus Gaussian centre along x and y: (A, J, S) each.
    dx = torch.add(offsets, origin[:, None, 0:1] - mx, out=out("dx"))
    dy = torch.add(offsets, origin[:, None, 1:2] - my, out=out("dy"))
    row = torch.mul(dy, dy, out=out("row")).mul_(0.5 * c)
    col = torch.mul(dx, dx, out=out("col")).mul_(0.5 * a)
    bdx = torch.mul(dx, b, out=out("bdx"))
    # (A, J, S rows, S columns) -> (A, J, P), P row-major (y, x).
    sigma = torch.add(row[..., :, None], col[..., None, :], out=out("log_alpha", shape + (size,)))
    sigma = sigma.addcmul_(bdx[..., None, :], dy[..., :, None]).flatten(2)
    negative = -torch.nextafter(sigma.new_zeros(()), sigma.new_ones(())).item()
    if ws is None:
        sigma = torch.threshold(sigma, negative, math.inf)  # sigma < 0 -> inf
        log_alpha = log_opacity - sigma
    else:
        sigma = torch.threshold_(sigma, negative, math.inf)
        log_alpha = torch.sub(log_opacity, sigma, out=sigma)
    if proj.max_opacity > MAX_ALPHA:  # alpha <= opacity otherwise, and the clamp is a no-op
        log_alpha = log_alpha.clamp(max=math.log(MAX_ALPHA))
    below = _just_below(math.log(ALPHA_THRESHOLD), log_alpha.dtype)
    if ws is None:
        log_alpha = torch.threshold(log_alpha, below, -math.inf)
    else:
        log_alpha = torch.threshold_(log_alpha, below, -math.inf)
    return log_alpha, packed[..., 6:]


def _step(
    ws: _Workspace | None,
    proj: Projected,
    ids: Tensor,
    pad: Tensor,
    origin: Tensor,
    T: Tensor,
    done: Tensor,
    size: int,
    track_best: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor | None, Tensor | None]:
    """Blend the next J Gaussians of A tiles into their pixels.

    ws: buffers to work in place without gradients, or None to work out of place (autograd);
    ids: (A, J) visible indices, front to back; pad: (A, J) True past the end of a tile's list;
    origin: (A, 2) pixel position of each tile's corner; T: (A, P) transmittance so far;
    done: (A, P) pixels that have stopped (or lie outside the image); size: tile size S;
    track_best: also find each pixel's largest weight.
    Returns sums (A, 8, P) of weight * features (a view into ``ws`` if given), new T (A, P),
    new done (A, P), and per pixel the largest weight (A, P) and its visible index (A, P)
    int64 (None unless track_best).
    """
    log_alpha, features = _log_alpha(proj, ids, pad, origin, size, ws)
    start = T.masked_fill(done, 0.0)  # stopped pixels take nothing more
    if ws is None:
        remain = -torch.expm1(log_alpha)  # 1 - alpha, (A, J, P)
        remain = torch.cat((remain[:, :1] * start[:, None], remain[:, 1:]), dim=1)
        after = torch.cumprod(remain, dim=1)  # transmittance after each Gaussian
    else:
        remain = torch.expm1(log_alpha, out=ws.take("remain", log_alpha.shape)).neg_()
        remain[:, 0] *= start
        after = torch.cumprod(remain, dim=1, out=log_alpha)  # (log alpha is no longer needed)
    stops = after[:, -1] <= TRANSMITTANCE_THRESHOLD  # (A, P)
    if bool(stops.any()):
        # A pixel stops before the Gaussian that takes T to 1e-4 or below. Holding T from
        # there on at its last kept value (T only falls) makes the later weights zero.
        scratch = None if ws is None else remain
        infinity = after.new_full((), math.inf)
        kept = torch.where(after > TRANSMITTANCE_THRESHOLD, after, infinity, out=scratch)
        last = torch.minimum(kept.amin(dim=1), start)[:, None]
        after = torch.maximum(after, last) if ws is None else after.clamp_(min=last)
    # The weights telescope, w_j = after_{j-1} - after_j (after_{-1} = start), hence
    # sum_j w_j f_j = start f_0 + sum_j after_j (f_{j+1} - f_j), with f_J = 0.
    steps = torch.cat((features[:, 1:], torch.zeros_like(features[:, :1])), dim=1) - features
    sums_out = None if ws is None else ws.take("sums", (len(ids), _FEATURES, after.shape[2]))
    # ajf,ajp->afp : blend the feature steps with the transmittances.
    sums = torch.bmm(steps.transpose(1, 2), after, out=sums_out)
    sums = sums.addcmul_(features[:, 0, :, None], start[:, None])
    best_w = best_id = None
    if track_best:
        with torch.no_grad():
            weights = torch.empty_like(after) if ws is None else ws.take("remain", after.shape)
            torch.sub(start, after[:, 0], out=weights[:, 0])
            torch.sub(after[:, :-1], after[:, 1:], out=weights[:, 1:])
            best_w, best_j = weights.max(dim=1)
            best_id = ids.gather(1, best_j)
    return sums, after[:, -1].clone(), done | stops, best_w, best_id


def _tile_pixels(
    lists: TileLists, size: int, width: int, height: int
) -> tuple[Tensor, Tensor, Tensor]:
    """(R, 2) corner of each listed tile in pixels, (R, P) flat pixel index y * W + x, and
    (R, P) True where that pixel lies inside the image."""
    device = lists.tiles.device
    corner = torch.stack((lists.tiles % lists.tiles_x, lists.tiles // lists.tiles_x), dim=-1)
    corner = corner * size
    step = torch.arange(size, device=device)
    px = corner[:, 0, None, None] + step[None, None, :]  # (R, 1, S)
    py = corner[:, 1, None, None] + step[None, :, None]  # (R, S, 1)
    inside = ((px < width) & (py < height)).flatten(1)
    return corner, (py * width + px).flatten(1), inside


def rasterise(
    proj: Projected, lists: TileLists, size: int, width: int, height: int, track_best: bool
) -> tuple[Tensor, Tensor | None]:
    """Composite the R listed tiles: (R, 8, P) blended features, and (R, P) int64 visible index
    of each pixel's largest weight (-1 if none; None unless ``track_best``).

    Tiles are consumed ``_FIRST_STEP`` then ``_LATER_STEP`` Gaussians at a time; a tile leaves
    when its list ends or all its pixels have stopped. Without gradients, the steps run in place.
    """
    dtype, device = proj.means2d.dtype, proj.means2d.device
    n_rows, n_pix = len(lists.tiles), size * size
    corner, _, inside = _tile_pixels(lists, size, width, height)
    corner = corner.to(dtype)
    differentiable = torch.is_grad_enabled() and proj.means2d.requires_grad
    ws = None
    if not differentiable:
        widest = max(_FIRST_STEP, _LATER_STEP) * n_pix
        most = min(max(_STEP_ELEMENTS, widest), n_rows * widest)
        ws = _Workspace(most, size, dtype, device)
    # Busy tiles first, so that the rows of one chunk have lists of similar length.
    active = torch.argsort(lists.counts, descending=True)
    T = torch.ones(n_rows, n_pix, dtype=dtype, device=device)
    done = ~inside[active]  # pixels off the image never take anything
    best_w = torch.zeros(n_rows, n_pix, dtype=dtype, device=device)
    best_id = torch.full((n_rows, n_pix), -1, dtype=torch.int64, device=device)
    acc = torch.zeros(n_rows, _FEATURES, n_pix, dtype=dtype, device=device)
    rows_out, sums_out = [], []
    offset, step = 0, _FIRST_STEP
    last = len(lists.ids) - 1
    while len(active) > 0:
        chunk = max(1, _STEP_ELEMENTS // (step * n_pix))
        new_T, new_done = [], []
        for s in range(0, len(active), chunk):
            rows = active[s : s + chunk]
            counts = lists.counts[rows]
            j = offset + torch.arange(min(step, int(counts.max()) - offset), device=device)
            ids = lists.ids[(lists.starts[rows, None] + j).clamp(max=last)]
            pad = j >= counts[:, None]
            args = (proj, ids, pad, corner[rows], T[s : s + chunk], done[s : s + chunk], size)
            sums, t, d, w, i = _step(ws, *args, track_best)
            if ws is None:
                rows_out.append(rows)
                sums_out.append(sums)
            else:
                acc.index_add_(0, rows, sums)
            new_T.append(t)
            new_done.append(d)
            if track_best:
                better = w > best_w[rows]
                best_w[rows] = torch.where(better, w, best_w[rows])
                best_id[rows] = torch.where(better, i, best_id[rows])
        T, done = torch.cat(new_T), torch.cat(new_done)
        offset += step
        step = _LATER_STEP
        alive = (lists.counts[active] > offset) & ~done.all(dim=1)
        active, T, done = active[alive], T[alive], done[alive]
    if rows_out:
        acc = acc.index_add(0, torch.cat(rows_out), torch.cat(sums_out))
    return acc, (best_id if track_best else None)


def render_torch(
    scene: SplatScene, camera: Camera, background: Tensor, tile_size: int = 8
) -> RenderResult:
    """Render the passes of one view (see :class:`RenderResult`), differentiably.

    scene: N Gaussians; camera: its tensors in the scene's dtype; background: (3,) sRGB-encoded.
    Gradients reach means, quats, scales, opacities and sh.
    """
    width, height = camera.width, camera.height
    dtype, device = scene.means.dtype, scene.means.device
    background = background.to(dtype)
    proj = project(scene, camera)
    lists = intersect_tiles(proj.means2d, proj.radii, tile_size, width, height)
    track_best = scene.parts is not None and len(proj.index) > 0
    acc, best = rasterise(proj, lists, tile_size, width, height, track_best)
    # Per listed-tile pixel (R, P) values, then scattered into the images.
    _, pixel, inside = _tile_pixels(lists, tile_size, width, height)
    target = pixel[inside]
    alpha = acc[:, _FEATURES - 1]
    hit = alpha > 0
    rgb = acc[:, :3] + (1.0 - alpha)[:, None] * background[:, None]
    depth = torch.where(hit, acc[:, 3] / torch.where(hit, alpha, 1.0), 0.0)
    normal_sum = acc[:, 4:7]
    square = (normal_sum * normal_sum).sum(1, keepdim=True)
    has_normal = (square > 0) & hit[:, None]
    normal = torch.where(
        has_normal, normal_sum * torch.rsqrt(torch.where(has_normal, square, 1.0)), 0.0
    )

    def image(values: Tensor, fill: Tensor | float, channels: tuple[int, ...]) -> Tensor:
        """(R, P, *channels) values -> (H, W, *channels) image, ``fill`` elsewhere."""
        out = torch.empty((height * width,) + channels, dtype=values.dtype, device=device)
        out[:] = fill
        out.index_put_((target,), values[inside])
        return out.view((height, width) + channels)

    result_rgb = image(rgb.transpose(1, 2), background, (3,))
    result_normal = image(normal.transpose(1, 2), 0.0, (3,))
    if best is None:
        part = torch.full((height, width), -1, dtype=torch.int64, device=device)
    else:
        parts = scene.parts[proj.index[best.clamp(min=0)]].long()
        owner = torch.where(best >= 0, parts, -1)
        part = image(owner, -1, ())
    return RenderResult(
        rgb=result_rgb,
        alpha=image(alpha, 0.0, ()),
        depth=image(depth, 0.0, ()),
        normal=result_normal,
        part=part,
    )
