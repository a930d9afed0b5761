"""The photos as fitting sees them: each cropped to the person, shrunk, with the body posed.

A :class:`ViewTarget` is one photo of a :class:`BodyFit` cropped to the person and the
posed body (grown by CROP_MARGIN), its longer side shrunk to ``size`` pixels, with the
crop's camera, the person mask and the body's vertices in that photo's pose. Appearance
fitting (``core.recon.appearance``), the same-person check (``core.recon.consistency``) and
the scores (``core.recon.create``, ``core.recon.evaluate``) all work on these; a create run
poses the body once (:func:`posed_vertices`) and crops every photo once per size it needs.

Here too: where Gaussians appear in a view (:func:`visibility`), bilinear samples of a
view's images (:func:`sample_image`), rendering an avatar in a view and its PSNR there.

Letters: N Gaussians, V vertices, B views, P points, H x W pixels, C channels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F_nn
from torch import Tensor

from ..avatar.avatar import Avatar, GaussianBinding
from ..body.model import BodyModel
from ..body.poses import stack_poses
from ..deform.binding import deform_gaussians
from ..deform.frames import triangle_frames
from ..posing import splat_scene
from ..render import render
from ..render.camera import project_points
from ..render.types import Camera, RenderResult
from .fit_types import BodyFit, FittedView
from .geometry import Box
from .losses import masked_psnr

RENDER_SIZE = 512
"""Default longer side, in pixels, of the person's crop that fitting renders."""
CROP_MARGIN = 0.05
"""The crop holds the person mask and the projected body, grown by this share of its longer
side on every side (clipped to the photo)."""
MASK_THRESHOLD = 0.5
"""A pixel shows the person where the perception mask is at least this."""
SAME_SURFACE = 0.01
"""Metres within which a Gaussian behind another body part's pixel still counts as the same
surface (the seams between parts); beyond it, up to DEPTH_TOLERANCE, only its own part may
cover it."""
CLOSE_UP_MARGIN = 0.25
"""A face close-up is cropped to its face (the face mesh's box) grown by this share of its
longer side: the hair, the ears and the neck."""
SEAM_FRACTION = 0.03
"""Colours from a view fade in over this share of its crop's longer side inside its mask's
edge, so that views of different sharpness blend across the seam instead of cutting."""
MASK_ERODE = 2
"""Pixels (at the fitting resolution) by which the person mask shrinks before colours are
sampled inside it."""
DEPTH_TOLERANCE = 0.03
"""Metres a Gaussian may lie behind the rendered depth pass and still count as visible (a
surface's blended depth over a pixel; an arm in front of the torso is ~0.1 m nearer)."""


@dataclass(frozen=True)
class ViewTarget:
    """One photo ready for fitting: cropped to the person and shrunk.

    camera: the crop's camera (its width x height are the crop's).
    rgb: (H, W, 3) float32 photo colours in [0, 1], sRGB-encoded.
    mask: (H, W) float32 person mask in [0, 1].
    inner: (H, W) bool, the mask at least MASK_THRESHOLD after shrinking it by MASK_ERODE
        pixels: where the photo surely shows the person (its soft edge mixes in the
        background), so where colours are taken from.
    vertices: (V, 3) float32 body-mesh vertices in this photo's pose, at the fitted shape.
    box: (x0, y0, x1, y1) the crop in photo pixels.
    outside: (H, W) bool, where the mask also says where the person is not; None:
        everywhere. In a close-up, the rows above the chin: only the head and neck are
        fitted to it, so the shoulders below may lie off the fitted body's, and there the
        mask only says where the person surely is.
    """

    camera: Camera
    rgb: Tensor
    mask: Tensor
    inner: Tensor
    vertices: Tensor
    box: tuple[int, int, int, int]
    outside: Tensor | None = None


def posed_vertices(body: BodyModel, fit: BodyFit) -> Tensor:
    """(B, V, 3) float32 vertices of the fitted shape in each of the B views' poses."""
    reference = body.default_shape(1)
    rotations, expression, translation = stack_poses([v.pose for v in fit.views])
    batch = len(fit.views)
    shape = fit.shape.detach().reshape(1, -1).to(reference).expand(batch, -1)
    with torch.no_grad():
        out = body.forward(
            shape, rotations.to(reference), expression.to(reference), translation.to(reference)
        )
    return out.vertices.float()


def _body_boxes(mask: np.ndarray, vertices: Tensor, camera: Camera) -> list[Box]:
    """The boxes (photo pixels) of the mask and of the projected body, where there are any."""
    boxes = []
    rows, cols = np.nonzero(mask >= MASK_THRESHOLD)
    if len(rows):
        boxes.append(Box(cols.min(), rows.min(), cols.max() + 1.0, rows.max() + 1.0))
    pixels, z = project_points(camera, vertices)
    pixels = pixels[z > camera.near]
    if len(pixels):
        low, high = pixels.min(0).values.tolist(), pixels.max(0).values.tolist()
        boxes.append(Box(low[0], low[1], high[0], high[1]))
    return boxes


