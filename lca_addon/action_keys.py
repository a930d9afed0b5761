"""Keys written in bulk into a new action, on every Blender the extension supports.

Blender 4.2 keeps an action's F-curves in ``Action.fcurves``. From 4.4 actions are layered:
an action has slots (one per animated datablock), layers, keyframe strips, and in each strip
one channelbag of F-curves per slot; 5.0 removed ``Action.fcurves``. :class:`NewAction`
hides the difference (as ``bpy_extras.anim_utils.action_ensure_channelbag_for_slot`` does on
4.4+): make it for one datablock, :meth:`NewAction.key` whole channels at once
(``keyframe_points.add`` + ``foreach_set``, linear, one key per frame, never
``keyframe_insert`` per frame), then :meth:`NewAction.assign` it.
"""

from __future__ import annotations

import bpy
import numpy as np

_LINEAR = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items["LINEAR"].value


class NewAction:
    """A new, empty action for ``id_data`` (an Object, a shape-key Key ...), named ``name``;
    or, through :meth:`active`, the action ``id_data`` plays now."""

    def __init__(self, id_data: bpy.types.ID, name: str) -> None:
        self.id_data = id_data
        self.action = bpy.data.actions.new(name)
        self.slot = None
        if hasattr(self.action, "layers"):  # Blender 4.4+: layered actions
            self.slot = self.action.slots.new(id_type=id_data.id_type, name=id_data.name)
            strip = self.action.layers.new("Layer").strips.new(type="KEYFRAME")
            self._fcurves = strip.channelbag(self.slot, ensure=True).fcurves
        else:
            self.action.id_root = id_data.id_type
            self._fcurves = self.action.fcurves

    @classmethod
    def active(cls, id_data: bpy.types.ID) -> NewAction | None:
        """The action ``id_data`` plays now (its channels for the assigned slot), or None."""
        animation = id_data.animation_data
        if animation is None or animation.action is None:
            return None
        self = cls.__new__(cls)
        self.id_data, self.action = id_data, animation.action
        self.slot = getattr(animation, "action_slot", None)
        if hasattr(self.action, "layers"):
            if self.slot is None:
                return None
            from bpy_extras.anim_utils import action_ensure_channelbag_for_slot

            self._fcurves = action_ensure_channelbag_for_slot(self.action, self.slot).fcurves
        else:
            self._fcurves = self.action.fcurves
        return self

    def find(self, data_path: str, index: int) -> bpy.types.FCurve | None:
        """The F-curve of ``data_path`` [``index``], or None."""
        return self._fcurves.find(data_path, index=index)

    def remove_fcurve(self, fcurve: bpy.types.FCurve) -> None:
        self._fcurves.remove(fcurve)

    def key(self, data_path: str, frames: np.ndarray, values: np.ndarray, group: str) -> None:
        """One F-curve per column of ``values`` (T, C) (array indices 0..C-1 of
        ``data_path``), keyed at ``frames`` (T,), linear, in the channel group ``group``."""
        frames = np.asarray(frames, np.float32)
        values = np.asarray(values, np.float32).reshape(frames.shape[0], -1)
        co = np.empty((frames.shape[0], 2), np.float32)
        co[:, 0] = frames
        interpolation = np.full(frames.shape[0], _LINEAR, np.int32)
        for index in range(values.shape[1]):
            if self.slot is not None:
                fcurve = self._fcurves.new(data_path, index=index, group_name=group)
            else:
                fcurve = self._fcurves.new(data_path, index=index, action_group=group)
            co[:, 1] = values[:, index]
            points = fcurve.keyframe_points
            points.add(frames.shape[0])
            points.foreach_set("co", co.ravel())
            points.foreach_set("interpolation", interpolation)
            # Sorted, distinct frames and linear keys: no fcurve.update() needed.

    def assign(self) -> bpy.types.Action | None:
        """Make the action the datablock's active one; returns the action it replaces (None
        if there was none). A replaced action left without users gets a fake user, so that
        saving the file keeps it."""
        animation = self.id_data.animation_data or self.id_data.animation_data_create()
        previous = animation.action
        animation.action = self.action
        if self.slot is not None:
            animation.action_slot = self.slot
        if previous is not None and previous.users == 0:
            previous.use_fake_user = True
        return previous

    def remove(self) -> None:
        """Drop the action (a failure before :meth:`assign`)."""
        bpy.data.actions.remove(self.action)


def action_fcurves(action: bpy.types.Action) -> list[bpy.types.FCurve]:
    """Every F-curve of ``action`` (every layer, strip and slot on 4.4+)."""
    if not hasattr(action, "layers"):
        return list(action.fcurves)
    return [
        fcurve
        for layer in action.layers
        for strip in layer.strips
        for bag in strip.channelbags
        for fcurve in bag.fcurves
    ]
