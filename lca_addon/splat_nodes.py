"""The Geometry Nodes group that binds a native splat object to its body mesh (Blender 5.3+).

``LCA Splat Binding v1`` evaluates ``core.deform.deform_gaussians`` per splat on the
evaluated body mesh (Object Info, relative transform), with the triangle frame of
``core.deform.frames`` (docs/conventions.md):

    e1 = v1 - v0, e2 = v2 - v0, c = e1 x e2          (v0, v1, v2: the triangle's corners)
    n = c / (|c| + eps), t = e1 / (|e1| + eps), b = n x t, s = sqrt(|c| + eps)
    position = v0 + b1 e1 + b2 e2 + s (ox t + oy b + oz n)
    rotation = R(t, b, n) * rotation                 (Axes to Rotation: Z = n, X = t)
    scale    = s scale

from the point attributes ``lca_triangle``, ``lca_barycentric`` and ``lca_offset``, and the
point cloud's own ``rotation`` and ``scale``, which hold each Gaussian's values in its
triangle's frame: normalise(``lca_rotation``) and exp(``lca_log_scale``), written with the
binding (splat_object.build_splat_data), so that the group does not recompute them each
frame. It writes ``position``, ``rotation`` and ``scale`` (the evaluated copy's). The
corners are the face's corners in order (Corners of Face, sort index 0..2), which is the
order of the body's triangles. The frame is computed once per face of the body (Capture
Attribute on its faces: v0, e1, e2, R as a rotation, s) and sampled per splat (Sample Index
at ``lca_triangle``), where ``s R offset`` is one Rotate Vector: the body has 27k faces, an
avatar 100k-200k splats.

Guard: where the body mesh is missing or its evaluated vertex or triangle count differs from
the counts the avatar was bound to (the group's inputs), the group outputs no splats rather
than splats on the wrong triangles (``splat_object.native_problem`` says why in one
sentence). The group is built once per file and reused by every avatar; a change to the
maths gets a new version in its name, so a file keeps the group it was made with.
"""

import bpy

GROUP_NAME = "LCA Splat Binding v1"
"""The node group's name; its version changes when its maths does."""
BODY_INPUT, VERTICES_INPUT, TRIANGLES_INPUT = "Body", "Body Vertices", "Body Triangles"
_EPS = 1e-12  # as core.deform.frames


def binding_group() -> bpy.types.GeometryNodeTree:
    """The binding node group of this file, built if it has none."""
    group = bpy.data.node_groups.get(GROUP_NAME)
    if group is None or group.bl_idname != "GeometryNodeTree":
        group = _build(bpy.data.node_groups.new(GROUP_NAME, "GeometryNodeTree"))
    return group


class _Graph:
    """A few helpers to add nodes and links to one node tree."""

    def __init__(self, tree: bpy.types.NodeTree) -> None:
        self.tree = tree

    def node(self, kind: str, inputs: dict | None = None, **settings):
        """A new node of ``kind``; ``inputs`` maps an input's index or name to a socket
        (linked) or a value (set)."""
        node = self.tree.nodes.new(kind)
        for key, value in settings.items():
            setattr(node, key, value)
        for key, value in (inputs or {}).items():
            socket = node.inputs[key]
            if isinstance(value, bpy.types.NodeSocket):
                self.tree.links.new(value, socket)
            else:
                socket.default_value = value
        return node

    def math(self, operation: str, *values):
        return self.node("ShaderNodeMath", dict(enumerate(values)), operation=operation).outputs[0]

    def vec(self, operation: str, *values, scale=None):
        inputs = dict(enumerate(values))
        if scale is not None:
            inputs[3] = scale
        node = self.node("ShaderNodeVectorMath", inputs, operation=operation)
        return node.outputs["Value" if operation in ("LENGTH", "DOT_PRODUCT") else "Vector"]

    def attribute(self, name: str, data_type: str):
        node = self.node("GeometryNodeInputNamedAttribute", {"Name": name}, data_type=data_type)
        return node.outputs["Attribute"]

    def xyz(self, vector):
        return self.node("ShaderNodeSeparateXYZ", {0: vector}).outputs


