"""Appearance: the Gaussians' colours and shapes from the photos, on the fitted body.

Step 4 of "create an avatar from photos". Body fitting (``core.recon.body_fit``) hands over a
:class:`BodyFit`: one shape, and per photo a pose and a camera. Here:

1. Seed ``count`` Gaussians on the body at the fitted shape in the canonical pose
   (:func:`core.avatar.starter.make_starter_avatar`: area-weighted flat discs, bound to
   triangles).
2. Initial colours: pose the mesh as in each photo, deform the Gaussians onto it, project
   their centres with the photo's camera and keep those that are seen: facing the camera
   (cos >= MIN_FACING), not behind the rendered depth pass (DEPTH_TOLERANCE), inside the
   person mask shrunk by MASK_ERODE pixels (its soft edge mixes in the background). Each
   takes the photo's colour there, averaged over photos weighted by how squarely it faces
   the camera. Gaussians seen in no photo are filled in at mesh resolution
   (``core.recon.fill``): a mesh vertex seen in no photo takes the colour of the seen vertex
   nearest its left/right mirror image (if that is close), else of the seen vertex nearest
   to it, so the far arm of a side view copies the near arm and the back of a front view
   continues the colours at its sides; the colours filled by nearness are then smoothed.
3. Refine by differentiable rendering (``core.render``; torch backend on the CPU) with Adam,
   one photo per step in turn, cropped to the person and shrunk so that its longer side is
   ``size`` pixels, rendered over a random background colour. The loss:
   - (1 - SSIM_WEIGHT) L1 + SSIM_WEIGHT (1 - SSIM) against the photo where it surely shows
     the person (the shrunk mask; elsewhere the target is the render itself);
   - MASK_WEIGHT mean |alpha - mask| (with the random background, this also makes the
     person opaque);
   - OFFSET_WEIGHT mean |offset|^2, offsets in triangle sizes: hair and loose clothing may
     leave the surface, but not far;
   - SCALE_WEIGHT mean relu(log_scale - seeded - ln SCALE_GROWTH)^2: no Gaussian grows into
     a blob;
   - COLOUR_WEIGHT mean |colour - initial colour|^2: Gaussians the photos barely show (at
     the silhouette) keep their projected colours instead of wandering; Adam would otherwise
     take full steps on their tiny gradients.
   Gaussians hidden in every photo (behind the depth pass, or facing away) are not refined.
   Optimised: SH DC colour, opacity, offsets, log-scales and rotations, all in the triangle
   frame, so the result is stored unposed in the canonical pose.

Letters: N Gaussians, V vertices, F triangles, S shape parameters, H x W pixels.
Deterministic: the same inputs and seed give the same tensors (same backend and threads).
"""

from __future__ import annotations

import dataclasses
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
from ..deform.template import make_starter_avatar
from ..posing import splat_scene
from ..progress import Progress, no_progress
from ..render import render
from ..render.sh import SH_C0
from ..render.types import Camera, RenderResult
from .fill import fill_on_mesh
from .fit_types import BodyFit, FittedView
from .losses import masked_psnr, ssim

RENDER_SIZE = 512
"""Default longer side, in pixels, of the person's crop that fitting renders."""
CROP_MARGIN = 0.05
"""The crop holds the person mask and the projected body, grown by this share of its longer
side on every side (clipped to the photo)."""
MASK_THRESHOLD = 0.5
"""A pixel shows the person where the perception mask is at least this."""
MASK_ERODE = 2
"""Pixels (at the fitting resolution) by which the person mask shrinks before colours are
sampled inside it."""
MIN_FACING = 0.2
"""A Gaussian counts as seen only if cos(angle between its triangle's normal and the ray to
the camera) is at least this; grazing views smear the photo."""
DEPTH_TOLERANCE = 0.03
"""Metres a Gaussian may lie behind the rendered depth pass and still count as visible (a
surface's blended depth over a pixel; an arm in front of the torso is ~0.1 m nearer)."""