def _crop_box(boxes: list[Box], camera: Camera, margin: float) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) integer pixels holding ``boxes``, grown by ``margin`` of the longer
    side and kept inside the photo (the whole photo where there are no boxes)."""
    width, height = camera.width, camera.height
    if not boxes:
        return 0, 0, width, height
    x0, y0 = min(b.x0 for b in boxes), min(b.y0 for b in boxes)
    x1, y1 = max(b.x1 for b in boxes), max(b.y1 for b in boxes)
    grow = margin * max(x1 - x0, y1 - y0)
    x0, y0 = max(0, math.floor(x0 - grow)), max(0, math.floor(y0 - grow))
    x1, y1 = min(width, math.ceil(x1 + grow)), min(height, math.ceil(y1 + grow))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return 0, 0, width, height
    return x0, y0, x1, y1


def _resize(image: Tensor, height: int, width: int) -> Tensor:
    """(h, w, C) -> (height, width, C), antialiased bilinear."""
    if image.shape[:2] == (height, width):
        return image
    resized = F_nn.interpolate(
        image.permute(2, 0, 1)[None],
        size=(height, width),
        mode="bilinear",
        antialias=True,
        align_corners=False,
    )
    return resized[0].permute(1, 2, 0).clamp(0, 1)


def prepare_view(view: FittedView, vertices: Tensor, size: int) -> ViewTarget:
    """The photo of ``view`` cropped to the person and the posed body, its longer side
    shrunk to at most ``size`` pixels; ``vertices`` (V, 3) in the view's pose."""
    photo = view.perception.photo
    camera = view.camera
    if (photo.width, photo.height) != (camera.width, camera.height):
        raise ValueError(
            f"The camera of '{photo.path}' is {camera.width}x{camera.height} but the photo is "
            f"{photo.width}x{photo.height}; the camera must be the photo's."
        )
    close_up = view.perception.close_up
    if close_up:  # the face, grown: the posed body reaches far outside the photo
        x0, y0, x1, y1 = _crop_box([view.perception.box], camera, CLOSE_UP_MARGIN)
    else:
        boxes = _body_boxes(view.perception.mask, vertices, camera)
        x0, y0, x1, y1 = _crop_box(boxes, camera, CROP_MARGIN)
    crop_w, crop_h = x1 - x0, y1 - y0
    factor = min(1.0, size / max(crop_w, crop_h))
    width, height = max(8, round(crop_w * factor)), max(8, round(crop_h * factor))
    sx, sy = width / crop_w, height / crop_h
    device = vertices.device
    rgb = torch.from_numpy(np.array(photo.rgb[y0:y1, x0:x1])).to(device)
    mask = torch.from_numpy(np.array(view.perception.mask[y0:y1, x0:x1], dtype=np.float32))
    rgb = _resize(rgb.float() / 255.0, height, width)
    mask = _resize(mask.to(device=device, dtype=torch.float32)[..., None], height, width)[..., 0]
    # Photo pixels -> crop pixels: u' = sx (u - x0), v' = sy (v - y0).
    crop = torch.tensor(
        [[sx, 0.0, -sx * x0], [0.0, sy, -sy * y0], [0.0, 0.0, 1.0]], dtype=torch.float64
    )
    K = (crop @ camera.K.to(torch.float64)).float().to(device)
    cropped = Camera(
        K=K,
        world_to_camera=camera.world_to_camera.float().to(device),
        width=width,
        height=height,
        near=camera.near,
        far=camera.far,
    )
    window = 2 * MASK_ERODE + 1
    eroded = -F_nn.max_pool2d(-mask[None, None], window, stride=1, padding=MASK_ERODE)[0, 0]
    inner = eroded >= MASK_THRESHOLD
    outside = None
    if close_up:  # above the chin (the face mesh's lowest point)
        chin = sy * (float(view.perception.face.pixels[:, 1].max()) - y0)
        rows = torch.arange(height, device=device, dtype=torch.float32) + 0.5
        outside = (rows < chin)[:, None].expand(height, width)
    box = (x0, y0, x1, y1)
    return ViewTarget(cropped, rgb, mask, inner, vertices.float(), box, outside)


def crop_views(fit: BodyFit, vertices: Tensor, size: int = RENDER_SIZE) -> list[ViewTarget]:
    """Every view of ``fit`` ready for fitting (see :func:`prepare_view`), given the (B, V, 3)
    vertices of the fitted shape in each view's pose (:func:`posed_vertices`), on their
    device. Several crop sizes of one fit can share one ``vertices``."""
    if not fit.views:
        raise ValueError("The body fit has no views.")
    return [prepare_view(v, vertices[i], size) for i, v in enumerate(fit.views)]


def prepare_views(body: BodyModel, fit: BodyFit, size: int = RENDER_SIZE) -> list[ViewTarget]:
    """Every view of ``fit`` ready for fitting (see :func:`prepare_view`), on the body's
    device: :func:`crop_views` of :func:`posed_vertices`."""
    if not fit.views:
        raise ValueError("The body fit has no views.")
    return crop_views(fit, posed_vertices(body, fit), size)


