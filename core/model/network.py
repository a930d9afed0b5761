"""LcaNet: photos of a person, posed bodies and cameras -> the template avatar's Gaussians,
corrected, in one forward pass (docs/model.md).

1. Image tokens: each photo's square crop through the patch encoder (core.model.encoder).
2. Anchor tokens: M anchors (body-mesh vertices, core.model.anchors), each a learned
   embedding + a Fourier encoding of its canonical position + pixel-aligned features: the
   anchor projected into each photo through that photo's posed body and camera, the feature
   map and colour sampled there, kept where the photo sees it (core.model.project), averaged
   over the photos that see it.
3. ``depth`` rounds of global self-attention over the anchors and cross-attention from the
   anchors to each photo's tokens (averaged over photos: any number of photos).
4. The Gaussian decoder (core.model.decoder) over the template's Gaussians.
The correction MLP (core.model.correction) is held here, stored with the predicted avatar
(:func:`predict_avatar`) and applied at posing time.

Letters: B photos, V vertices, F triangles, M anchors, N Gaussians, C channels, k neighbours.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..avatar.avatar import Avatar, GaussianBinding
from ..body.model import BodyModel
from ..deform.binding import deform_gaussians
from ..deform.frames import triangle_frames
from ..deform.template import vertex_normals
from ..render.sh import SH_C0
from .anchors import anchor_weights, farthest_points
from .config import ModelConfig
from .correction import CorrectionMlp, gaussian_offsets, stored_correction
from .decoder import GaussianDecoder, decode_binding
from .encoder import PatchEncoder
from .inputs import ModelView, square_view
from .layers import CrossBlock, SelfBlock, fourier_features, fourier_width
from .project import body_depth, project, sample

DECODER_BANDS = 4
"""Fourier frequencies of a Gaussian's canonical position in the decoder's input."""


@dataclass(frozen=True)
class Prediction:
    """binding: the predicted Gaussians (N of the template's), differentiable; anchor_index,
    anchor_weight: (N, k) each Gaussian's anchors and weights (for the pose correction);
    seen: (N,) share of the photos that see each Gaussian."""

    binding: GaussianBinding
    anchor_index: Tensor
    anchor_weight: Tensor
    seen: Tensor


class LcaNet(nn.Module):
    """The network of the module docstring, for one body topology.

    anchor_vertices: (M,) int64 body-mesh vertices that are the anchors; vertex_count: V of
    the body mesh; bones, expressions: J and E of the body model (the correction's input).
    """

    def __init__(
        self,
        config: ModelConfig,
        anchor_vertices: Tensor,
        vertex_count: int,
        bones: int,
        expressions: int,
    ):
        super().__init__()
        if tuple(anchor_vertices.shape) != (config.anchors,):
            raise ValueError(
                f"anchor_vertices must be ({config.anchors},), got {tuple(anchor_vertices.shape)}."
            )
        self.config = config
        self.vertex_count = vertex_count
        C = config.width
        self.register_buffer("anchor_vertices", anchor_vertices.long().clone())
        self.encoder = PatchEncoder(config)
        self.anchor_embed = nn.Parameter(torch.randn(config.anchors, C) * 0.02)
        self.anchor_position = nn.Linear(fourier_width(3, config.bands), C)
        self.anchor_pixels = nn.Linear(C + 3 + 2, C)
        self.anchor_seen = nn.Linear(1, C)
        self.self_blocks = nn.ModuleList(
            SelfBlock(C, config.heads, config.mlp_ratio) for _ in range(config.depth)
        )
        self.cross_blocks = nn.ModuleList(
            CrossBlock(C, config.heads, config.mlp_ratio) for _ in range(config.depth)
        )
        self.norm = nn.LayerNorm(C)
        decoder_inputs = C + fourier_width(3, DECODER_BANDS) + 3 + 1
        self.decoder = GaussianDecoder(decoder_inputs, config.decoder_hidden)
        self.correction = CorrectionMlp(
            bones, expressions, config.anchors, config.correction_hidden
        )

    @classmethod
    def for_body(
        cls, config: ModelConfig, canonical_vertices: Tensor, bones: int, expressions: int
    ) -> LcaNet:
        """A new network whose anchors are farthest points of ``canonical_vertices`` (V, 3)
        (the default-shape canonical mesh)."""
        anchors = farthest_points(canonical_vertices, config.anchors)
        return cls(config, anchors, canonical_vertices.shape[0], bones, expressions)

    def forward(
        self, template: Avatar, views: Sequence[ModelView], base: Tensor | None = None
    ) -> Prediction:
        """Predict ``template``'s Gaussians from 1..B photos ``views`` (their vertices posed
        on the template's canonical mesh topology).

        base: optional (N, 3) sRGB colours the colour correction starts from, e.g. today's
        initialisation (core.recon.feedforward); None: the photos' colours where they see a
        Gaussian, else the template's."""
        if not views:
            raise ValueError("LcaNet needs at least one photo.")
        canonical = template.canonical_vertices.float()
        if canonical.shape[0] != self.vertex_count:
            raise ValueError(
                f"The template has {canonical.shape[0]} vertices but the network was made for "
                f"{self.vertex_count}."
            )
        device = self.anchor_embed.device
        faces = template.faces.to(device)
        canonical = canonical.to(device)
        squares = [square_view(v, self.config.image) for v in views]
        posed = torch.stack([s.vertices.float().to(device) for s in squares])  # (B, V, 3)
        centre = canonical.mean(0)

        # 1. Image tokens.
        crops = torch.stack(
            [torch.cat((s.rgb, s.mask[..., None]), -1).permute(2, 0, 1) for s in squares]
        ).to(device)
        tokens, features = self.encoder(crops, _camera_inputs(squares, posed))

        # 2. Anchor tokens.
        anchor_canonical = canonical[self.anchor_vertices] - centre  # (M, 3)
        normals = torch.stack([vertex_normals(p, faces) for p in posed])  # (B, V, 3)
        depths = [
            body_depth(s.camera, p, self.config.depth_grid)
            for s, p in zip(squares, posed, strict=True)
        ]
        total = torch.zeros(self.config.anchors, self.config.width, device=device)
        seen_count = torch.zeros(self.config.anchors, 1, device=device)
        for b, square in enumerate(squares):
            a = self.anchor_vertices
            proj = project(
                square.camera, posed[b, a], normals[b, a], depths[b], square.mask.to(device)
            )
            values = torch.cat(
                (
                    sample(features[b], proj.grid),
                    sample(square.rgb.to(device).permute(2, 0, 1), proj.grid),
                    proj.seen[:, None],
                    proj.facing[:, None],
                ),
                dim=-1,
            )
            total = total + proj.seen[:, None] * self.anchor_pixels(values)
            seen_count = seen_count + proj.seen[:, None]
        x = (
            self.anchor_embed
            + self.anchor_position(fourier_features(anchor_canonical, self.config.bands))
            + total / seen_count.clamp_min(1)
            + self.anchor_seen(seen_count / len(squares))
        )

        # 3. Global self-attention and per-photo cross-attention, alternating.
        for self_block, cross_block in zip(self.self_blocks, self.cross_blocks, strict=True):
            x = self_block(x[None])[0]
            x = cross_block(x, tokens)
        x = self.norm(x)

        # 4. The Gaussian decoder.
        binding = template.binding.to(device=device, dtype=torch.float32)
        with torch.no_grad():
            means = deform_gaussians(canonical[None], faces, binding).means[0]  # (N, 3)
            index, weight = anchor_weights(means, anchor_canonical + centre, self.config.neighbours)
            colour, seen = photo_colours(binding, faces, squares, posed, depths)
        gathered = (x[index] * weight[..., None]).sum(1)  # (N, C)
        if base is None:
            base = torch.where(seen[:, None] > 0, colour, binding.sh[:, 0] * SH_C0 + 0.5)
        elif tuple(base.shape) != (binding.count, 3):
            raise ValueError(
                f"base must be (N, 3) = ({binding.count}, 3), got {tuple(base.shape)}."
            )
        base = base.to(device=device, dtype=torch.float32)
        inputs = torch.cat(
            (gathered, fourier_features(means - centre, DECODER_BANDS), base, seen[:, None]), dim=-1
        )
        out = self.decoder(inputs)
        predicted = decode_binding(binding, out, base)
        return Prediction(predicted, index, weight, seen)

    def pose_correction(
        self, prediction: Prediction, rotations: Tensor, expression: Tensor
    ) -> Tensor:
        """(B, N, 3) offsets for :func:`core.deform.deform_gaussians`'s ``correction`` in
        poses (B, J, 3) with expressions (B, E); zero at the canonical pose."""
        anchor_offsets = self.correction(rotations.float(), expression.float())
        return gaussian_offsets(anchor_offsets, prediction.anchor_index, prediction.anchor_weight)


def _camera_inputs(squares: Sequence[ModelView], posed: Tensor) -> Tensor:
    """(B, 6): each camera's viewing direction and its centre relative to the posed body's
    centre, metres (the view embedding's input)."""
    rows = []
    for square, vertices in zip(squares, posed, strict=True):
        w2c = square.camera.world_to_camera.float().to(posed.device)
        direction = w2c[2, :3]  # the camera's +z axis in world coordinates
        position = square.camera.position.float().to(posed.device) - vertices.mean(0)
        rows.append(torch.cat((direction, position)))
    return torch.stack(rows)


def photo_colours(
    binding: GaussianBinding,
    faces: Tensor,
    squares: Sequence[ModelView],
    posed: Tensor,
    depths: Sequence[Tensor],
) -> tuple[Tensor, Tensor]:
    """Each Gaussian's colour in the photos that see it, weighted by facing, (N, 3), and the
    share of the photos that see it (N,)."""
    N = binding.count
    total = posed.new_zeros(N, 3)
    weight = posed.new_zeros(N)
    seen = posed.new_zeros(N)
    for b, square in enumerate(squares):
        vertices = posed[b : b + 1]
        means = deform_gaussians(vertices, faces, binding).means[0]
        normals = triangle_frames(vertices, faces).rotation[0, binding.triangle, :, 2]
        proj = project(square.camera, means, normals, depths[b], square.mask.to(posed.device))
        w = proj.seen * proj.facing.clamp_min(0)
        total = total + w[:, None] * sample(square.rgb.to(posed.device).permute(2, 0, 1), proj.grid)
        weight = weight + w
        seen = seen + proj.seen
    return total / weight.clamp_min(1e-9)[:, None], seen / len(squares)


def predict_avatar(
    net: LcaNet, template: Avatar, views: Sequence[ModelView], base: Tensor | None = None
) -> Avatar:
    """The avatar the network predicts from ``views`` on ``template`` (no gradients; on the
    CPU), named as the template, carrying the network's pose correction (its MLP and the
    Gaussians' anchors); base: as for :meth:`LcaNet.forward`."""
    with torch.no_grad():
        prediction = net(template, views, base)
    binding = GaussianBinding(
        **{
            f.name: getattr(prediction.binding, f.name).detach().cpu()
            for f in dataclasses.fields(GaussianBinding)
        }
    )
    metadata = dict(template.metadata, made_by="lca feedforward", model=net.config.name)
    correction = stored_correction(
        net.correction, prediction.anchor_index, prediction.anchor_weight
    )
    return dataclasses.replace(template, binding=binding, metadata=metadata, correction=correction)


def new_network(config: ModelConfig, body: BodyModel) -> LcaNet:
    """A new (untrained) network for ``body``: anchors on its default-shape canonical mesh."""
    with torch.no_grad():
        canonical = body.forward(body.default_shape(1)).vertices[0].float().cpu()
    return LcaNet.for_body(config, canonical, len(body.bone_names), len(body.expression_names))