SSIM_WEIGHT = 0.2
MASK_WEIGHT = 0.5
OFFSET_WEIGHT = 0.01
COLOUR_WEIGHT = 0.1
SCALE_WEIGHT = 0.1
SCALE_GROWTH = 3.0
"""Scales may grow to this factor of their seeded size before SCALE_WEIGHT applies."""
LEARNING_RATES = {
    "colour": 0.01,  # per step, in colour units (the SH DC rate is this / SH_C0)
    "opacity": 0.05,  # logit
    "offset": 0.01,  # triangle sizes
    "log_scale": 0.02,
    "rotation": 0.005,
}
FINAL_RATE = 0.1
"""The learning rates fall along a cosine to this share of their start by the last step."""


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
    """

    camera: Camera
    rgb: Tensor
    mask: Tensor
    inner: Tensor
    vertices: Tensor
    box: tuple[int, int, int, int]


def posed_views(body: BodyModel, fit: BodyFit) -> Tensor:
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


def _project(points: Tensor, camera: Camera) -> tuple[Tensor, Tensor]:
    """(P, 2) pixel positions and (P,) camera depth of world points (P, 3)."""
    w2c = camera.world_to_camera.to(points)
    local = points @ w2c[:3, :3].T + w2c[:3, 3]
    z = local[:, 2]
    homogeneous = local @ camera.K.to(points).T
    return homogeneous[:, :2] / z.clamp_min(1e-9)[:, None], z


def _crop_box(
    mask: np.ndarray, vertices: Tensor, camera: Camera, margin: float
) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) integer pixels holding the mask and the projected body, grown."""
    boxes = []
    rows, cols = np.nonzero(mask >= MASK_THRESHOLD)
    if len(rows):
        boxes.append((cols.min(), rows.min(), cols.max() + 1.0, rows.max() + 1.0))
    pixels, z = _project(vertices, camera)
    pixels = pixels[z > camera.near]
    if len(pixels):
        low, high = pixels.min(0).values.tolist(), pixels.max(0).values.tolist()
        boxes.append((low[0], low[1], high[0], high[1]))
    width, height = camera.width, camera.height
    if not boxes:
        return 0, 0, width, height
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
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
    x0, y0, x1, y1 = _crop_box(view.perception.mask, vertices, camera, CROP_MARGIN)
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
    return ViewTarget(cropped, rgb, mask, inner, vertices.float(), (x0, y0, x1, y1))


def prepare_views(body: BodyModel, fit: BodyFit, size: int = RENDER_SIZE) -> list[ViewTarget]:
    """Every view of ``fit`` ready for fitting (see :func:`prepare_view`), on the body's
    device."""
    if not fit.views:
        raise ValueError("The body fit has no views.")
    vertices = posed_views(body, fit)
    return [prepare_view(v, vertices[i], size) for i, v in enumerate(fit.views)]


def _binding_on(binding: GaussianBinding, device: torch.device) -> GaussianBinding:
    return binding.to(device=device)


def render_view(
    avatar: Avatar,
    view: ViewTarget,
    background: Tensor | Sequence[float] = (0.0, 0.0, 0.0),
    backend: str = "torch",
) -> RenderResult:
    """Render ``avatar`` posed as in ``view``, seen by the view's (cropped) camera."""
    binding = _binding_on(avatar.binding, view.vertices.device)
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


