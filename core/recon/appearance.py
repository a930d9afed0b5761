"""Appearance: the Gaussians' colours and shapes from the photos, on the fitted body.

Step 4 of "create an avatar from photos". Body fitting (``core.recon.body_fit``) hands over a
:class:`BodyFit`: one shape, and per photo a pose and a camera. Here:

1. Seed ``count`` Gaussians on the body at the fitted shape in the canonical pose
   (:func:`core.deform.template.make_starter_avatar`: area-weighted flat discs, bound to
   triangles).
2. Initial colours: pose the mesh as in each photo, deform the Gaussians onto it, project
   their centres with the photo's camera and keep those that are seen: facing the camera
   (cos >= MIN_FACING), not behind the rendered depth pass, inside the person mask shrunk
   by a few pixels (its soft edge mixes in the background; ``core.recon.views.visibility``).
   Each takes the photo's colour there, averaged over photos weighted by how squarely it faces
   the camera. Gaussians seen in no photo are filled in at mesh resolution
   (``core.recon.fill``): a mesh vertex seen in no photo takes the colour of the seen vertex
   nearest its left/right mirror image (if that is close), else of the seen vertex nearest
   to it, so the far arm of a side view copies the near arm and the back of a front view
   continues the colours at its sides; the colours filled by nearness are then smoothed.
3. Refine by differentiable rendering (``core.render``; torch backend on the CPU) with Adam,
   one photo per step in turn, as the caller prepared it (``core.recon.views``: cropped to
   the person and shrunk), rendered over a random background colour. The loss:
   - (1 - SSIM_WEIGHT) L1 + SSIM_WEIGHT (1 - SSIM) against the photo where it surely shows
     the person (the shrunk mask; elsewhere the target is the render itself);
   - MASK_WEIGHT mean |alpha - mask| (with the random background, this also makes the
     person opaque); below the chin of a face close-up, where its shoulders may lie off
     the fitted body's, only mean (1 - alpha) mask (``ViewTarget.outside``);
   - OFFSET_WEIGHT mean |offset|^2, offsets in triangle sizes: hair and loose clothing may
     leave the surface, but not far;
   - SCALE_WEIGHT mean relu(log_scale - seeded - ln SCALE_GROWTH)^2: no Gaussian grows into
     a blob;
   - COLOUR_WEIGHT mean |colour - initial colour|^2: Gaussians the photos barely show (at
     the silhouette) keep their projected colours instead of wandering; Adam would otherwise
     take full steps on their tiny gradients.
   Gaussians hidden in every photo (behind the depth pass, or facing away) are not refined;
   on the hands (HAND_PARTS), those narrower than RESOLVED_PIXELS in every photo that shows
   them keep their seeded scale and rotation, and a hand the photos do not resolve takes the
   creases between its fingers from its shape (:func:`shade_unresolved`).
   Optimised: SH DC colour, opacity, offsets, log-scales and rotations, all in the triangle
   frame, so the result is stored unposed in the canonical pose.

Letters: N Gaussians, V vertices, F triangles, S shape parameters, H x W pixels.
Deterministic: the same inputs and seed give the same tensors (same backend and threads).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F_nn
from torch import Tensor

from ..avatar.avatar import Avatar, GaussianBinding
from ..body.model import BodyModel
from ..body.parts import in_parts
from ..deform.binding import deform_gaussians
from ..deform.template import make_starter_avatar, surface_light, surface_points
from ..posing import splat_scene
from ..progress import Progress, no_progress
from ..render import render
from ..render.sh import SH_C0
from .fill import fill_on_mesh
from .fit_types import BodyFit
from .losses import ssim
from .views import ViewTarget, sample_image, visibility

MIN_FACING = 0.2
"""A Gaussian counts as seen only if cos(angle between its triangle's normal and the ray to
the camera) is at least this; grazing views smear the photo."""
SHARPNESS_POWER = 2.0
"""A view that shows a Gaussian k times sharper (pixels per metre) weighs k^2 more."""
REFERENCE_DENSITY = 1000.0
"""Pixels per metre that weigh 1 (keeps the weights near 1 in float32)."""
EDGE_TRACE = 0.01
"""Weight left at the very edge of a view's mask, relative to its inside."""
SSIM_WEIGHT = 0.2
MASK_WEIGHT = 0.5
OFFSET_WEIGHT = 0.01
COLOUR_WEIGHT = 0.1
SCALE_WEIGHT = 0.1
SCALE_GROWTH = 3.0
"""Scales may grow to this factor of their seeded size before SCALE_WEIGHT applies."""
HAND_PARTS = ("hand.L", "hand.R")
SHADE_PIXELS = 2.0
"""The shading of an unresolved hand is taken relative to its mean within this many of the
sharpest view's pixels around each Gaussian (the photo's colours hold what is coarser)."""
RESOLVED_PIXELS = 1.0
"""A hand's Gaussian's scale and rotation are refined only if its seeded disc spans at
least this many pixels (one standard deviation across its narrow side) in a view that shows
it; smaller, the
photos cannot tell its shape, and the template's stands (the fingers' narrow discs, which
keep them apart, would otherwise grow into webbing on the gradients of a 15-pixel hand).
Its colour, opacity and offset are still refined. Elsewhere the rule cost more than it
gave (a face seen only at 30 px lost 0.5 dB in its own photo, for no gain in other views)."""
LEARNING_RATES = {
    "colour": 0.01,  # per step, in colour units (the SH DC rate is this / SH_C0)
    "opacity": 0.05,  # logit
    "offset": 0.01,  # triangle sizes
    "log_scale": 0.02,
    "rotation": 0.005,
}
FINAL_RATE = 0.1
"""The learning rates fall along a cosine to this share of their start by the last step."""


