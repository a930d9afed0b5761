"""The Blender part of ``lca bench motion``: seconds to key a retargeted clip on an avatar.

A starter avatar (1,000 Gaussians) is built into an empty file as the import builds it, and
a clip of ``frames`` frames on the body's own skeleton (every bone swinging, the root
walking; what ``retarget_to_body`` returns) is keyed as the Motion panel keys it:
``motion_import.bone_keys`` (``core.rig.blender_bone_poses``: quaternions in each bone's rest
axes) and ``motion_import.key_bones`` (one linear key per frame and channel through
``keyframe_points.foreach_set``, a new action). Reading and retargeting are core's part of
the benchmark, not timed here. Median of ``repeats`` runs after a warm-up; each run's action
is removed before the next.
"""

from __future__ import annotations

from collections.abc import Callable

import bpy


def motion_keying_speed(
    frames: int = 1000, repeats: int = 3, echo: Callable[[str], None] = print
) -> float:
    """Median seconds to key ``frames`` frames of a retargeted clip on the avatar's armature
    (module docstring); prints one line through ``echo``. Replaces the current file with an
    empty one (run it in its own process)."""
    import numpy as np
    import torch

    from ..core.bench import machine, median_seconds
    from ..core.body.anny_body import AnnyBody
    from ..core.deform.template import make_starter_avatar
    from ..core.motion.clip import Clip
    from ..core.motion.retarget import retarget_to_body, skeleton_of_body
    from ..core.quaternion import axis_angle_to_rotmat
    from ..core.rig import axes_to_blender, build_rig
    from .motion_import import bone_keys, key_bones
    from .scene_build import build_avatar_scene

    bpy.ops.wm.read_homefile(use_empty=True)
    body = AnnyBody()
    avatar = make_starter_avatar(body, count=1000, name="bench_motion")
    made = build_avatar_scene(bpy.context, avatar, build_rig(body, avatar), "bench_motion")
    skeleton = skeleton_of_body(body)
    J = len(skeleton.names)
    t = torch.arange(frames, dtype=torch.float64)[:, None, None] / 24.0
    phase = torch.linspace(0, 3, J, dtype=torch.float64)[None, :, None]
    rotvecs = 0.3 * torch.sin(2.0 * t + phase) * torch.tensor([1.0, 0.5, 0.25])
    walk = torch.stack((0 * t[:, 0, 0], -0.8 * t[:, 0, 0], 0.02 * torch.sin(8 * t[:, 0, 0])), 1)
    clip = Clip(skeleton, axis_angle_to_rotmat(rotvecs), skeleton.offsets[0] + walk, 24.0)
    armature = made.armature
    axes = axes_to_blender(avatar.up_axis)
    keyed = np.arange(1, frames + 1, dtype=np.float32)

    def key_once() -> None:
        quaternions, locations = bone_keys(armature, axes, clip)
        action = key_bones(armature, "bench", keyed, skeleton.names, quaternions, locations)
        armature.animation_data.action = None
        bpy.data.actions.remove(action)

    seconds = median_seconds(key_once, repeats)[0]
    retarget = median_seconds(lambda: retarget_to_body(clip, body), repeats)[0]
    echo(
        f"machine: {machine()}, Blender {bpy.app.version_string}: keyed {frames} frames x {J} "
        f"bones ({4 * J + 3} channels) in {seconds:.3f} s ({1000 * seconds / frames:.3f} s per "
        f"1000 frames), {seconds / retarget:.2f}x core's retargeting of the same clip "
        f"({retarget:.3f} s)"
    )
    return seconds
