"""One explicit list of the classes the extension registers, in order, and what else
registration adds (the ``Object.lca_avatar`` property, the File > Import entry).

Nothing imported here needs torch: without it the extension still registers, and the
operators say what is missing.
"""

import bpy
from bpy.props import PointerProperty

from . import import_avatar, panels, properties

CLASSES: tuple[type, ...] = (
    properties.LcaFloatItem,
    properties.LcaTextItem,
    properties.LcaShapeKeyTarget,
    properties.LcaAvatarProperties,
    import_avatar.LCA_OT_import_avatar,
    panels.LCA_PT_avatar,
)
"""Blender classes, registered in this order and unregistered in reverse."""

MENUS = ((bpy.types.TOPBAR_MT_file_import, import_avatar.menu_import),)
"""(menu, draw function) pairs appended on register and removed on unregister."""


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    for attribute, group in properties.OBJECT_PROPERTIES:
        setattr(bpy.types.Object, attribute, PointerProperty(type=group))
    for menu, draw in MENUS:
        menu.append(draw)


def unregister() -> None:
    for menu, draw in reversed(MENUS):
        menu.remove(draw)
    for attribute, _ in reversed(properties.OBJECT_PROPERTIES):
        delattr(bpy.types.Object, attribute)
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