def project_colours(
    avatar: Avatar, views: Sequence[ViewTarget], backend: str = "torch"
) -> tuple[Tensor, Tensor]:
    """Each Gaussian's photo colour from the sharpest views it is seen in.

    Seen: unoccluded, facing the camera (cos >= MIN_FACING) and inside the person mask (see
    :class:`Visibility`). A view's weight is facing x (pixels per metre)^SHARPNESS_POWER x
    its fade-in from the mask's edge (plus a trace, so a Gaussian seen only near an edge
    keeps its colour): the sharpest, most squarely facing view wins, and views blend across
    the seams where one ends. Returns colours (N, 3) (0 where unseen) and seen (N,) bool, on
    the CPU.
    """
    device = views[0].vertices.device
    binding = avatar.binding.to(device=device)
    faces = avatar.faces.to(device)
    total = torch.zeros(avatar.count, 3, device=device)
    weight = torch.zeros(avatar.count, device=device)
    for view in views:
        vis = visibility(binding, faces, view, backend)
        seen = vis.unoccluded & (vis.facing >= MIN_FACING) & vis.in_mask
        sharpness = (vis.density / REFERENCE_DENSITY) ** SHARPNESS_POWER
        w = torch.where(seen, vis.facing * sharpness * (vis.edge + EDGE_TRACE), 0.0)
        total += w[:, None] * sample_image(view.rgb, vis.pixels)
        weight += w
    seen = weight > 0
    colour = total / weight.clamp_min(1e-12)[:, None]
    return colour.cpu(), seen.cpu()


def resolution(
    binding: GaussianBinding, faces: Tensor, views: Sequence[ViewTarget], backend: str = "torch"
) -> tuple[Tensor, Tensor, Tensor]:
    """(N,) bool ``shown``: some view shows the Gaussian (unoccluded, not facing away); (N,)
    bool ``resolved``: some view shows it with its seeded disc at least RESOLVED_PIXELS
    across its narrow side; (N,) ``pixel``: the metres one pixel spans there in the sharpest
    view that shows it (inf where none does). On the views' device."""
    shown = torch.zeros(binding.count, dtype=torch.bool, device=faces.device)
    found = torch.zeros_like(shown)
    density = torch.zeros(binding.count, device=faces.device)
    for view in views:
        vis = visibility(binding, faces, view, backend)
        seen = vis.unoccluded & (vis.facing >= -MIN_FACING)
        with torch.no_grad():
            width = deform_gaussians(view.vertices[None], faces, binding).scales[0, :, :2]
        shown |= seen
        found |= seen & (width.min(dim=-1).values * vis.density >= RESOLVED_PIXELS)
        density = torch.where(seen, torch.maximum(density, vis.density), density)
    return shown, found, 1.0 / density


