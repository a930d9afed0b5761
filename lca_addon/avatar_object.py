"""The avatar object: a mesh of loose points, one per Gaussian, that holds the binding.

The binding is stored in point attributes of the object's mesh, so it is saved in the
.blend (and copied, linked and appended with the object) without the `.lca` file:

    lca_triangle       INT           triangle index into the body mesh
    lca_barycentric    FLOAT_VECTOR  barycentric coordinates
    lca_offset         FLOAT_VECTOR  offset in the triangle frame
    lca_rotation       QUATERNION    wxyz, Gaussian -> triangle frame
    lca_log_scale      FLOAT_VECTOR  log standard deviations in units of the triangle size
    lca_opacity_logit  FLOAT
    lca_sh_0 .. lca_sh_<K-1>  FLOAT_VECTOR  spherical harmonics, one RGB attribute each
    lca_part           INT           body-part index

The points sit at the Gaussians' canonical means (a preview; the splats always follow the
body mesh). The rest of the `.lca` header is in ``Object.lca_avatar`` (properties.py), and
the canonical body mesh is the body object's Basis shape key: :func:`read_avatar` gives the
Avatar back from a scene, bit for bit for Z-up bodies (body-shape values are kept as float32,
the precision the body model evaluates them in).
"""

import bpy
import numpy as np
import torch

from ..core.avatar.avatar import SCHEMA_VERSION, Avatar, BodyIdentity, GaussianBinding
from ..core.avatar.values import avatar_problem
from ..core.errors import LcaError
from ..core.render.sh import SH_COUNTS
from ..core.rig import axes_to_blender

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
_VALUE_KEY = {"FLOAT": "value", "INT": "value", "QUATERNION": "value", "FLOAT_VECTOR": "vector"}


def write_gaussians(mesh: bpy.types.Mesh, binding: GaussianBinding, means: torch.Tensor) -> None:
    """Fill an empty ``mesh`` with one point per Gaussian at ``means`` (N, 3) and the
    binding's attributes."""
    count = binding.count
    mesh.vertices.add(count)
    mesh.vertices.foreach_set("co", _flat(means, np.float32))
    for field, name, kind, _ in ATTRIBUTES:
        _write(mesh, name, kind, getattr(binding, field))
    for k in range(binding.sh.shape[1]):
        _write(mesh, SH_ATTRIBUTE.format(k), "FLOAT_VECTOR", binding.sh[:, k])
    mesh.update()


def read_binding(mesh: bpy.types.Mesh) -> GaussianBinding:
    """The binding stored in ``mesh`` (see the module docstring); LcaError if one is missing."""
    count = len(mesh.vertices)
    values = {
        field: _read(mesh, name, kind, width, count) for field, name, kind, width in ATTRIBUTES
    }
    sh_count = 0
    while mesh.attributes.get(SH_ATTRIBUTE.format(sh_count)) is not None:
        sh_count += 1
    if sh_count not in SH_COUNTS:
        raise LcaError(
            f"The avatar mesh '{mesh.name}' has {sh_count} colour attributes "
            f"(lca_sh_*) instead of 1, 4, 9 or 16; import the avatar again from its .lca file."
        )
    sh = [_read(mesh, SH_ATTRIBUTE.format(k), "FLOAT_VECTOR", 3, count) for k in range(sh_count)]
    return GaussianBinding(
        triangle=torch.from_numpy(values["triangle"].astype(np.int64)),
        barycentric=torch.from_numpy(values["barycentric"]),
        offset=torch.from_numpy(values["offset"]),
        rotation=torch.from_numpy(values["rotation"]),
        log_scale=torch.from_numpy(values["log_scale"]),
        opacity_logit=torch.from_numpy(values["opacity_logit"]),
        sh=torch.from_numpy(np.stack(sh, axis=1)),
        part=torch.from_numpy(values["part"].astype(np.int64)),
    )


