"""Screen-space splat quads for a rasteriser that blends sorted quads (the Blender viewport).

The viewport's vertex shader (``lca_addon/viewport_draw.py``) projects each Gaussian itself;
the CPU only hands it the Gaussians (:func:`pack_geometry`, :func:`pack_colors`) and their
back-to-front order (:func:`back_to_front`). :func:`project_quads` is that shader's twin in
torch, as gsplat keeps ``_torch_impl.py`` beside its CUDA kernels: the GLSL follows it line
by line, and the tests check it against ``core.render.torch_backend.project`` exactly.

Per Gaussian it does what :func:`core.render.torch_backend.project` does (the same EWA
projection, ``eps2d`` low-pass, opacity-aware footprint, culling and colour), but from a view
matrix and an OpenGL projection matrix, as Blender's viewport hands them over, so perspective
and orthographic views both work; a GPU then only draws one axis-aligned quad per splat (its
footprint box) and evaluates the Gaussian per pixel:

    sigma = 0.5 (a dx^2 + c dy^2) + b dx dy,  alpha = min(0.999, opacity exp(-sigma)),

skipping sigma < 0 and alpha < 1/255, blending back to front with premultiplied alpha. The
quads come sorted back to front (the reverse of the reference's front-to-back order, ties
included), so that blending gives the reference's image up to its 1e-4 transmittance stop.

The Jacobian of the pixel mapping is taken at the centre with its normalised device
coordinates clamped to +-1.3 (gsplat's 1.3x field-of-view clamp, which the reference follows);
for a perspective matrix it is the reference's Jacobian exactly, for an orthographic one the
(constant) affine map. :func:`gl_matrices` gives the matrices of an OpenCV camera, so the
same view can be drawn by a GPU and rendered by ``core.render``.

Pixels: x right, y down, centres at integer + 0.5 (as in ``core.render``); window depth is
OpenGL's, 0 at the near plane and 1 at the far plane. Letters: N Gaussians, V visible ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..quaternion import quat_to_rotmat
from .sh import eval_sh, sh_colors
from .torch_backend import ALPHA_THRESHOLD, EPS2D, FOV_CLAMP, MAX_EXTEND
from .types import Camera, SplatScene

GEOMETRY_WIDTH = 12
"""Floats per Gaussian in :func:`pack_geometry`: mean xyz and 1, unit quaternion wxyz,
scale xyz and 0; three RGBA texels."""

COLOR_WIDTH = 4
"""Floats per Gaussian in :func:`pack_colors`: sRGB-encoded colour rgb and opacity."""


@dataclass(frozen=True)
class SplatQuads:
    """The V visible splats of one view, sorted back to front.

    centers: (V, 2) pixel position of each mean (x right, y down).
    radii: (V, 2) half-sizes in pixels of the footprint box (whole numbers).
    conics: (V, 3) (a, b, c) of the inverse 2D covariance, pixels^-2.
    depths: (V,) window depth of each mean in [0, 1].
    colors: (V, 3) sRGB-encoded colour seen from this view; opacities: (V,).
    index: (V,) int64 into the scene.
    """

    centers: Tensor
    radii: Tensor
    conics: Tensor
    depths: Tensor
    colors: Tensor
    opacities: Tensor
    index: Tensor

    @property
    def count(self) -> int:
        return self.index.shape[0]


def _check_matrix(name: str, matrix: Tensor) -> None:
    if tuple(matrix.shape) != (4, 4):
        raise ValueError(f"{name} must be (4, 4), got {tuple(matrix.shape)}.")


def is_perspective(projection_matrix: Tensor) -> bool:
    """Whether an OpenGL projection matrix (4, 4) is a perspective one (its w is -z)."""
    return bool(projection_matrix[3, 2] != 0)


def view_position(view_matrix: Tensor) -> Tensor:
    """(3,) world position of the eye of a rigid view matrix (4, 4), world -> view."""
    rotation, translation = view_matrix[:3, :3], view_matrix[:3, 3]
    return -rotation.T @ translation


@torch.no_grad()
def project_quads(
    scene: SplatScene, view_matrix: Tensor, projection_matrix: Tensor, width: int, height: int
) -> SplatQuads:
    """Project, cull, colour and sort the scene's splats for one view (module docstring).

    view_matrix: (4, 4) world -> view (Blender's: x right, y up, looking down -z).
    projection_matrix: (4, 4) OpenGL view -> clip (perspective or orthographic).
    width, height: the image size in pixels.
    A splat is culled when its centre lies outside the near/far planes, its opacity is below
    1/255, its 2D covariance is degenerate or its footprint misses the image.
    """
    _check_matrix("view_matrix", view_matrix)
    _check_matrix("projection_matrix", projection_matrix)
    if width < 1 or height < 1:
        raise ValueError(f"The image size must be positive, got {width}x{height}.")
    dtype = scene.means.dtype
    view = view_matrix.to(dtype)
    projection = projection_matrix.to(dtype)
    full = projection @ view  # world -> clip (4, 4)

    clip = scene.means @ full[:, :3].T + full[:, 3]  # (N, 4)
    w = clip[:, 3]
    in_depth = (w > 0) & (clip[:, 2].abs() <= w) & (scene.opacities >= ALPHA_THRESHOLD)
    keep = in_depth.nonzero().squeeze(1)
    clip, w = clip[keep], w[keep]
    ndc = clip[:, :3] / w[:, None]
    half = torch.tensor([0.5 * width, -0.5 * height], dtype=dtype)
    centers = (ndc[:, :2] * half) + torch.tensor([0.5 * width, 0.5 * height], dtype=dtype)

    # d pixel / d world = half (M_i - ndc_i M_w) / w at the clamped ndc (gsplat's clamp).
    clamped = ndc[:, :2].clamp(-FOV_CLAMP, FOV_CLAMP)
    rows = full[None, :2, :3] - clamped[:, :, None] * full[None, 3:4, :3]  # (V, 2, 3)
    jac = rows * (half[None, :, None] / w[:, None, None])
    rotations = quat_to_rotmat(scene.quats[keep])
    # cov2d = J R S S R^T J^T = m m^T with m = J R S (V, 2, 3).
    m = jac @ (rotations * scene.scales[keep][:, None, :])
    cov_a = (m[:, 0] * m[:, 0]).sum(-1) + EPS2D
    cov_b = (m[:, 0] * m[:, 1]).sum(-1)
    cov_c = (m[:, 1] * m[:, 1]).sum(-1) + EPS2D
    det = cov_a * cov_c - cov_b * cov_b
    opacities = scene.opacities[keep]
    extend = torch.sqrt(2.0 * torch.log(opacities / ALPHA_THRESHOLD)).clamp(max=MAX_EXTEND)
    radii = torch.stack(
        (torch.ceil(extend * cov_a.sqrt()), torch.ceil(extend * cov_c.sqrt())), dim=-1
    )
    lo, hi = centers - radii, centers + radii
    visible = (det > 0) & (hi[:, 0] > 0) & (lo[:, 0] < width) & (hi[:, 1] > 0) & (lo[:, 1] < height)
    # Depth along the view axis (the reference's camera z), also for orthographic views.
    view_depth = -(scene.means[keep] @ view[2, :3] + view[2, 3])
    order = torch.argsort(view_depth[visible], stable=True).flip(0)  # back to front
    sel = visible.nonzero().squeeze(1)[order]

    det = det[sel]
    conics = torch.stack((cov_c[sel] / det, -cov_b[sel] / det, cov_a[sel] / det), dim=-1)
    index = keep[sel]
    return SplatQuads(
        centers=centers[sel],
        radii=radii[sel],
        conics=conics,
        depths=0.5 * ndc[sel, 2] + 0.5,
        colors=_colors(scene, index, view, projection),
        opacities=opacities[sel],
        index=index,
    )


def _colors(scene: SplatScene, index: Tensor, view: Tensor, projection: Tensor) -> Tensor:
    """(V, 3) sRGB-encoded colours of the splats ``index`` seen from this view: from the eye
    for a perspective view, along the view direction for an orthographic one."""
    sh, means = scene.sh[index], scene.means[index]
    if is_perspective(projection) or sh.shape[1] == 1:
        return sh_colors(sh, means, view_position(view))
    forward = -view[2, :3] / view[2, :3].norm()  # the view looks down its -z
    return (eval_sh(sh, forward.expand_as(means)) + 0.5).clamp_min(0.0)


def gl_matrices(camera: Camera) -> tuple[Tensor, Tensor]:
    """The view matrix and OpenGL projection matrix, (4, 4) float64 each, of an OpenCV camera
    (what Blender's ``Object.calc_matrix_camera`` and the camera's inverse world matrix give).

    Pixel (u, v) (v down) maps to ndc (2 u / W - 1, 1 - 2 v / H); depth runs from near to far.
    """
    K = camera.K.to(torch.float64)
    fx, fy, cx, cy, skew = float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]), K[0, 1]
    if float(skew) != 0.0:
        raise ValueError("gl_matrices needs a camera without skew (K[0, 1] == 0).")
    width, height, near, far = camera.width, camera.height, camera.near, camera.far
    flip = torch.diag(torch.tensor([1.0, -1.0, -1.0, 1.0], dtype=torch.float64))
    view = flip @ camera.world_to_camera.to(torch.float64)  # OpenCV axes -> x right, y up, -z
    projection = torch.zeros(4, 4, dtype=torch.float64)
    projection[0, 0] = 2.0 * fx / width
    projection[0, 2] = 1.0 - 2.0 * cx / width
    projection[1, 1] = 2.0 * fy / height
    projection[1, 2] = 2.0 * cy / height - 1.0
    projection[2, 2] = -(far + near) / (far - near)
    projection[2, 3] = -2.0 * far * near / (far - near)
    projection[3, 2] = -1.0
    return view, projection


def pack_geometry(
    scenes: Sequence[SplatScene], capacity: int, out: np.ndarray | None = None
) -> np.ndarray:
    """(capacity, GEOMETRY_WIDTH) float32: the Gaussians of ``scenes`` one after the other
    (mean, 1 | quaternion | scale, 0), then zeros up to ``capacity`` rows (texture padding).

    ``out``: an earlier result of the same shape to write into (a frame's pack then
    allocates nothing); its rows past the Gaussians are left as they are.
    """
    total = sum(scene.count for scene in scenes)
    if capacity < total:
        raise ValueError(f"capacity {capacity} is smaller than the {total} Gaussians.")
    if out is None or out.shape != (capacity, GEOMETRY_WIDTH) or out.dtype != np.float32:
        out = np.zeros((capacity, GEOMETRY_WIDTH), np.float32)
    start = 0
    for scene in scenes:
        rows = out[start : start + scene.count]
        rows[:, 0:3] = scene.means.detach().cpu().numpy()
        rows[:, 3] = 1.0
        rows[:, 4:8] = scene.quats.detach().cpu().numpy()
        rows[:, 8:11] = scene.scales.detach().cpu().numpy()
        start += scene.count
    return out


def pack_colors(
    scenes: Sequence[SplatScene], view_matrix: Tensor, projection_matrix: Tensor, capacity: int
) -> np.ndarray:
    """(capacity, COLOR_WIDTH) float32: each Gaussian's sRGB-encoded colour seen from this
    view (as :func:`project_quads` colours it) and its opacity, zero-padded. Without
    view-dependent colour (spherical-harmonics degree 0 everywhere) the view does not matter."""
    total = sum(scene.count for scene in scenes)
    if capacity < total:
        raise ValueError(f"capacity {capacity} is smaller than the {total} Gaussians.")
    out = np.zeros((capacity, COLOR_WIDTH), np.float32)
    start = 0
    for scene in scenes:
        dtype = scene.means.dtype
        index = torch.arange(scene.count, device=scene.means.device)
        colors = _colors(scene, index, view_matrix.to(dtype), projection_matrix.to(dtype))
        rows = out[start : start + scene.count]
        rows[:, 0:3] = colors.detach().cpu().numpy()
        rows[:, 3] = scene.opacities.detach().cpu().numpy()
        start += scene.count
    return out


def view_dependent(scenes: Sequence[SplatScene]) -> bool:
    """Whether any of the scenes' colours change with the view (spherical harmonics above
    degree 0)."""
    return any(scene.sh.shape[1] > 1 for scene in scenes)


def back_to_front(means: np.ndarray, view_matrix: np.ndarray) -> np.ndarray:
    """(N,) int32 order of ``means`` (N, 3) from the furthest to the nearest along the view
    axis of ``view_matrix`` (4, 4, world -> view, looking down -z), the order in which
    :func:`project_quads` sorts its quads (up to ties, which it keeps in index order)."""
    forward = np.asarray(view_matrix, dtype=np.float32).reshape(4, 4)[2, :3]
    return np.argsort(means @ forward).astype(np.int32)  # view z: most negative is furthest
