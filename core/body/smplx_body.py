"""SMPL-X through the `smplx` package, from the user's own licensed model file.

SMPL-X is Y-up, faces +Z, 55 joints (body, jaw, eyes, 15 per hand), 10 shape betas and 10
expression coefficients (not ARKit blendshapes). Its model file cannot be shipped: the user
downloads it under the SMPL-X licence and points at its folder.
"""

from __future__ import annotations

import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..errors import BodyModelError
from .model import BodyOutput, ShapeParameter
from .parts import PART_NAMES, bone_parts_tensor, vertex_parts_from_weights

NUM_BETAS = 10
NUM_EXPRESSIONS = 10


def smplx_model_file(folder: Path | str) -> Path:
    """The SMPLX_NEUTRAL.npz inside ``folder`` (or ``folder/smplx``), or a one-sentence error."""
    folder = Path(folder)
    candidates = [folder, folder / "SMPLX_NEUTRAL.npz", folder / "smplx" / "SMPLX_NEUTRAL.npz"]
    for path in candidates:
        if path.is_file() and path.suffix == ".npz":
            return path
    raise BodyModelError(
        f"No SMPL-X model file in '{folder}'; download SMPLX_NEUTRAL.npz from "
        "smpl-x.is.tue.mpg.de (licence required) and put it at "
        f"'{folder / 'smplx' / 'SMPLX_NEUTRAL.npz'}'."
    )


def _numeric_copy(source: Path, target: Path) -> Path:
    """Copy the numeric arrays of an .npz to ``target``, never unpickling anything.

    smplx opens model files with ``allow_pickle=True``; official files also hold a few
    pickled dictionaries it does not need. Reading with ``allow_pickle=False`` and keeping
    only plain arrays means no code from a file can run.
    """
    arrays = {}
    with np.load(source, allow_pickle=False) as data:
        for key in data.files:
            try:
                arrays[key] = data[key]
            except ValueError:  # an object (pickled) array: skipped, never loaded
                continue
    np.savez(target, **arrays)
    return target


def smplx_bone_part(bone: str) -> str:
    side = "L" if bone.startswith("left_") else "R" if bone.startswith("right_") else ""
    stem = bone.removeprefix("left_").removeprefix("right_")
    table = {
        "hip": f"upper_leg.{side}",
        "knee": f"lower_leg.{side}",
        "ankle": f"foot.{side}",
        "foot": f"foot.{side}",
        "shoulder": f"upper_arm.{side}",
        "elbow": f"lower_arm.{side}",
        "wrist": f"hand.{side}",
        "neck": "neck",
        "head": "head",
        "jaw": "head",
    }
    if stem in table:
        return table[stem]
    if stem.startswith("eye"):
        return "eyes"
    if stem.rstrip("123") in ("index", "middle", "pinky", "ring", "thumb"):
        return f"hand.{side}"
    return "torso"


class SmplxBody:
    """SMPL-X behind the :class:`core.body.model.BodyModel` contract."""

    name = "smplx"
    up_axis = "Y"

    def __init__(self, folder: Path | str, dtype: torch.dtype = torch.float32):
        path = smplx_model_file(folder)
        try:
            import smplx
            from smplx.joint_names import JOINT_NAMES
        except ImportError:
            raise BodyModelError(
                "The SMPL-X body needs the 'smplx' package; install it with "
                "`pip install smplx==0.1.28`."
            ) from None
        try:
            with tempfile.TemporaryDirectory() as folder:
                numeric = _numeric_copy(path, Path(folder) / "SMPLX_NEUTRAL.npz")
                self._model = smplx.SMPLX(
                    str(numeric),
                    num_betas=NUM_BETAS,
                    num_expression_coeffs=NUM_EXPRESSIONS,
                    use_pca=False,
                    flat_hand_mean=True,
                    dtype=dtype,
                )
        except (OSError, KeyError, ValueError, AssertionError, zipfile.BadZipFile) as err:
            raise BodyModelError(
                f"SMPL-X model file '{path}' could not be read ({err}); download a fresh copy."
            ) from None
        self.version = metadata.version("smplx")
        model = self._model
        self.bone_names = tuple(JOINT_NAMES[:55])
        parents = model.parents.tolist()
        self.bone_parents = tuple([-1] + [int(p) for p in parents[1:]])
        self.triangles = model.faces_tensor.to(torch.int64)
        self.skinning_weights = model.lbs_weights.to(dtype)
        bone_parts = bone_parts_tensor(self.bone_names, smplx_bone_part)
        self.vertex_parts = vertex_parts_from_weights(self.skinning_weights, bone_parts)
        self.part_names = PART_NAMES
        self.uvs = None
        self.shape_parameters = tuple(
            ShapeParameter(f"beta{i:02d}", 0.0, -5.0, 5.0) for i in range(NUM_BETAS)
        )
        self.expression_names = tuple(f"expression{i:02d}" for i in range(NUM_EXPRESSIONS))

    def default_shape(self, batch: int = 1) -> Tensor:
        return torch.zeros(batch, NUM_BETAS)

    def forward(
        self,
        shape: Tensor | None = None,
        pose: Tensor | None = None,
        expression: Tensor | None = None,
        translation: Tensor | None = None,
    ) -> BodyOutput:
        """shape (B, 10), pose (B, 55, 3), expression (B, 10), translation (B, 3)."""
        from smplx.lbs import batch_rigid_transform, batch_rodrigues, blend_shapes, vertices2joints

        given = [t for t in (shape, pose, expression, translation) if t is not None]
        batch = max((t.shape[0] for t in given), default=1)
        zeros = torch.zeros
        shape = zeros(batch, NUM_BETAS) if shape is None else shape.expand(batch, -1)
        pose = zeros(batch, 55, 3) if pose is None else pose.expand(batch, -1, -1)
        expression = (
            zeros(batch, NUM_EXPRESSIONS) if expression is None else expression.expand(batch, -1)
        )
        translation = zeros(batch, 3) if translation is None else translation.expand(batch, -1)
        out = self._model(
            betas=shape,
            expression=expression,
            global_orient=pose[:, 0],
            body_pose=pose[:, 1:22].reshape(batch, -1),
            jaw_pose=pose[:, 22],
            leye_pose=pose[:, 23],
            reye_pose=pose[:, 24],
            left_hand_pose=pose[:, 25:40].reshape(batch, -1),
            right_hand_pose=pose[:, 40:55].reshape(batch, -1),
            transl=translation,
        )
        # Bone world transforms from the same kinematic chain smplx uses for skinning.
        model = self._model
        shapedirs = model.shapedirs[..., :NUM_BETAS]
        v_shaped = model.v_template + blend_shapes(shape, shapedirs)
        rest_joints = vertices2joints(model.J_regressor, v_shaped)
        rotations = batch_rodrigues(pose.reshape(-1, 3)).reshape(batch, 55, 3, 3)
        posed_joints, _ = batch_rigid_transform(rotations, rest_joints, model.parents)
        world_rot = _chain_rotations(rotations, self.bone_parents)
        transforms = torch.eye(4).repeat(batch, 55, 1, 1)
        transforms[:, :, :3, :3] = world_rot
        transforms[:, :, :3, 3] = posed_joints + translation[:, None]
        return BodyOutput(vertices=out.vertices, bone_transforms=transforms)


def _chain_rotations(local: Tensor, parents: tuple[int, ...]) -> Tensor:
    """(B, J, 3, 3) local rotations -> world rotations along the kinematic chain."""
    world = [local[:, 0]]
    for j in range(1, local.shape[1]):
        world.append(world[parents[j]] @ local[:, j])
    return torch.stack(world, dim=1)