def mesh_triangles(mesh: bpy.types.Mesh) -> torch.Tensor:
    """(F, 3) int64 vertex indices of a mesh made of triangles only."""
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
    corners = starts[:, None] + np.arange(3, dtype=np.int32)
    return torch.from_numpy(loops[corners].astype(np.int64))


def basis_vertices(body: bpy.types.Object) -> torch.Tensor:
    """(V, 3) the body mesh's rest coordinates: its Basis shape key, else its vertices."""
    mesh = body.data
    source = mesh.shape_keys.reference_key.data if mesh.shape_keys else mesh.vertices
    co = np.empty(len(mesh.vertices) * 3, np.float32)
    source.foreach_get("co", co)
    return torch.from_numpy(co.reshape(-1, 3))


def write_header(avatar_object: bpy.types.Object, avatar: Avatar, source_path: str) -> None:
    """Store the `.lca` header of ``avatar`` in ``avatar_object.lca_avatar``."""
    props = avatar_object.lca_avatar
    props.is_avatar = True
    props.schema_version = SCHEMA_VERSION
    props.body_model = avatar.body.model
    props.body_model_version = avatar.body.model_version
    props.up_axis = avatar.up_axis
    props.source_path = source_path
    for name, value in avatar.body.shape.items():
        item = props.body_shape.add()
        item.name, item.value = name, float(value)
    for name in avatar.part_names:
        props.part_names.add().name = name
    for key, value in avatar.metadata.items():
        item = props.metadata.add()
        item.name, item.value = key, value


def read_avatar(avatar_object: bpy.types.Object) -> Avatar:
    """The Avatar an avatar object holds (binding, header, canonical body mesh).

    Its values pass the same check as a loaded `.lca` (``core.avatar.values``), else LcaError.
    """
    props = avatar_object.lca_avatar
    body = props.body_mesh
    if not props.is_avatar or body is None or body.type != "MESH":
        raise LcaError(
            f"'{avatar_object.name}' is not an LCA avatar with a body mesh; choose the object "
            "the avatar import created."
        )
    axes = axes_to_blender(props.up_axis)
    avatar = Avatar(
        binding=read_binding(avatar_object.data),
        body=BodyIdentity(
            model=props.body_model,
            model_version=props.body_model_version,
            shape={item.name: item.value for item in props.body_shape},
        ),
        canonical_vertices=basis_vertices(body) @ axes,
        faces=mesh_triangles(body.data),
        part_names=tuple(item.name for item in props.part_names),
        up_axis=props.up_axis,
        metadata={item.name: item.value for item in props.metadata},
    )
    problem = avatar_problem(avatar)  # the check every `.lca` load makes
    if problem is not None:
        raise LcaError(
            f"The avatar '{avatar_object.name}' {problem}; undo the edit or import the avatar "
            "again from its .lca file."
        )
    return avatar


def _flat(values: torch.Tensor, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(values.detach().cpu().numpy(), dtype=dtype).ravel()


def _write(mesh: bpy.types.Mesh, name: str, kind: str, values: torch.Tensor) -> None:
    attribute = mesh.attributes.new(name, kind, "POINT")
    dtype = np.int32 if kind == "INT" else np.float32
    attribute.data.foreach_set(_VALUE_KEY[kind], _flat(values, dtype))


def _read(mesh: bpy.types.Mesh, name: str, kind: str, width: int, count: int) -> np.ndarray:
    attribute = mesh.attributes.get(name)
    if attribute is None or attribute.data_type != kind or attribute.domain != "POINT":
        raise LcaError(
            f"The avatar mesh '{mesh.name}' lacks its '{name}' attribute; import the avatar "
            "again from its .lca file."
        )
    values = np.empty(count * width, np.int32 if kind == "INT" else np.float32)
    attribute.data.foreach_get(_VALUE_KEY[kind], values)
    return values.reshape(count, width) if width > 1 else values
