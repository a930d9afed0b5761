"""The native avatar (Blender 5.3+): a ``GAUSSIAN_SPLAT`` point cloud that Blender draws and
renders itself (viewport, Cycles, EEVEE), bound to the body mesh by a Geometry Nodes modifier.

The point cloud holds the binding as point attributes (binding_attributes.py: ``lca_*``, and
the colours as Blender's PLY importer keeps them); its modifier runs the node group of
splat_nodes.py, which computes ``position``, ``rotation`` and ``scale`` from the evaluated
body mesh each time Blender evaluates it, with no Python per frame. A saved file therefore
renders with Blender alone (``blender -b shot.blend -a``), the extension not installed.

Nothing here imports torch: the arrays come from ``core.avatar.lca_numpy`` (or are torch
tensors on the CPU, which numpy reads the same way).
"""

import bpy
import numpy as np

from ..core.errors import LcaError
from .binding_attributes import (
    mesh_triangle_array,
    read_binding_arrays,
    write_attribute,
    write_binding,
)
from .pose_correction import PROPERTY as CORRECTION_PROPERTY
from .splat_nodes import BODY_INPUT, TRIANGLES_INPUT, VERTICES_INPUT, binding_group

MODIFIER_NAME = "LCA Splat Binding"
NATIVE_VERSION = (5, 3, 0)


def native_splats_supported() -> bool:
    """Whether this Blender draws Gaussian splats itself (5.3+: ``PointCloud.type``)."""
    types = bpy.types.PointCloud.bl_rna.properties.get("type")
    return (
        bpy.app.version >= NATIVE_VERSION
        and types is not None
        and "GAUSSIAN_SPLAT" in types.enum_items.keys()
    )


def is_native(avatar: bpy.types.Object) -> bool:
    """Whether ``avatar`` is a native splat avatar (else the gpu-drawn mesh of points)."""
    return isinstance(avatar.data, bpy.types.PointCloud)


def build_splat_data(name: str, binding, canonical_vertices, faces) -> bpy.types.PointCloud:
    """A ``GAUSSIAN_SPLAT`` point cloud of ``binding`` (N splats): its points at the
    barycentric points of the canonical mesh, its ``rotation`` and ``scale`` the Gaussians'
    own in their triangles' frames (normalise(rotation), exp(log_scale)), which the
    binding modifier composes with the posed frames (splat_nodes.py).

    canonical_vertices: (V, 3) and faces: (F, 3), in Blender's axes.
    """
    triangle = np.asarray(binding.triangle, dtype=np.int64)
    bary = np.asarray(binding.barycentric, dtype=np.float32)
    corners = np.asarray(canonical_vertices, dtype=np.float32)[np.asarray(faces)[triangle]]
    data = bpy.data.pointclouds.new(name)
    try:
        data.resize(len(triangle))
        data.type = "GAUSSIAN_SPLAT"
        write_attribute(data, "position", "FLOAT_VECTOR", (bary[:, :, None] * corners).sum(1))
        write_binding(data, binding)
        rotation = np.asarray(binding.rotation, dtype=np.float32)
        norm = np.sqrt((rotation * rotation).sum(axis=1, keepdims=True))
        write_attribute(data, "rotation", "QUATERNION", rotation / norm)
        log_scale = np.asarray(binding.log_scale, dtype=np.float32)
        write_attribute(data, "scale", "FLOAT_VECTOR", np.exp(log_scale))
    except BaseException:
        bpy.data.pointclouds.remove(data)
        raise
    return data


def bind_to_body(avatar: bpy.types.Object, body: bpy.types.Object) -> None:
    """Give ``avatar`` the binding modifier (or update it), driven by ``body`` at its current
    vertex and triangle counts."""
    modifier = avatar.modifiers.get(MODIFIER_NAME)
    if modifier is None or modifier.type != "NODES":
        modifier = avatar.modifiers.new(MODIFIER_NAME, "NODES")
    modifier.node_group = binding_group()
    values = {
        BODY_INPUT: body,
        VERTICES_INPUT: len(body.data.vertices),
        TRIANGLES_INPUT: len(body.data.polygons),
    }
    for item in modifier.node_group.interface.items_tree:
        if getattr(item, "in_out", None) == "INPUT" and item.name in values:
            _input(modifier, item.identifier).value = values[item.name]
    avatar.lca_avatar.body_vertex_count = len(body.data.vertices)
    avatar.update_tag()