def _sample(image: Tensor, pixels: Tensor) -> Tensor:
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
    pass; in_mask: (N,) bool, its centre lies in the view's ``inner`` mask.
    """

    pixels: Tensor
    facing: Tensor
    unoccluded: Tensor
    in_mask: Tensor


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
    depth = render(splat_scene(binding, world), camera, backend=backend).depth
    pixels, z = _project(means, camera)
    towards = camera.position.to(means) - means
    facing = (normals * towards).sum(-1) / towards.norm(dim=-1).clamp_min(1e-9)
    height, width = depth.shape
    x, y = pixels.unbind(-1)
    inside = (z > camera.near) & (x >= 0) & (x < width) & (y >= 0) & (y < height)
    col = x.floor().long().clamp(0, width - 1)
    row = y.floor().long().clamp(0, height - 1)
    surface = depth[row, col]
    unoccluded = inside & (surface > 0) & (z <= surface + DEPTH_TOLERANCE)
    in_mask = _sample(view.inner.float()[..., None], pixels)[:, 0] >= 0.5
    return Visibility(pixels, facing, unoccluded, in_mask)


def project_colours(
    avatar: Avatar, views: Sequence[ViewTarget], backend: str = "torch"
) -> tuple[Tensor, Tensor]:
    """Each Gaussian's photo colour, averaged over the views it is seen in, weighted by
    its facing.

    Seen: unoccluded, facing the camera (cos >= MIN_FACING) and inside the person mask (see
    :class:`Visibility`). Returns colours (N, 3) (0 where unseen) and seen (N,) bool, on the
    CPU.
    """
    device = views[0].vertices.device
    binding = _binding_on(avatar.binding, device)
    faces = avatar.faces.to(device)
    total = torch.zeros(avatar.count, 3, device=device)
    weight = torch.zeros(avatar.count, device=device)
    for view in views:
        vis = visibility(binding, faces, view, backend)
        seen = vis.unoccluded & (vis.facing >= MIN_FACING) & vis.in_mask
        w = torch.where(seen, vis.facing, 0.0)
        total += w[:, None] * _sample(view.rgb, vis.pixels)
        weight += w
    seen = weight > 0
    colour = total / weight.clamp_min(1e-12)[:, None]
    return colour.cpu(), seen.cpu()


def initial_colours(avatar: Avatar, views: Sequence[ViewTarget], backend: str = "torch") -> Tensor:
    """(N, 3) colours from the photos (:func:`project_colours`), with the Gaussians seen in
    no photo filled in (:func:`core.recon.fill.fill_on_mesh`)."""
    colour, seen = project_colours(avatar, views, backend)
    if not bool(seen.any()):
        return avatar.binding.sh[:, 0] * SH_C0 + 0.5  # nothing seen: keep the seed's colours
    if bool(seen.all()):
        return colour.clamp(0, 1)
    binding = avatar.binding
    head = binding.part == avatar.part_names.index("head") if "head" in avatar.part_names else None
    filled = fill_on_mesh(
        avatar.canonical_vertices,
        avatar.faces,
        binding.triangle,
        binding.barycentric,
        colour,
        seen,
        head=head,
    )
    return filled.clamp(0, 1)


_FIELDS = tuple(f.name for f in dataclasses.fields(GaussianBinding))


def _rate_factor(step: int, steps: int) -> float:
    """Cosine from 1 at the first step to FINAL_RATE at the last."""
    t = step / max(steps - 1, 1)
    return FINAL_RATE + (1 - FINAL_RATE) * 0.5 * (1 + math.cos(math.pi * t))


def refine(
    avatar: Avatar,
    views: Sequence[ViewTarget],
    steps: int,
    *,
    seed: int = 0,
    backend: str = "torch",
    progress: Progress = no_progress,
) -> GaussianBinding:
    """``steps`` Adam steps of the loss in the module docstring; returns the new binding
    (on the CPU). Views are rendered in turn, one per step."""
    device = views[0].vertices.device
    start = _binding_on(avatar.binding, device)
    faces = avatar.faces.to(device)
    generator = torch.Generator().manual_seed(seed)
    params = {
        "sh_dc": start.sh[:, 0].clone().requires_grad_(),
        "opacity": start.opacity_logit.clone().requires_grad_(),
        "offset": start.offset.clone().requires_grad_(),
        "log_scale": start.log_scale.clone().requires_grad_(),
        "rotation": start.rotation.clone().requires_grad_(),
    }
    rates = dict(LEARNING_RATES)
    rates["sh_dc"] = rates.pop("colour") / SH_C0
    optimiser = torch.optim.Adam(
        [{"params": [p], "lr": rates[name], "name": name} for name, p in params.items()],
        eps=1e-15,
    )
    scale_limit = start.log_scale + math.log(SCALE_GROWTH)
    start_dc = start.sh[:, 0]
    # Adam takes full steps on however small a gradient: Gaussians hidden in every view
    # would drift on the crumbs of light that leak through the ones in front of them, so
    # they are held still (and keep their filled-in colours).
    frozen = torch.ones(start.count, dtype=torch.bool, device=device)
    for view in views:
        vis = visibility(start, faces, view, backend)
        frozen &= ~(vis.unoccluded & (vis.facing >= -MIN_FACING))

    def binding() -> GaussianBinding:
        return dataclasses.replace(
            start,
            sh=torch.cat((params["sh_dc"][:, None], start.sh[:, 1:]), dim=1),
            opacity_logit=params["opacity"],
            offset=params["offset"],
            log_scale=params["log_scale"],
            rotation=params["rotation"],
        )

    for step in range(steps):
        factor = _rate_factor(step, steps)
        for group in optimiser.param_groups:
            group["lr"] = rates[group["name"]] * factor
        view = views[step % len(views)]
        background = torch.rand(3, generator=generator).to(device)
        current = binding()
        world = deform_gaussians(view.vertices[None], faces, current)
        result = render(
            splat_scene(current, world), view.camera, background=background, backend=backend
        )
        # Colours are compared where the photo surely shows the person; elsewhere the
        # target is the render itself, and only the mask term acts.
        target = torch.where(view.inner[..., None], view.rgb, result.rgb.detach())
        loss = (1 - SSIM_WEIGHT) * (result.rgb - target).abs().mean()
        loss = loss + SSIM_WEIGHT * (1 - ssim(result.rgb, target))
        loss = loss + MASK_WEIGHT * (result.alpha - view.mask).abs().mean()
        loss = loss + OFFSET_WEIGHT * params["offset"].square().sum(-1).mean()
        drift = (params["sh_dc"] - start_dc) * SH_C0  # in colour units
        loss = loss + COLOUR_WEIGHT * drift.square().sum(-1).mean()
        excess = F_nn.relu(params["log_scale"] - scale_limit)
        loss = loss + SCALE_WEIGHT * excess.square().sum(-1).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        for p in params.values():
            p.grad[frozen] = 0.0
        optimiser.step()
        progress("appearance", (step + 1) / steps)
    with torch.no_grad():
        final = binding()
        rotation = final.rotation / final.rotation.norm(dim=-1, keepdim=True)
        final = dataclasses.replace(final, rotation=rotation)
    return GaussianBinding(**{name: getattr(final, name).detach().cpu() for name in _FIELDS})


def fit_appearance(
    body: BodyModel,
    fit: BodyFit,
    *,
    count: int,
    steps: int,
    seed: int = 0,
    size: int = RENDER_SIZE,
    backend: str = "torch",
    progress: Progress = no_progress,
) -> Avatar:
    """An avatar of ``count`` Gaussians on ``fit``'s body shape, coloured and shaped by its
    photos (module docstring), in the canonical pose.

    body: the body model ``fit`` was made with (its device is where the work happens).
    steps: Adam steps of refinement (0: the projected colours only).
    size: longer side in pixels of the person's crop that is rendered.
    backend: the renderer's backend ("torch" on the CPU; "auto" uses gsplat on CUDA).
    progress: called with ("appearance", fraction done).
    KeyboardInterrupt propagates; nothing is written here.
    """
    if count < 1 or steps < 0 or size < 8:
        raise ValueError(f"need count >= 1, steps >= 0, size >= 8; got {count}, {steps}, {size}.")
    progress("appearance", 0.0)
    seeded = make_starter_avatar(body, count=count, seed=seed, name="avatar", shape=fit.shape)
    views = prepare_views(body, fit, size)
    colour = initial_colours(seeded, views, backend)
    sh = seeded.binding.sh.clone()
    sh[:, 0] = (colour - 0.5) / SH_C0
    avatar = dataclasses.replace(seeded, binding=dataclasses.replace(seeded.binding, sh=sh))
    if steps > 0:
        binding = refine(avatar, views, steps, seed=seed, backend=backend, progress=progress)
        avatar = dataclasses.replace(avatar, binding=binding)
    metadata = {
        "name": "avatar",
        "made_by": "lca create",
        "seed": str(seed),
        "appearance_steps": str(steps),
        "photos": str(len(fit.views)),
    }
    progress("appearance", 1.0)
    return dataclasses.replace(avatar, metadata=metadata)