def shade_unresolved(
    avatar: Avatar,
    colour: Tensor,
    shown: Tensor,
    resolved: Tensor,
    pixel: Tensor,
    parts: Sequence[str] = HAND_PARTS,
) -> Tensor:
    """``colour`` (N, 3) with the shading of the body's own shape (the template's studio
    light, :func:`core.deform.template.surface_light`) laid over each of ``parts`` that the
    photos show but do not resolve (most of its shown Gaussians below RESOLVED_PIXELS),
    relative to the light's mean within SHADE_PIXELS pixels around each Gaussian (``pixel``:
    metres per pixel of the sharpest view; the part's median where a Gaussian is not shown):
    the photos carry the shading coarser than that, and a 15-pixel hand gets the creases
    between its fingers from the fingers' shape. Other parts are returned as they
    are (on a face the photos' colours are placed less exactly than the creases they would
    be multiplied with)."""
    b = avatar.binding
    surface = (avatar.canonical_vertices, avatar.faces, b.triangle, b.barycentric)
    light, centres = surface_light(*surface), surface_points(*surface)
    ratio = torch.ones_like(light)
    for name in parts:
        if name not in avatar.part_names:
            continue
        members = b.part == avatar.part_names.index(name)
        seen = shown & members
        if not bool(seen.any()) or float(resolved[seen].float().mean()) >= 0.5:
            continue
        span = torch.where(seen, pixel, pixel[seen].median())[members]
        points = centres[members]
        near = (torch.cdist(points, points) <= SHADE_PIXELS * span[:, None]).float()
        local = (near @ light[members]) / near.sum(dim=1)
        ratio[members] = light[members] / local.clamp_min(1e-6)
    return (colour * ratio.clamp(0.6, 1.25)[:, None]).clamp(0, 1)


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
    start = avatar.binding.to(device=device)
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
    shown, found, _ = resolution(start, faces, views, backend)
    frozen = ~shown
    unresolved = in_parts(start.part, avatar.part_names, HAND_PARTS) & ~found

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
        miss = (result.alpha - view.mask).abs()
        if view.outside is not None:  # elsewhere only where the person surely is counts
            miss = torch.where(view.outside, miss, (1 - result.alpha) * view.mask)
        loss = loss + MASK_WEIGHT * miss.mean()
        loss = loss + OFFSET_WEIGHT * params["offset"].square().sum(-1).mean()
        drift = (params["sh_dc"] - start_dc) * SH_C0  # in colour units
        loss = loss + COLOUR_WEIGHT * drift.square().sum(-1).mean()
        excess = F_nn.relu(params["log_scale"] - scale_limit)
        loss = loss + SCALE_WEIGHT * excess.square().sum(-1).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        for name, p in params.items():
            p.grad[frozen] = 0.0
            if name in ("log_scale", "rotation"):
                p.grad[unresolved] = 0.0
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
    views: Sequence[ViewTarget],
    *,
    count: int,
    steps: int,
    seed: int = 0,
    backend: str = "torch",
    progress: Progress = no_progress,
) -> Avatar:
    """An avatar of ``count`` Gaussians on ``fit``'s body shape, coloured and shaped by its
    photos (module docstring), in the canonical pose.

    body: the body model ``fit`` was made with (its device is where the work happens).
    views: the photos of ``fit`` as fitting sees them, one per view, in view order
        (:func:`core.recon.views.prepare_views`; their crop size is what is rendered).
    steps: Adam steps of refinement (0: the projected colours only).
    backend: the renderer's backend ("torch" on the CPU; "auto" uses gsplat on CUDA).
    progress: called with ("appearance", fraction done).
    KeyboardInterrupt propagates; nothing is written here.
    """
    if count < 1 or steps < 0:
        raise ValueError(f"need count >= 1, steps >= 0; got {count}, {steps}.")
    if len(views) != len(fit.views):
        raise ValueError(
            f"need one view per photo of the fit ({len(fit.views)}), got {len(views)}."
        )
    progress("appearance", 0.0)
    seeded = make_starter_avatar(body, count=count, seed=seed, name="avatar", shape=fit.shape)
    colour = initial_colours(seeded, views, backend)
    device = views[0].vertices.device
    shown, found, pixel = resolution(
        seeded.binding.to(device=device), seeded.faces.to(device), views, backend
    )
    colour = shade_unresolved(seeded, colour, shown.cpu(), found.cpu(), pixel.cpu())
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
