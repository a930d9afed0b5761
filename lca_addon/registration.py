"""One explicit list of the classes the extension registers, in order."""

from __future__ import annotations

CLASSES: tuple[type, ...] = ()
"""Blender classes, registered in this order and unregistered in reverse."""


def register() -> None:
    import bpy

    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    import bpy

    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