def _build(group: bpy.types.GeometryNodeTree) -> bpy.types.GeometryNodeTree:
    face = group.interface
    face.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    face.new_socket(BODY_INPUT, in_out="INPUT", socket_type="NodeSocketObject")
    for name in (VERTICES_INPUT, TRIANGLES_INPUT):
        socket = face.new_socket(name, in_out="INPUT", socket_type="NodeSocketInt")
        socket.min_value = 0
    face.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    g = _Graph(group)
    given = g.node("NodeGroupInput").outputs
    info = g.node("GeometryNodeObjectInfo", {"Object": given[BODY_INPUT]})
    info.transform_space = "RELATIVE"
    body = info.outputs["Geometry"]

    # The guard: the body's evaluated counts are the ones the avatar is bound to.
    counts = g.node("GeometryNodeAttributeDomainSize", {0: body}, component="MESH").outputs
    same = [
        g.node(
            "FunctionNodeCompare",
            {0: counts[out], 1: given[want]},
            data_type="INT",
            operation="EQUAL",
        ).outputs[0]
        for out, want in (("Point Count", VERTICES_INPUT), ("Face Count", TRIANGLES_INPUT))
    ]
    bound = g.node("FunctionNodeBooleanMath", {0: same[0], 1: same[1]}, operation="AND")

    # Each face's frame (core.deform.frames), computed once per face of the body and captured:
    # the corners v0, v1, v2 are the face's corners in order.
    corners = []
    for k in range(3):
        corner = g.node("GeometryNodeCornersOfFace", {"Sort Index": k}).outputs["Corner Index"]
        vertex = g.node("GeometryNodeVertexOfCorner", {0: corner}).outputs[0]
        position = g.node("GeometryNodeInputPosition").outputs[0]
        corners.append(
            g.node(
                "GeometryNodeSampleIndex",
                {"Geometry": body, "Value": position, "Index": vertex},
                data_type="FLOAT_VECTOR",
                domain="POINT",
            ).outputs[0]
        )
    e1 = g.vec("SUBTRACT", corners[1], corners[0])
    e2 = g.vec("SUBTRACT", corners[2], corners[0])
    cross = g.vec("CROSS_PRODUCT", e1, e2)
    double_area = g.vec("LENGTH", cross)
    n = g.vec("SCALE", cross, scale=g.math("DIVIDE", 1.0, g.math("ADD", double_area, _EPS)))
    t = g.vec("SCALE", e1, scale=g.math("DIVIDE", 1.0, g.math("ADD", g.vec("LENGTH", e1), _EPS)))
    frame = g.node(
        "FunctionNodeAxesToRotation",
        {"Primary Axis": n, "Secondary Axis": t},
        primary_axis="Z",
        secondary_axis="X",
    ).outputs[0]  # columns (t, n x t, n)
    size = g.math("SQRT", g.math("ADD", double_area, _EPS))
    captured = _capture(
        g,
        body,
        (("v0", "VECTOR", corners[0]), ("e1", "VECTOR", e1), ("e2", "VECTOR", e2)),
        (("frame", "ROTATION", frame), ("s", "FLOAT", size)),
    )

    # Each splat's triangle's values.
    triangle = g.attribute("lca_triangle", "INT")
    kinds = {"v0": "FLOAT_VECTOR", "e1": "FLOAT_VECTOR", "e2": "FLOAT_VECTOR"}
    kinds |= {"frame": "QUATERNION", "s": "FLOAT"}
    at = {
        name: g.node(
            "GeometryNodeSampleIndex",
            {"Geometry": captured.outputs["Geometry"], "Value": captured.outputs[name]},
            data_type=kind,
            domain="FACE",
        )
        for name, kind in kinds.items()
    }
    for node in at.values():
        g.tree.links.new(triangle, node.inputs["Index"])
    at = {name: node.outputs[0] for name, node in at.items()}
    s = at["s"]

    # position = v0 + b1 e1 + b2 e2 + s R offset
    bary = g.xyz(g.attribute("lca_barycentric", "FLOAT_VECTOR"))
    mean = g.vec("MULTIPLY_ADD", at["e1"], _splat(g, bary[1]), at["v0"])
    mean = g.vec("MULTIPLY_ADD", at["e2"], _splat(g, bary[2]), mean)
    offset = g.node(
        "FunctionNodeRotateVector",
        {"Vector": g.attribute("lca_offset", "FLOAT_VECTOR"), "Rotation": at["frame"]},
    ).outputs[0]
    mean = g.vec("MULTIPLY_ADD", offset, _splat(g, s), mean)
    frame = at["frame"]

    # rotation = R(t, b, n) * the stored rotation; scale = s * the stored scale
    local = g.attribute("rotation", "QUATERNION")
    rotation = g.node(
        "FunctionNodeRotateRotation", {0: frame, 1: local}, rotation_space="LOCAL"
    ).outputs[0]
    scale = g.vec("SCALE", g.attribute("scale", "FLOAT_VECTOR"), scale=s)

    moved = g.node("GeometryNodeSetPosition", {"Geometry": given[0], "Position": mean})
    geometry = moved.outputs[0]
    stores = (("rotation", "QUATERNION", rotation), ("scale", "FLOAT_VECTOR", scale))
    for name, data_type, value in stores:
        geometry = g.node(
            "GeometryNodeStoreNamedAttribute",
            {"Geometry": geometry, "Name": name, "Value": value},
            data_type=data_type,
            domain="POINT",
        ).outputs[0]
    # No splats (not splats on the wrong triangles) unless the body is the one bound to.
    chosen = g.node(
        "GeometryNodeSwitch", {"Switch": bound.outputs[0], "True": geometry}, input_type="GEOMETRY"
    )
    g.tree.links.new(chosen.outputs[0], g.node("NodeGroupOutput").inputs[0])
    return group


def _capture(g: _Graph, geometry, *groups):
    """A Capture Attribute node on the FACE domain of ``geometry`` holding each
    (name, socket type, field) of ``groups``."""
    node = g.node("GeometryNodeCaptureAttribute", {"Geometry": geometry}, domain="FACE")
    for group in groups:
        for name, kind, field in group:
            node.capture_items.new(kind, name)
            g.tree.links.new(field, node.inputs[name])
    return node


def _splat(g: _Graph, value):
    """A float as the vector (value, value, value)."""
    return g.node("ShaderNodeCombineXYZ", {0: value, 1: value, 2: value}).outputs[0]
