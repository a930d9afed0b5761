"""The binding as point attributes, read and written with numpy alone (no torch).

Two holders keep the same ``lca_*`` attributes (the table ``ATTRIBUTES``):

- the gpu-drawn avatar object (Blender 4.2-5.2, and files made there): a mesh of loose
  points, with the spherical harmonics in ``lca_sh_0`` .. ``lca_sh_<K-1>``;
- the native splat object (Blender 5.3+): a ``GAUSSIAN_SPLAT`` point cloud, with the
  spherical harmonics where Blender's PLY importer puts them (docs/blender.md):
  ``radiance:base`` = (DC red, green, blue, sigmoid(opacity logit)) and ``radiance:sh_j`` =
  the RGB of coefficient j + 1; the opacity logit stays in ``lca_opacity_logit`` as well, so
  the binding reads back bit for bit.
"""

import bpy
import numpy as np

from ..core.avatar.lca_numpy import BindingArrays
from ..core.errors import LcaError

ATTRIBUTES = (
    ("triangle", "lca_triangle", "INT", 1),
    ("barycentric", "lca_barycentric", "FLOAT_VECTOR", 3),
    ("offset", "lca_offset", "FLOAT_VECTOR", 3),
    ("rotation", "lca_rotation", "QUATERNION", 4),
    ("log_scale", "lca_log_scale", "FLOAT_VECTOR", 3),
    ("opacity_logit", "lca_opacity_logit", "FLOAT", 1),
    ("part", "lca_part", "INT", 1),
)
"""(binding field, attribute name, attribute type, values per point)."""

SH_ATTRIBUTE = "lca_sh_{}"
"""The mesh holder's SH attributes, one RGB attribute per coefficient."""
SPLAT_BASE, SPLAT_SH = "radiance:base", "radiance:sh_{}"
"""The point cloud's colour attributes, as Blender's PLY importer names them."""
SH_COUNTS = (1, 4, 9, 16)
_VALUE_KEY = {
    "FLOAT": "value",
    "INT": "value",
    "QUATERNION": "value",
    "FLOAT_VECTOR": "vector",
    "FLOAT4": "vector",
}


def point_count(data: bpy.types.ID) -> int:
    """Points of a mesh or a point cloud."""
    return len(data.points) if isinstance(data, bpy.types.PointCloud) else len(data.vertices)


def write_attribute(data: bpy.types.ID, name: str, kind: str, values) -> None:
    """A new point attribute ``name`` of type ``kind`` on ``data``, set to ``values``."""
    attribute = data.attributes.get(name) or data.attributes.new(name, kind, "POINT")
    dtype = np.int32 if kind == "INT" else np.float32
    flat = np.ascontiguousarray(np.asarray(values), dtype=dtype).ravel()
    attribute.data.foreach_set(_VALUE_KEY[kind], flat)


def read_attribute(data: bpy.types.ID, name: str, kind: str, width: int) -> np.ndarray:
    """(P, width) (or (P,)) values of point attribute ``name``; LcaError if it is missing."""
    attribute = data.attributes.get(name)
    if attribute is None or attribute.data_type != kind or attribute.domain != "POINT":
        raise LcaError(
            f"The avatar data '{data.name}' lacks its '{name}' attribute; import the avatar "
            "again from its .lca file."
        )
    count = point_count(data)
    values = np.empty(count * width, np.int32 if kind == "INT" else np.float32)
    attribute.data.foreach_get(_VALUE_KEY[kind], values)
    return values.reshape(count, width) if width > 1 else values


def write_binding(data: bpy.types.ID, binding) -> None:
    """The ``lca_*`` attributes of ``binding`` (BindingArrays, or a GaussianBinding of CPU
    tensors) on ``data``, whose points exist already, and its colours as the holder keeps
    them (the module docstring)."""
    for field, name, kind, _ in ATTRIBUTES:
        write_attribute(data, name, kind, getattr(binding, field))
    sh = np.asarray(binding.sh, dtype=np.float32)
    if not isinstance(data, bpy.types.PointCloud):
        for k in range(sh.shape[1]):
            write_attribute(data, SH_ATTRIBUTE.format(k), "FLOAT_VECTOR", sh[:, k])
        return
    logit = np.asarray(binding.opacity_logit, dtype=np.float32)
    opacity = 1.0 / (1.0 + np.exp(-logit.astype(np.float64)))
    write_attribute(data, SPLAT_BASE, "FLOAT4", np.column_stack((sh[:, 0], opacity)))
    for k in range(1, sh.shape[1]):
        write_attribute(data, SPLAT_SH.format(k - 1), "FLOAT_VECTOR", sh[:, k])


def read_binding_arrays(data: bpy.types.ID) -> BindingArrays:
    """The binding ``data`` holds (a mesh or a point cloud: the module docstring); LcaError
    (one sentence) when an attribute is missing or the SH count is not 1, 4, 9 or 16."""
    values = {
        field: read_attribute(data, name, kind, width) for field, name, kind, width in ATTRIBUTES
    }
    if isinstance(data, bpy.types.PointCloud):
        names = [SPLAT_BASE]
        while data.attributes.get(SPLAT_SH.format(len(names) - 1)) is not None:
            names.append(SPLAT_SH.format(len(names) - 1))
        sh = [read_attribute(data, SPLAT_BASE, "FLOAT4", 4)[:, :3]]
        sh += [read_attribute(data, name, "FLOAT_VECTOR", 3) for name in names[1:]]
    else:
        names = []
        while data.attributes.get(SH_ATTRIBUTE.format(len(names))) is not None:
            names.append(SH_ATTRIBUTE.format(len(names)))
        sh = [read_attribute(data, name, "FLOAT_VECTOR", 3) for name in names]
    if len(sh) not in SH_COUNTS:
        raise LcaError(
            f"The avatar data '{data.name}' has {len(sh)} colour attributes instead of 1, 4, "
            "9 or 16; import the avatar again from its .lca file."
        )
    return BindingArrays(
        triangle=values["triangle"].astype(np.int64),
        barycentric=values["barycentric"],
        offset=values["offset"],
        rotation=values["rotation"],
        log_scale=values["log_scale"],
        opacity_logit=values["opacity_logit"],
        sh=np.ascontiguousarray(np.stack(sh, axis=1)),
        part=values["part"].astype(np.int64),
    )


def mesh_triangle_array(mesh: bpy.types.Mesh) -> np.ndarray:
    """(F, 3) int64 vertex indices of a mesh made of triangles only; LcaError otherwise."""
    count = len(mesh.polygons)
    totals = np.empty(count, np.int32)
    mesh.polygons.foreach_get("loop_total", totals)
    if count == 0 or (totals != 3).any():
        raise LcaError(
            f"The body mesh '{mesh.name}' is no longer made of triangles only; undo the edit "
            "or import the avatar again."
        )
    starts = np.empty(count, np.int32)
    mesh.polygons.foreach_get("loop_start", starts)
    loops = np.empty(len(mesh.loops), np.int32)
    mesh.loops.foreach_get("vertex_index", loops)
    return loops[starts[:, None] + np.arange(3, dtype=np.int32)].astype(np.int64)
