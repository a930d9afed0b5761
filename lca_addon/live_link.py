"""The live link: the depsgraph-evaluated body mesh drives the Gaussians (DESIGN.md section 3).

Whatever Blender does to the body mesh (the Armature modifier, shape keys, drivers, any other
deformer that keeps its vertices) reaches the avatar through one path: the evaluated vertices,
in world space, go through ``core.deform.deform_gaussians``, the same code the ``lca`` command
runs on the body model's vertices. An avatar that carries the network's pose correction gets
it added there too, evaluated from the armature's pose and the expression shape keys
(pose_correction.py, through ``core.posing.pose_correction`` as ``lca render`` does).
"""

import bpy
import numpy as np
import torch

from ..core.avatar.avatar import GaussianBinding
from ..core.deform.binding import WorldGaussians, deform_gaussians
from ..core.errors import LcaError
from .avatar_object import mesh_triangles, read_binding
from .binding_attributes import point_count


def evaluated_vertices(body: bpy.types.Object, depsgraph: bpy.types.Depsgraph) -> np.ndarray:
    """(V, 3) float32 world-space vertices of ``body`` as ``depsgraph`` evaluates it."""
    evaluated = body.evaluated_get(depsgraph)
    if not evaluated.is_evaluated:  # not in this depsgraph: its pose would be missing
        raise LcaError(
            f"The body mesh '{body.name}' is not evaluated here (hidden or disabled for this "
            "render or view); enable it in Object Properties > Visibility so the avatar can "
            "follow it."
        )
    mesh = evaluated.data
    count, expected = len(mesh.vertices), len(body.data.vertices)
    if count != expected:
        raise LcaError(
            f"The body mesh '{body.name}' has {count} vertices after its modifiers instead of "
            f"{expected}; remove modifiers that change its topology (such as Subdivision) so "
            "the avatar can follow it."
        )
    co = np.empty(count * 3, np.float32)
    mesh.vertices.foreach_get("co", co)
    matrix = np.array(evaluated.matrix_world, dtype=np.float32)
    return co.reshape(count, 3) @ matrix[:3, :3].T + matrix[:3, 3]


def avatar_binding(avatar: bpy.types.Object) -> tuple[GaussianBinding, torch.Tensor]:
    """The avatar's binding and its body mesh's (F, 3) triangles, read from the file.

    Raises LcaError (one sentence) when the avatar has lost its body mesh or its binding, or
    when the body mesh no longer has the vertices and triangles the avatar is bound to.
    """
    props = avatar.lca_avatar
    body = props.body_mesh
    if body is None or body.type != "MESH":
        raise LcaError(
            f"The avatar '{avatar.name}' has lost its body mesh; import the avatar again."
        )
    expected = props.body_vertex_count
    if expected and len(body.data.vertices) != expected:
        raise LcaError(
            f"The body mesh '{body.name}' has {len(body.data.vertices)} vertices but the "
            f"avatar '{avatar.name}' is bound to {expected}; undo the edit or import the "
            "avatar again."
        )
    binding = read_binding(avatar.data)
    faces = mesh_triangles(body.data)
    if binding.count and int(binding.triangle.max()) >= faces.shape[0]:
        raise LcaError(
            f"The body mesh '{body.name}' has {faces.shape[0]} triangles, fewer than the "
            f"avatar '{avatar.name}' is bound to; undo the edit or import the avatar again."
        )
    return binding, faces


def binding_key(avatar: bpy.types.Object) -> tuple:
    """What :func:`avatar_binding` reads: while this key stays the same, a binding read
    earlier still holds (the viewport reads it once, not on every frame)."""
    body = avatar.lca_avatar.body_mesh
    mesh = avatar.data
    body_key = (None,) if body is None or body.type != "MESH" else (
        body.data.as_pointer(),
        len(body.data.vertices),
        len(body.data.polygons),
        len(body.data.loops),
    )  # fmt: skip
    return (
        mesh.as_pointer(),
        point_count(mesh),
        tuple((a.name, a.data_type, a.domain) for a in mesh.attributes),
        avatar.lca_avatar.body_vertex_count,
        *body_key,
    )


def deform_avatar(
    binding: GaussianBinding,
    faces: torch.Tensor,
    vertices: np.ndarray,
    correction: torch.Tensor | None = None,
) -> WorldGaussians:
    """World-space Gaussians (batch 1) of ``binding`` on the evaluated body ``vertices``
    (V, 3) (from :func:`evaluated_vertices`), through ``core.deform``; ``correction``: the
    avatar's pose correction (1, N, 3) (:func:`correction_for`), or None."""
    with torch.no_grad():
        return deform_gaussians(torch.from_numpy(vertices)[None], faces, binding, correction)


def correction_for(
    avatar: bpy.types.Object,
    depsgraph: bpy.types.Depsgraph,
    binding: GaussianBinding,
    stored=None,
) -> torch.Tensor | None:
    """(1, N, 3) the avatar's pose correction in its rig's evaluated pose, or None where it
    carries none (``pose_correction.avatar_correction``; ``stored``: its
    ``read_correction``, read here if None). LcaError when its Gaussians were edited."""
    from .pose_correction import avatar_correction

    correction = avatar_correction(avatar, depsgraph, stored)
    if correction is not None and correction.shape[1] != binding.count:
        raise LcaError(
            f"The avatar '{avatar.name}' has {binding.count} Gaussians but its pose correction "
            f"{correction.shape[1]}; undo the edit or import the avatar again."
        )
    return correction


def avatar_gaussians(avatar: bpy.types.Object, depsgraph: bpy.types.Depsgraph) -> WorldGaussians:
    """World-space Gaussians (batch 1) of an avatar object on its evaluated body mesh.

    Raises LcaError (one sentence) as :func:`avatar_binding` and :func:`evaluated_vertices`.
    """
    binding, faces = avatar_binding(avatar)
    vertices = evaluated_vertices(avatar.lca_avatar.body_mesh, depsgraph)
    return deform_avatar(binding, faces, vertices, correction_for(avatar, depsgraph, binding))
