"""Shards: one synthetic subject per safetensors file (format in docs/data.md).

Tensors: images (K, S, S, 3) uint8 sRGB; masks (K, S, S) uint8 alpha; K (K, 3, 3) and
world_to_camera (K, 4, 4) float32 OpenCV cameras; the true body: shape (S,), rotations
(J, 3), expression (E,), translation (3,) and its posed vertices (V, 3). Header JSON: the
subject's seed, its spec (core.train.data.subjects) and the view names. The subject's true
avatar lies beside it as ``<name>.lca``.

Reading checks everything and refuses a broken shard in one sentence naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ...errors import PATH_LIMIT, LcaError, quoted
from ...model.inputs import ModelView
from ...model.tensor_file import read_tensor_file, write_tensor_file
from ...render.types import Camera

SHARD_SCHEMA = 1
KIND = "lca-shard"


@dataclass(frozen=True)
class Shard:
    """One subject photographed K times (module docstring for the shapes)."""

    seed: int
    spec: dict
    images: Tensor
    masks: Tensor
    K: Tensor
    world_to_camera: Tensor
    view_names: tuple[str, ...]
    shape: Tensor
    rotations: Tensor
    expression: Tensor
    translation: Tensor
    vertices: Tensor

    @property
    def count(self) -> int:
        return int(self.images.shape[0])

    def camera(self, k: int) -> Camera:
        side = int(self.images.shape[1])
        return Camera(
            K=self.K[k],
            world_to_camera=self.world_to_camera[k],
            width=int(self.images.shape[2]),
            height=side,
        )

    def view(
        self, k: int, vertices: Tensor | None = None, camera: Camera | None = None
    ) -> ModelView:
        """View k as the network sees it, with the true body and camera unless given."""
        return ModelView(
            rgb=self.images[k].float() / 255.0,
            mask=self.masks[k].float() / 255.0,
            camera=self.camera(k) if camera is None else camera,
            vertices=self.vertices if vertices is None else vertices,
        )


_TENSORS = (
    "images",
    "masks",
    "K",
    "world_to_camera",
    "shape",
    "rotations",
    "expression",
    "translation",
    "vertices",
)


def write_shard(path: Path, shard: Shard) -> None:
    header = {
        "kind": KIND,
        "schema": SHARD_SCHEMA,
        "seed": shard.seed,
        "spec": shard.spec,
        "view_names": list(shard.view_names),
    }
    write_tensor_file(path, {name: getattr(shard, name) for name in _TENSORS}, header)


def read_shard(path: Path) -> Shard:
    """The shard in ``path``; a missing, corrupt or inconsistent one raises LcaError."""
    shown = f"Shard {quoted(path, PATH_LIMIT)}"
    tensors, header = read_tensor_file(path, "Shard")
    if header.get("kind") != KIND or header.get("schema") != SHARD_SCHEMA:
        raise LcaError(
            f"{shown} is not a version-{SHARD_SCHEMA} shard of `lca data synth`; make it again."
        )
    missing = [n for n in _TENSORS if n not in tensors]
    if missing:
        raise LcaError(f"{shown} lacks '{missing[0]}'; make it again with `lca data synth`.")
    images, masks = tensors["images"], tensors["masks"]
    count = images.shape[0] if images.ndim == 4 else 0
    if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[-1] != 3 or count == 0:
        raise LcaError(
            f"{shown} has a broken image array (need K x S x S x 3 bytes); make it again."
        )
    if masks.dtype != torch.uint8 or tuple(masks.shape) != tuple(images.shape[:3]):
        raise LcaError(f"{shown} has masks that do not match its images; make it again.")
    if tuple(tensors["K"].shape) != (count, 3, 3) or tuple(tensors["world_to_camera"].shape) != (
        count,
        4,
        4,
    ):
        raise LcaError(f"{shown} does not have one camera per image; make it again.")
    for name in ("K", "world_to_camera", "vertices", "shape", "rotations"):
        if not bool(tensors[name].isfinite().all()):
            raise LcaError(f"{shown} has non-finite values in '{name}'; make it again.")
    names = header.get("view_names")
    if not isinstance(names, list) or len(names) != count:
        raise LcaError(f"{shown} does not name each of its {count} views; make it again.")
    shard = Shard(
        seed=int(header.get("seed", -1)),
        spec=header.get("spec") or {},
        view_names=tuple(names),
        **{n: tensors[n] for n in _TENSORS},
    )
    for k in range(count):
        try:
            shard.camera(k)
        except ValueError as err:
            raise LcaError(
                f"{shown} has a broken camera for view {k} ({str(err).rstrip('.')})."
            ) from None
    return shard


def list_shards(folder: Path | str) -> list[Path]:
    """The shard files of ``folder``, sorted; an absent folder or one without shards raises
    LcaError."""
    folder = Path(folder)
    shown = f"Data folder {quoted(folder, PATH_LIMIT)}"
    if not folder.is_dir():
        raise LcaError(f"{shown} does not exist; make one with `lca data synth --out {folder}`.")
    paths = sorted(folder.glob("*.safetensors"))
    if not paths:
        raise LcaError(f"{shown} holds no shards (*.safetensors); make them with `lca data synth`.")
    return paths