def render_view(
    avatar: Avatar,
    view: ViewTarget,
    background: Tensor | Sequence[float] = (0.0, 0.0, 0.0),
    backend: str = "torch",
) -> RenderResult:
    """Render ``avatar`` posed as in ``view``, seen by the view's (cropped) camera."""
    binding = avatar.binding.to(device=view.vertices.device)
    world = deform_gaussians(view.vertices[None], avatar.faces.to(view.vertices.device), binding)
    return render(splat_scene(binding, world), view.camera, background=background, backend=backend)


def view_psnr(avatar: Avatar, view: ViewTarget, backend: str = "torch") -> float:
    """PSNR in dB of ``avatar`` rendered in ``view`` (over black) against the photo, inside
    the person mask (at least MASK_THRESHOLD), at the view's resolution.

    The mask's soft edge counts, so this measures the silhouette as much as the colours:
    inside the ``inner`` mask alone a fitted avatar matches the photo it was fitted to almost
    exactly at this resolution (docs/recon.md).
    """
    with torch.no_grad():
        result = render_view(avatar, view, backend=backend)
    return masked_psnr(result.rgb, view.rgb, view.mask >= MASK_THRESHOLD)


def sample_image(image: Tensor, pixels: Tensor) -> Tensor:
    """Bilinear samples (P, C) of an (H, W, C) image at pixel positions (P, 2)."""
    height, width = image.shape[:2]
    grid = torch.stack((2 * pixels[:, 0] / width - 1, 2 * pixels[:, 1] / height - 1), dim=-1)
    grid = grid.to(image.dtype)[None, None]  # (1, 1, P, 2)
    out = F_nn.grid_sample(image.permute(2, 0, 1)[None], grid, mode="bilinear", align_corners=False)
    return out[0, :, 0].T


@dataclass(frozen=True)
class Visibility:
    """How each of N Gaussians appears in one view.

    pixels: (N, 2) its centre in the view's pixels; facing: (N,) cos of the angle between its
    triangle's normal and the ray to the camera; unoccluded: (N,) bool, its centre inside the
    image, in front of the camera and at most DEPTH_TOLERANCE behind the rendered depth
    pass (SAME_SURFACE where another body part wins the pixel); in_mask: (N,) bool, its
    centre lies in the view's ``inner`` mask; density: (N,)
    the view's pixels per metre at its centre (focal length / depth): how sharply the view
    shows it; edge: (N,) in [0, 1], 0 at the ``inner`` mask's edge rising to 1 at
    SEAM_FRACTION of the crop inside it.
    """

    pixels: Tensor
    facing: Tensor
    unoccluded: Tensor
    in_mask: Tensor
    density: Tensor
    edge: Tensor


@torch.no_grad()
def visibility(
    binding: GaussianBinding, faces: Tensor, view: ViewTarget, backend: str = "torch"
) -> Visibility:
    """Where the Gaussians of ``binding`` (on the view's device) appear in ``view``."""
    vertices = view.vertices[None]
    world = deform_gaussians(vertices, faces, binding)
    means = world.means[0]
    normals = triangle_frames(vertices, faces).rotation[0, binding.triangle, :, 2]
    camera = view.camera
    rendered = render(splat_scene(binding, world), camera, backend=backend)
    depth = rendered.depth
    pixels, z = project_points(camera, means)
    towards = camera.position.to(means) - means
    facing = (normals * towards).sum(-1) / towards.norm(dim=-1).clamp_min(1e-9)
    height, width = depth.shape
    x, y = pixels.unbind(-1)
    inside = (z > camera.near) & (x >= 0) & (x < width) & (y >= 0) & (y < height)
    col = x.floor().long().clamp(0, width - 1)
    row = y.floor().long().clamp(0, height - 1)
    surface = depth[row, col]
    # Another body part in front (a hand on the chest, crossed arms) hides it even within
    # DEPTH_TOLERANCE; its own part, or any part on the same surface, does not.
    own = rendered.part[row, col] == binding.part.to(rendered.part.device)
    unoccluded = inside & (surface > 0) & (z <= surface + DEPTH_TOLERANCE)
    unoccluded &= own | (z <= surface + SAME_SURFACE)
    # Fully inside: the bilinear colour sample then reads no pixel the mask leaves out.
    in_mask = sample_image(view.inner.float()[..., None], pixels)[:, 0] >= 1.0 - 1e-6
    density = camera.K[0, 0].to(z) / z.clamp_min(camera.near)
    return Visibility(pixels, facing, unoccluded, in_mask, density, _edge(view, pixels))


def _edge(view: ViewTarget, pixels: Tensor) -> Tensor:
    """(N,) 0 at the edge of the view's ``inner`` mask rising to 1 at SEAM_FRACTION of the
    crop's longer side inside it (a box blur of the mask, rescaled)."""
    radius = max(1, round(SEAM_FRACTION * max(view.inner.shape)))
    inner = view.inner.float()[None, None]
    blurred = F_nn.avg_pool2d(inner, 2 * radius + 1, stride=1, padding=radius)[0, 0]
    value = sample_image(blurred[..., None], pixels)[:, 0]
    return (2 * value - 1).clamp(0, 1)
