"""What the Motion panel's two file imports (body motion, face curves) share: the poll, the
start frame, and running the import with its one-sentence refusal."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import bpy

from ..core.errors import LcaError
from .dependencies import missing_dependency
from .properties import find_avatar


class AvatarFileImport:
    """Mixin for an ImportHelper operator with a ``start_frame`` property that puts a file's
    animation on the selected avatar; ``noun`` names what it imports in messages."""

    noun = "a file"

    @classmethod
    def poll(cls, context):
        if context.mode != "OBJECT":
            cls.poll_message_set(f"Switch to Object Mode to import {cls.noun}.")
            return False
        if find_avatar(context.scene, context.active_object) is None:
            cls.poll_message_set("Select an avatar, its armature or its body mesh.")
            return False
        return True

    def invoke(self, context, event):
        if not self.properties.is_property_set("start_frame"):
            self.start_frame = context.scene.frame_current
        return super().invoke(context, event)

    def run(self, context, apply: Callable[[Any, Path, int], Any]) -> Any | None:
        """``apply(avatar, path, start_frame)``'s result, or None after reporting why not
        (a missing dependency, or the import's one sentence)."""
        problem = missing_dependency()
        if problem is not None:
            self.report({"ERROR"}, problem)
            return None
        avatar = find_avatar(context.scene, context.active_object)
        start = (
            self.start_frame
            if self.properties.is_property_set("start_frame")
            else context.scene.frame_current
        )
        try:
            return apply(avatar, Path(bpy.path.abspath(self.filepath)), start)
        except LcaError as err:
            self.report({"ERROR"}, str(err))
            return None
