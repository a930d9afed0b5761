"""Anny, the default body model (Apache-2.0 code, CC0 data inside its wheel).

Default rig: 104 bones with every finger joint; 52 ARKit-named face blendshapes; six
phenotype shape controls in [0, 1]. Metres, Z-up, the body faces -Y. The first construction
builds a cache of ~0.8 GB in ~40 s under ``ANNY_CACHE_DIR`` (``make`` warms it once).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor

from ..errors import BodyModelError
from ..quaternion import axis_angle_to_rotmat
from .model import BodyOutput, ShapeParameter
from .parts import PART_NAMES, anny_bone_part, bone_parts_tensor, vertex_parts_from_weights


def anny_cache_dir() -> Path:
    """Where Anny keeps its built model data (``ANNY_CACHE_DIR`` or ~/.cache/anny)."""
    return Path(os.environ.get("ANNY_CACHE_DIR", Path.home() / ".cache" / "anny"))


def anny_cache_is_warm() -> bool:
    directory = anny_cache_dir()
    return directory.is_dir() and any(directory.iterdir())


class AnnyBody:
    """The Anny body model behind the :class:`core.body.model.BodyModel` contract."""

    name = "anny"
    up_axis = "Z"

    def __init__(self, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        try:
            import anny
        except ImportError as err:
            raise BodyModelError(
                f"The Anny body model is not installed ({err}); run `make demo` or "
                "`pip install anny==0.6.2`."
            ) from None
        self.version = anny.__version__
        self._model = anny.Anny(facial_actions="all", skinning_method="lbs").to(
            device=device, dtype=dtype
        )
        model = self._model
        self.bone_names = tuple(model.bone_labels)
        self.bone_parents = tuple(int(p) for p in model.bone_parents)
        self.expression_names = tuple(model.facial_action_labels)
        self.shape_parameters = tuple(
            ShapeParameter(name, 0.5, 0.0, 1.0) for name in model.phenotype_labels
        )
        self.triangles = model.faces.to(device=device, dtype=torch.int64)
        uv = model.texture_coordinates
        self.uvs = uv[model.face_texture_coordinate_indices.long()].to(dtype)
        self.skinning_weights = model.dense_vertex_bone_weights.to(dtype)
        bone_parts = bone_parts_tensor(self.bone_names, anny_bone_part).to(device)
        self.vertex_parts = vertex_parts_from_weights(self.skinning_weights, bone_parts)
        self.part_names = PART_NAMES

    # -- device and dtype ---------------------------------------------------------------------
    @property
    def dtype(self) -> torch.dtype:
        return self._model.template_vertices.dtype

    @property
    def device(self) -> torch.device:
        return self._model.template_vertices.device

    def default_shape(self, batch: int = 1) -> Tensor:
        values = torch.tensor([p.default for p in self.shape_parameters], dtype=self.dtype)
        return values.to(self.device).expand(batch, -1).clone()

    # -- evaluation -----------------------------------------------------------------------
    def forward(
        self,
        shape: Tensor | None = None,
        pose: Tensor | None = None,
        expression: Tensor | None = None,
        translation: Tensor | None = None,
    ) -> BodyOutput:
        """See BodyModel.forward: shape (B, 6), pose (B, 104, 3), expression (B, 52),
        translation (B, 3)."""
        given = [t for t in (shape, pose, expression, translation) if t is not None]
        batch = max((t.shape[0] for t in given), default=1)
        J, E, S = len(self.bone_names), len(self.expression_names), len(self.shape_parameters)
        shape = self.default_shape(batch) if shape is None else shape
        _check("shape", shape, (batch, S))
        deltas = torch.eye(4, dtype=self.dtype, device=self.device).repeat(batch, J, 1, 1)
        if pose is not None:
            _check("pose", pose, (batch, J, 3))
            deltas[:, :, :3, :3] = axis_angle_to_rotmat(pose.to(self.dtype))
        if translation is not None:
            _check("translation", translation, (batch, 3))
            deltas[:, 0, :3, 3] = translation.to(self.dtype)
        if expression is None:
            expression = torch.zeros(batch, E, dtype=self.dtype, device=self.device)
        _check("expression", expression, (batch, E))
        out = self._model(
            pose_parameters=deltas,
            phenotype_kwargs=shape.to(self.dtype).expand(batch, -1),
            facial_actions=expression.to(self.dtype).expand(batch, -1),
        )
        return BodyOutput(vertices=out["vertices"], bone_transforms=out["bone_poses"])


def _check(name: str, tensor: Tensor, shape: tuple[int, ...]) -> None:
    if tuple(tensor.shape) != shape and not (
        tensor.shape[0] == 1 and tensor.shape[1:] == shape[1:]
    ):
        raise ValueError(f"{name} must be {shape}, got {tuple(tensor.shape)}.")


def anny_uv_regions(uvs: Tensor) -> tuple[tuple[str, ...], Tensor]:
    """Anny's UV-space region labels (eyes, mouth cavity, tongue, ...) for each triangle.

    uvs: (F, 3, 2) triangle-corner texture coordinates.
    Returns the region names and (F,) int64 region index of each triangle's UV centroid,
    read from the label image shipped in the anny wheel.
    """
    import re

    import anny
    import numpy as np
    from PIL import Image

    folder = Path(anny.__file__).parent / "data" / "segmentation"
    text = (folder / "body_parts_segmentation.yaml").read_text(encoding="utf-8")
    colours = {
        name: tuple(int(c) for c in rgb.split(","))
        for name, rgb in re.findall(r"^\s+([\w.]+):\s*\[([\d,\s]+)\]", text, flags=re.M)
    }
    names = tuple(colours)
    image = np.asarray(Image.open(folder / "body_parts_segmentation.png").convert("RGB"))
    height, width = image.shape[:2]
    centre = uvs.detach().float().mean(dim=1).cpu().numpy()
    cols = np.clip((centre[:, 0] * width).astype(np.int64), 0, width - 1)
    rows = np.clip(((1.0 - centre[:, 1]) * height).astype(np.int64), 0, height - 1)
    sampled = image[rows, cols].astype(np.int64)  # (F, 3)
    palette = np.array([colours[n] for n in names], dtype=np.int64)  # (R, 3)
    distance = ((sampled[:, None, :] - palette[None]) ** 2).sum(-1)
    return names, torch.from_numpy(distance.argmin(axis=1))