def modifier_inputs(avatar: bpy.types.Object) -> dict | None:
    """The binding modifier's inputs by name (Body, Body Vertices, Body Triangles), or None
    where the avatar has no binding modifier."""
    modifier = avatar.modifiers.get(MODIFIER_NAME)
    if modifier is None or modifier.type != "NODES" or modifier.node_group is None:
        return None
    return {
        item.name: _input(modifier, item.identifier).value
        for item in modifier.node_group.interface.items_tree
        if getattr(item, "in_out", None) == "INPUT" and item.socket_type != "NodeSocketGeometry"
    }


def _input(modifier: bpy.types.NodesModifier, identifier: str):
    """A Geometry Nodes modifier's input value holder (5.3: ``properties.inputs``)."""
    return getattr(modifier.properties.inputs, identifier)


def native_problem(avatar: bpy.types.Object, depsgraph: bpy.types.Depsgraph) -> str | None:
    """Why the native avatar shows no splats, in one sentence, or None when it shows them:
    the same conditions as the node group's guard (splat_nodes.py)."""
    inputs = modifier_inputs(avatar)
    if inputs is None:
        return (
            f"The avatar '{avatar.name}' has lost its '{MODIFIER_NAME}' modifier; undo, or "
            "import the avatar again."
        )
    body = inputs.get(BODY_INPUT)
    if body is None or body.type != "MESH":
        return (
            f"The avatar '{avatar.name}' has lost its body mesh, so it shows no splats; undo, "
            "or import the avatar again."
        )
    evaluated = body.evaluated_get(depsgraph).data
    counts = (len(evaluated.vertices), len(evaluated.polygons))
    bound = (inputs.get(VERTICES_INPUT), inputs.get(TRIANGLES_INPUT))
    if counts != bound:
        return (
            f"The body mesh '{body.name}' has {counts[0]} vertices and {counts[1]} faces "
            f"after its modifiers, but the avatar '{avatar.name}' is bound to {bound[0]} and "
            f"{bound[1]}, so it shows no splats; undo the edit or remove the modifier that "
            "changes its topology."
        )
    return None


def convert_to_native(avatar: bpy.types.Object) -> bpy.types.Object:
    """A native splat avatar in place of the gpu-drawn ``avatar`` (a mesh of points made by
    an earlier version or on Blender 4.2-5.2): same name, collections, parent and header;
    the old object and its mesh are removed. LcaError (nothing changed) when the avatar has
    lost its body mesh or its binding."""
    props = avatar.lca_avatar
    body = props.body_mesh
    if body is None or body.type != "MESH":
        raise LcaError(
            f"The avatar '{avatar.name}' has lost its body mesh; import the avatar again."
        )
    binding = read_binding_arrays(avatar.data)
    faces = mesh_triangle_array(body.data)
    if binding.count and int(binding.triangle.max()) >= len(faces):
        raise LcaError(
            f"The body mesh '{body.name}' has {len(faces)} triangles, fewer than the avatar "
            f"'{avatar.name}' is bound to; undo the edit or import the avatar again."
        )
    name, mesh = avatar.name, avatar.data
    data = build_splat_data(f"{name}_splats", binding, _basis(body), faces)
    native = bpy.data.objects.new(f"{name}.native", data)
    for collection in avatar.users_collection:
        collection.objects.link(native)
    native.parent, native.matrix_parent_inverse = avatar.parent, avatar.matrix_parent_inverse
    native.matrix_basis = avatar.matrix_basis
    _copy_group(props, native.lca_avatar)
    if CORRECTION_PROPERTY in mesh:  # the pose correction travels with the binding
        data[CORRECTION_PROPERTY] = mesh[CORRECTION_PROPERTY]
    bind_to_body(native, body)
    bpy.data.objects.remove(avatar)
    if mesh.users == 0:
        bpy.data.meshes.remove(mesh)
    native.name = name
    return native


def _basis(body: bpy.types.Object) -> np.ndarray:
    """(V, 3) rest coordinates: the Basis shape key, else the vertices."""
    mesh = body.data
    source = mesh.shape_keys.reference_key.data if mesh.shape_keys else mesh.vertices
    co = np.empty(len(mesh.vertices) * 3, np.float32)
    source.foreach_get("co", co)
    return co.reshape(-1, 3)


def _copy_group(source, target) -> None:
    """Copy a property group's values, collections item by item, into ``target``."""
    for prop in source.bl_rna.properties:
        key = prop.identifier
        if key in ("rna_type", "name") or prop.is_readonly and prop.type != "COLLECTION":
            continue
        if prop.type == "COLLECTION":
            items = getattr(target, key)
            items.clear()
            for item in getattr(source, key):
                _copy_group(item, items.add())
                items[-1].name = item.name
        else:
            setattr(target, key, getattr(source, key))
