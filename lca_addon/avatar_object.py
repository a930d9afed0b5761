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

On Blender 5.3+ the avatar is a native ``GAUSSIAN_SPLAT`` point cloud with the same ``lca_*``
attributes instead (splat_object.py; binding_attributes.py reads and writes both).

The points sit at the Gaussians' canonical means (a preview; the splats always follow the
body mesh). The rest of the `.lca` header is in ``Object.lca_avatar`` (properties.py), and
the canonical body mesh is the body object's Basis shape key: :func:`read_avatar` gives the
Avatar back from a scene, bit for bit for Z-up bodies (body-shape values are kept as float32,
the precision the body model evaluates them in).
"""

import bpy
import numpy as np
import torch

from ..core.avatar.avatar import (
    BINDING_FIELDS,
    Avatar,
    BodyIdentity,
    GaussianBinding,
)
from ..core.avatar.values import avatar_problem
from ..core.errors import LcaError
from ..core.rig import axes_to_blender
from .binding_attributes import mesh_triangle_array, read_binding_arrays, write_binding
from .properties import write_header as write_header


def write_gaussians(mesh: bpy.types.Mesh, binding: GaussianBinding, means: torch.Tensor) -> None:
    """Fill an empty ``mesh`` with one point per Gaussian at ``means`` (N, 3) and the
    binding's attributes."""
    mesh.vertices.add(binding.count)
    mesh.vertices.foreach_set("co", _flat(means, np.float32))
    write_binding(mesh, binding)
    mesh.update()


def read_binding(data: bpy.types.ID) -> GaussianBinding:
    """The binding stored in ``data`` (the avatar object's mesh, or a native splat point
    cloud; see binding_attributes.py); LcaError if an attribute is missing."""
    arrays = read_binding_arrays(data)
    return GaussianBinding(
        **{name: torch.from_numpy(getattr(arrays, name)) for name in BINDING_FIELDS}
    )


def mesh_triangles(mesh: bpy.types.Mesh) -> torch.Tensor:
    """(F, 3) int64 vertex indices of a mesh made of triangles only."""
    return torch.from_numpy(mesh_triangle_array(mesh))


def basis_vertices(body: bpy.types.Object) -> torch.Tensor:
    """(V, 3) the body mesh's rest coordinates: its Basis shape key, else its vertices."""
    mesh = body.data
    source = mesh.shape_keys.reference_key.data if mesh.shape_keys else mesh.vertices
    co = np.empty(len(mesh.vertices) * 3, np.float32)
    source.foreach_get("co", co)
    return torch.from_numpy(co.reshape(-1, 3))


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
