"""The per-frame cost of the native avatar (Blender 5.3+): Geometry Nodes, no Python per frame.

A frame is what the live link's benchmark (benchmark.py) times as "evaluate", with the
binding modifier on: a new pose (an arm bone and a face shape key) and the depsgraph update,
after which the point cloud's positions, rotations and scales are Blender's (the GN group of
splat_nodes.py ran). Timed twice, the median of ``repeats`` runs after a warm-up:

- frame: the pose and the update with the binding modifier on;
- body: the same with the modifier off (Blender's Armature modifier and shape keys alone);

so frame - body is what the Geometry Nodes binding costs. The drawing itself is Blender's
(its viewport, Cycles, EEVEE) and is not in these figures; nor is any upload of ours, as
there is none. Nothing here imports torch: :func:`bench_native_avatar` times an avatar
already in the file (made by the import, or converted), so the bpy 5.3 module without torch
can run it; :func:`bench_native_splats` builds starter avatars first (it needs torch and the
body model, as the import does).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import bpy

from .splat_object import MODIFIER_NAME

FRAME_BUDGET_MS = 16.0


@dataclass(frozen=True)
class NativeBench:
    """count: splats; frame_ms: pose + depsgraph update with the binding; body_ms: without."""

    count: int
    frame_ms: float
    body_ms: float

    @property
    def nodes_ms(self) -> float:
        """What the Geometry Nodes binding adds to a frame."""
        return self.frame_ms - self.body_ms

    def line(self) -> str:
        return (
            f"native splats {self.count:>9,}: frame {self.frame_ms:.1f} ms (body alone "
            f"{self.body_ms:.1f}, Geometry Nodes binding {self.nodes_ms:.1f}) -> "
            f"{self.frame_ms / FRAME_BUDGET_MS:.2f}x of the {FRAME_BUDGET_MS:.0f} ms frame"
        )


def bench_native_avatar(avatar: bpy.types.Object, repeats: int = 5) -> NativeBench:
    """Time one native avatar's frame (module docstring); the file must hold it with its
    armature and body mesh, and the modifier is left as it was."""
    props = avatar.lca_avatar
    armature, body = props.armature, props.body_mesh
    bone = armature.pose.bones[_arm_bone(armature)]
    key = body.data.shape_keys.key_blocks[1]
    modifier = avatar.modifiers[MODIFIER_NAME]
    depsgraph = bpy.context.evaluated_depsgraph_get()
    flip = [False]

    def frame() -> int:
        flip[0] = not flip[0]
        bone.rotation_quaternion = (0.92, 0.0, 0.38, 0.0) if flip[0] else (1.0, 0.0, 0.0, 0.0)
        key.value = 1.0 if flip[0] else 0.0
        depsgraph.update()
        return len(avatar.evaluated_get(depsgraph).data.points)

    shown = modifier.show_viewport
    try:
        modifier.show_viewport = True
        frame_ms = _median_ms(frame, repeats)
        count = frame()
        modifier.show_viewport = False
        body_ms = _median_ms(frame, repeats)
    finally:
        modifier.show_viewport = shown
    return NativeBench(count, frame_ms, body_ms)


def bench_native_splats(
    counts: Sequence[int] = (100_000, 200_000),
    repeats: int = 5,
    echo: Callable[[str], None] = print,
) -> list[NativeBench]:
    """Build a starter avatar of each count (torch and the body model, as the import) and
    time it; one line per count through ``echo``. Replaces the open file with empty ones."""
    from ..core.body.anny_body import AnnyBody
    from ..core.deform.template import make_starter_avatar
    from .import_avatar import avatar_rig
    from .scene_build import build_avatar_scene

    body = AnnyBody()
    results = []
    for count in counts:
        bpy.ops.wm.read_homefile(use_empty=True)
        avatar = make_starter_avatar(body, count=count, name=f"bench_{count}")
        objects = build_avatar_scene(bpy.context, avatar, avatar_rig(avatar), f"bench_{count}")
        results.append(bench_native_avatar(objects.avatar, repeats))
        echo(results[-1].line())
    return results


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * sorted(times)[len(times) // 2]


def _arm_bone(armature: bpy.types.Object) -> str:
    """An upper-arm bone of the body's rig (any child of the root as a fallback)."""
    names = [bone.name for bone in armature.pose.bones]
    for name in names:
        if "upperarm" in name.lower().replace("_", ""):
            return name
    return names[1]
