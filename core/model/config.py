"""The network's sizes: one frozen :class:`ModelConfig`, named sizes tiny, small, base, large.

Letters: C width (channels), M anchors, P patches per photo, N Gaussians.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import LcaError


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of :class:`core.model.network.LcaNet`.

    name: the size's name; width: channels C of every token; depth: alternating pairs of
        global self-attention over anchors and cross-attention from anchors to each photo;
    encoder_depth: self-attention blocks of the per-photo patch encoder; heads: attention
        heads (width must divide by it); mlp_ratio: hidden width of each block's MLP / C;
    patch: the patch edge in pixels; image: the square photo crop's edge in pixels (a multiple
        of patch); anchors: M template anchor points on the canonical body; neighbours: anchors
        each Gaussian takes features from; bands: Fourier frequencies per axis of a canonical
        position; decoder_hidden: hidden width of the per-Gaussian decoder; correction_hidden:
        hidden width of the pose and expression correction MLP; depth_grid: cells per side
        of the body's depth buffer that decides visibility; gaussians: Gaussians of the
        template that ``lca create`` seeds for this size.
    """

    name: str
    width: int
    depth: int
    encoder_depth: int
    heads: int
    mlp_ratio: float
    patch: int
    image: int
    anchors: int
    neighbours: int
    bands: int
    decoder_hidden: int
    correction_hidden: int
    depth_grid: int
    gaussians: int

    def __post_init__(self) -> None:
        if self.width % self.heads:
            raise ValueError(f"width {self.width} must divide by heads {self.heads}.")
        if self.image % self.patch:
            raise ValueError(f"image {self.image} must be a multiple of patch {self.patch}.")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name != "name" and not value > 0:
                raise ValueError(f"ModelConfig.{f.name} must be positive, got {value}.")

    @property
    def grid(self) -> int:
        """Patches per side of a photo crop."""
        return self.image // self.patch

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ModelConfig:
        """The config written by :meth:`to_dict`; unknown or missing keys raise LcaError."""
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or set(data) != names:
            raise LcaError(
                "The model config does not have the fields of this version of the code; use "
                "a checkpoint made by it."
            )
        return cls(**data)


SIZES = {
    "tiny": ModelConfig(
        name="tiny",
        width=96,
        depth=2,
        encoder_depth=2,
        heads=3,
        mlp_ratio=2.0,
        patch=8,
        image=64,
        anchors=256,
        neighbours=4,
        bands=6,
        decoder_hidden=64,
        correction_hidden=64,
        depth_grid=48,
        gaussians=20_000,
    ),
    "small": ModelConfig(
        name="small",
        width=384,
        depth=6,
        encoder_depth=6,
        heads=6,
        mlp_ratio=4.0,
        patch=16,
        image=256,
        anchors=1024,
        neighbours=4,
        bands=8,
        decoder_hidden=128,
        correction_hidden=256,
        depth_grid=128,
        gaussians=50_000,
    ),
    "base": ModelConfig(
        name="base",
        width=768,
        depth=8,
        encoder_depth=12,
        heads=12,
        mlp_ratio=4.0,
        patch=16,
        image=384,
        anchors=2048,
        neighbours=6,
        bands=10,
        decoder_hidden=256,
        correction_hidden=512,
        depth_grid=192,
        gaussians=120_000,
    ),
    "large": ModelConfig(
        name="large",
        width=1024,
        depth=12,
        encoder_depth=24,
        heads=16,
        mlp_ratio=4.0,
        patch=16,
        image=512,
        anchors=4096,
        neighbours=8,
        bands=10,
        decoder_hidden=256,
        correction_hidden=512,
        depth_grid=256,
        gaussians=200_000,
    ),
}
"""The named sizes (after dinov2's vit_small / vit_base / vit_large)."""


def model_config(name: str) -> ModelConfig:
    """The named size; an unknown name raises LcaError."""
    if name not in SIZES:
        raise LcaError(f"Unknown model size '{name}'; choose {', '.join(SIZES)}.")
    return SIZES[name]
