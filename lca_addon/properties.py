"""Properties stored on objects: the avatar's identity and links (``Object.lca_avatar``).

The avatar object (a mesh of loose points, one per Gaussian) keeps its binding in point
attributes (see ``avatar_object.py``) and everything else of the `.lca` header here, so a
saved .blend holds the whole avatar without the `.lca` file. Blender stores these as ID
properties: they survive save and reload, even while the extension is disabled.
"""

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from ..core.avatar.lca_header import SCHEMA_VERSION


class LcaFloatItem(bpy.types.PropertyGroup):
    """A named number (``name`` is built in): one body-shape parameter."""

    value: FloatProperty(name="Value")


class LcaTextItem(bpy.types.PropertyGroup):
    """A named text (``name`` is built in): a body-part name, or one metadata entry."""

    value: StringProperty(name="Value")


class LcaShapeKeyTarget(bpy.types.PropertyGroup):
    """A body-shape key (``name`` is the key's): at value 1, ``parameter`` goes from
    ``value_from`` (the avatar's) to ``value_to``, exactly at the rest pose."""

    parameter: StringProperty(name="Parameter")
    value_from: FloatProperty(name="From")
    value_to: FloatProperty(name="To")


class LcaAvatarProperties(bpy.types.PropertyGroup):
    """The `.lca` header of an avatar object, and the armature and body mesh that drive it."""

    is_avatar: BoolProperty(name="Is Avatar", default=False)
    schema_version: IntProperty(name="Schema Version")
    body_model: StringProperty(name="Body Model")
    body_model_version: StringProperty(name="Body Model Version")
    body_shape: CollectionProperty(type=LcaFloatItem, name="Body Shape")
    up_axis: StringProperty(name="Up Axis", default="Z")
    part_names: CollectionProperty(type=LcaTextItem, name="Body Parts")
    metadata: CollectionProperty(type=LcaTextItem, name="Metadata")
    shape_keys: CollectionProperty(type=LcaShapeKeyTarget, name="Body-Shape Keys")
    armature: PointerProperty(type=bpy.types.Object, name="Armature")
    body_mesh: PointerProperty(type=bpy.types.Object, name="Body Mesh")
    body_vertex_count: IntProperty(
        name="Body Vertex Count",
        description="Vertices of the body mesh the avatar is bound to (0: not checked)",
    )
    source_path: StringProperty(name="Source File", subtype="FILE_PATH")
    show_splats: BoolProperty(
        name="Show Splats",
        description="Draw this avatar's Gaussians in the 3D Viewport",
        default=True,
        update=lambda self, context: _redraw_3d_views(context),
    )

    @property
    def gpu_drawn(self) -> bool:
        """Whether the extension draws these splats in the viewport: shown, and held by a mesh
        of points (Blender draws a native splat point cloud itself, splat_object.py)."""
        return self.is_avatar and self.show_splats and self.id_data.type == "MESH"


def _redraw_3d_views(context) -> None:
    """Redraw the 3D Viewports (after a display setting changed)."""
    screen = getattr(context, "screen", None)
    for area in screen.areas if screen is not None else ():
        if area.type == "VIEW_3D":
            area.tag_redraw()


OBJECT_PROPERTIES = (("lca_avatar", LcaAvatarProperties),)
"""(attribute on bpy.types.Object, property group) pairs that registration adds."""


def find_avatar(scene: bpy.types.Scene, active: bpy.types.Object | None):
    """The avatar object ``active`` is, or whose armature or body mesh it is; else None."""
    if active is None:
        return None
    if active.lca_avatar.is_avatar:
        return active
    for obj in scene.objects:
        props = obj.lca_avatar
        if props.is_avatar and active in (props.armature, props.body_mesh):
            return obj
    return None


def write_header(avatar_object: bpy.types.Object, avatar, source_path: str) -> None:
    """Store the `.lca` header of ``avatar`` (an Avatar, or ``lca_numpy.AvatarArrays``) in
    ``avatar_object.lca_avatar``."""
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
