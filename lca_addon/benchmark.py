"""``lca bench blender``: the per-frame CPU cost of the live link in Blender, against 16 ms.

For each Gaussian count, a starter avatar is built into the file (as the import builds it),
the viewport drawer (``viewport_draw.SplatDrawer``) is given its GPU (one tiny Workbench
render first: PLATFORM.md), and the frame's work is timed, median of ``repeats`` runs after a
warm-up:

- frame: what one animation frame costs the viewport from end to end, as a redraw does it: a
  new pose (an arm bone and a face shape key) and the depsgraph update, then
  ``SplatDrawer.update_scene`` (read the evaluated body, deform, upload the Gaussians) and
  ``SplatDrawer.update_quads`` (sort for the view, upload the order). The ratio to 16 ms is
  this figure's.

Its parts, each timed alone (they add up to about the frame):

- evaluate: the pose and the depsgraph update (Blender's Armature modifier and shape keys:
  Blender's cost, not ours);
- read: the evaluated body-mesh vertices (``live_link.evaluated_vertices``: foreach_get);
- deform: ``live_link.deform_avatar`` (``core.deform``) and ``splat_scene``;
- pack: ``splat_quads.pack_geometry`` (the Gaussians' texels);
- upload: the geometry texture (``gpu.types.Buffer`` + ``GPUTexture``);
- sort: ``splat_quads.back_to_front`` for the view;
- order: the order texture's upload.

The binding is read once (``live_link.binding_key``) and the colours are uploaded once
(degree-0 colours do not change with the view), so neither is in a frame. The projection
runs in the vertex shader, on the GPU. The bench starts from an empty file in the bpy module
(its own process). Without a GPU context (no EGL) it stops with one sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import bpy

FRAME_BUDGET_MS = 16.0
"""One frame at 60 FPS."""

VIEW_SIZE = (1920, 1080)
"""The viewport size the view is made for."""


@dataclass(frozen=True)
class PartTime:
    """name: a part of the frame's work (module docstring); ms: its median milliseconds."""

    name: str
    ms: float


@dataclass(frozen=True)
class LiveLinkBench:
    """count: Gaussians; frame_ms: one frame end to end; parts: its parts, timed alone."""

    count: int
    frame_ms: float
    parts: tuple[PartTime, ...]

    @property
    def parts_ms(self) -> float:
        return sum(part.ms for part in self.parts)

    @property
    def budget_ratio(self) -> float:
        """frame / 16 ms (1.0: exactly one 60 FPS frame)."""
        return self.frame_ms / FRAME_BUDGET_MS


def bench_live_link(
    counts: Sequence[int] = (100_000, 200_000),
    repeats: int = 5,
    echo: Callable[[str], None] = print,
) -> list[LiveLinkBench]:
    """Time the live link's per-frame work for each count in ``counts`` (module docstring);
    prints one line per count through ``echo`` and returns the figures. Replaces the current
    file with an empty one (run it in its own process)."""
    from ..core.bench import machine
    from ..core.body.anny_body import AnnyBody
    from ..core.deform.template import make_starter_avatar

    echo(f"machine: {machine()}, Blender {bpy.app.version_string}")
    body = AnnyBody()
    results = []
    for count in counts:
        bpy.ops.wm.read_homefile(use_empty=True)
        _start_gpu()
        avatar = make_starter_avatar(body, count=count, name=f"bench_{count}")
        results.append(_bench_one(avatar, repeats))
        echo(_line(results[-1]))
    return results


def _start_gpu() -> None:
    """One 4 x 4 Workbench render, after which the ``gpu`` module works offscreen in the bpy
    module (PLATFORM.md); LcaError in one sentence when there is no GPU context at all."""
    import gpu

    from ..core.errors import LcaError

    scene = bpy.context.scene
    camera = bpy.data.objects.new("bench_gpu", bpy.data.cameras.new("bench_gpu"))
    scene.collection.objects.link(camera)
    scene.camera = camera
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.resolution_x = scene.render.resolution_y = 4
    try:
        bpy.ops.render.render()
        gpu.types.GPUTexture((1, 1), format="R32F")
    except (RuntimeError, SystemError) as err:
        raise LcaError(f"lca bench blender needs a GPU context and found none ({err}).") from err
    finally:
        bpy.data.objects.remove(camera)


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    from ..core.bench import median_seconds

    return 1e3 * median_seconds(fn, repeats)[0]


