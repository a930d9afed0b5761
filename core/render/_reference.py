"""Pure-torch twin of core.render's rasteriser, written plainly (no tiles, no chunks).

A Python loop over the depth-sorted Gaussians with every pixel at once, written straight
from gsplat's kernels (fully_fused_projection + rasterize_to_pixels). Tests check
:func:`core.render.torch_backend.render_torch` against it in values and gradients; nothing
else calls it. Letters: N Gaussians, H x W pixels.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..quaternion import quat_to_rotmat
from .sh import sh_colors
from .types import Camera, SplatScene


def _render(
    scene: SplatScene, camera: Camera, background: Tensor
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Twin of :func:`core.render.torch_backend.render_torch`: compositing one Gaussian at a
    time, every pixel at once.

    scene: N Gaussians; camera: an H x W OpenCV camera; background: (3,) colour.
    Returns rgb (H, W, 3), alpha (H, W), depth (H, W), normal (H, W, 3), part (H, W) int64.
    """
    dtype = scene.means.dtype
    W, t = camera.world_to_camera[:3, :3].to(dtype), camera.world_to_camera[:3, 3].to(dtype)
    fx, fy, cx, cy = (float(camera.K[i, j]) for i, j in ((0, 0), (1, 1), (0, 2), (1, 2)))
    w, h = camera.width, camera.height
    R = quat_to_rotmat(scene.quats)
    cov3 = R @ torch.diag_embed(scene.scales**2) @ R.transpose(1, 2)
    mc = scene.means @ W.T + t
    cov_c = W @ cov3 @ W.T
    x, y, z = mc.unbind(-1)
    lim_x = (cx / fx + 0.3 * 0.5 * w / fx, (w - cx) / fx + 0.3 * 0.5 * w / fx)
    lim_y = (cy / fy + 0.3 * 0.5 * h / fy, (h - cy) / fy + 0.3 * 0.5 * h / fy)
    tx = z * torch.clamp(x / z, -lim_x[0], lim_x[1])
    ty = z * torch.clamp(y / z, -lim_y[0], lim_y[1])
    zero = torch.zeros_like(z)
    J = torch.stack((fx / z, zero, -fx * tx / z**2, zero, fy / z, -fy * ty / z**2), -1)
    J = J.view(-1, 2, 3)
    cov2 = J @ cov_c @ J.transpose(1, 2) + 0.3 * torch.eye(2, dtype=dtype)
    conic = torch.linalg.inv(cov2)
    mean2 = torch.stack((fx * x / z + cx, fy * y / z + cy), -1)
    cam_pos = camera.position.to(dtype)
    colors = sh_colors(scene.sh, scene.means, cam_pos)
    shortest = scene.scales.detach().argmin(-1)
    normal = R[torch.arange(scene.count), :, shortest]
    normal = torch.where(
        ((cam_pos - scene.means) * normal).sum(-1, keepdim=True) < 0, -normal, normal
    )
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=dtype), torch.arange(w, dtype=dtype), indexing="ij"
    )
    pix = torch.stack((xs.flatten(), ys.flatten()), -1) + 0.5
    T = torch.ones(h * w, dtype=dtype)
    done = torch.zeros(h * w, dtype=torch.bool)
    acc = torch.zeros(h * w, 7, dtype=dtype)
    best_w = torch.zeros(h * w, dtype=dtype)
    part = torch.full((h * w,), -1, dtype=torch.int64)
    for g in torch.argsort(z).tolist():
        if (
            not camera.near <= float(z[g].detach()) <= camera.far
            or float(scene.opacities[g].detach()) < 1 / 255
        ):
            continue
        d = pix - mean2[g]
        a, b, c = conic[g, 0, 0], conic[g, 0, 1], conic[g, 1, 1]
        sigma = 0.5 * (a * d[:, 0] ** 2 + c * d[:, 1] ** 2) + b * d[:, 0] * d[:, 1]
        alpha = torch.clamp(scene.opacities[g] * torch.exp(-sigma), max=0.999)
        skip = (sigma < 0) | (alpha < 1 / 255) | done
        next_T = T * (1 - alpha)
        stop = ~skip & (next_T <= 1e-4)
        done = done | stop
        use = ~skip & ~stop
        weight = torch.where(use, alpha * T, 0.0)
        feat = torch.cat((colors[g], z[g, None], normal[g]))
        acc = acc + weight[:, None] * feat
        T = torch.where(use, next_T, T)
        better = weight.detach() > best_w
        best_w = torch.where(better, weight.detach(), best_w)
        if scene.parts is not None:
            part = torch.where(better, scene.parts[g], part)
    alpha = 1 - T
    hit = alpha > 0
    rgb = acc[:, :3] + T[:, None] * background
    depth = torch.where(hit, acc[:, 3] / torch.where(hit, alpha, 1.0), 0.0)
    n = acc[:, 4:]
    norm = n.norm(dim=-1, keepdim=True)
    normal_img = torch.where(norm > 0, n / torch.where(norm > 0, norm, 1.0), 0.0)
    return (
        rgb.view(h, w, 3),
        alpha.view(h, w),
        depth.view(h, w),
        normal_img.view(h, w, 3),
        part.view(h, w),
    )