def _bench_one(avatar, repeats: int) -> LiveLinkBench:
    import torch

    from ..core.posing import splat_scene
    from ..core.render.named_views import camera_for
    from ..core.render.splat_quads import back_to_front, gl_matrices, pack_geometry
    from . import viewport_draw
    from .import_avatar import avatar_rig
    from .live_link import avatar_binding, deform_avatar, evaluated_vertices
    from .scene_build import build_avatar_scene

    context = bpy.context
    objects = build_avatar_scene(context, avatar, avatar_rig(avatar), avatar.metadata["name"])
    body_object = objects.body
    bone = objects.armature.pose.bones[_arm_bone(objects.armature)]
    key = body_object.data.shape_keys.key_blocks[1]
    depsgraph = context.evaluated_depsgraph_get()
    flip = [False]

    def evaluate() -> None:
        flip[0] = not flip[0]
        bone.rotation_quaternion = (0.92, 0.0, 0.38, 0.0) if flip[0] else (1.0, 0.0, 0.0, 0.0)
        key.value = 1.0 if flip[0] else 0.0
        depsgraph.update()

    binding, faces = avatar_binding(objects.avatar)
    vertices = evaluated_vertices(body_object, depsgraph)
    with torch.no_grad():
        world = deform_avatar(binding, faces, vertices)
    width, height = VIEW_SIZE
    camera = camera_for("front", world.means[0], binding.part, avatar.part_names, width, height)
    view, projection = (m.numpy() for m in gl_matrices(camera))

    drawer = viewport_draw.SplatDrawer()

    def frame() -> None:
        evaluate()
        drawer.update_scene(depsgraph)
        drawer.update_quads(view, projection, width, height)

    frame_ms = _median_ms(frame, repeats)
    if drawer.count != avatar.count:
        raise RuntimeError(f"the drawer holds {drawer.count} Gaussians, not {avatar.count}.")

    scene = [splat_scene(binding, world)]
    capacity = viewport_draw._capacity(avatar.count)
    packed = pack_geometry(scene, capacity)
    means = packed[: avatar.count, :3]
    order = back_to_front(means, view)
    parts = (
        PartTime("evaluate", _median_ms(evaluate, repeats)),
        PartTime("read", _median_ms(lambda: evaluated_vertices(body_object, depsgraph), repeats)),
        PartTime(
            "deform",
            _median_ms(
                lambda: splat_scene(binding, deform_avatar(binding, faces, vertices)), repeats
            ),
        ),
        PartTime("pack", _median_ms(lambda: pack_geometry(scene, capacity, packed), repeats)),
        PartTime(
            "upload",
            _median_ms(
                lambda: viewport_draw._texture(packed, viewport_draw.GEOMETRY_TEXELS), repeats
            ),
        ),
        PartTime("sort", _median_ms(lambda: back_to_front(means, view), repeats)),
        PartTime("order", _median_ms(lambda: drawer.upload_order(order), repeats)),
    )
    return LiveLinkBench(avatar.count, frame_ms, parts)


def _arm_bone(armature: bpy.types.Object) -> str:
    """An upper-arm bone of the body's rig (any child of the root as a fallback)."""
    names = [bone.name for bone in armature.pose.bones]
    for name in names:
        if "upperarm" in name.lower().replace("_", ""):
            return name
    return names[1]


def _line(result: LiveLinkBench) -> str:
    parts = ", ".join(f"{part.name} {part.ms:.2f}" for part in result.parts)
    return (
        f"live link {result.count:>9,} Gaussians: frame {result.frame_ms:.1f} ms -> "
        f"{result.budget_ratio:.2f}x of the {FRAME_BUDGET_MS:.0f} ms frame; parts alone: "
        f"{parts} (sum {result.parts_ms:.1f}) ms"
    )
