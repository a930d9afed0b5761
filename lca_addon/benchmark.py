"""``lca bench blender``: the per-frame CPU cost of the live link in Blender, against 16 ms.

For each Gaussian count, a starter avatar is built into the file (as the import builds it),
and every frame's work is timed on its own, median of ``repeats`` runs after a warm-up:

- evaluate: a new pose (an arm bone and a face shape key) and the depsgraph update
  (Blender's Armature modifier and shape keys: Blender's cost, not ours);
- read: the evaluated body-mesh vertices (``live_link.evaluated_vertices``: foreach_get);
- binding: the binding and triangles read back from the meshes, as
  ``live_link.avatar_gaussians`` does on every call;
- deform: ``core.deform.deform_gaussians``;
- quads: what the viewport builds for the GPU upload (``viewport_draw.SplatDrawer``
  .update_quads without the GPUTexture itself, which needs a GPU context):
  ``core.render.splat_quads.project_quads`` (project, cull, colour, sort back to front),
  ``SplatQuads.packed`` and the padding into texture rows. Without that module, a numpy
  stand-in is timed instead (depth argsort + packing of the per-splat arrays) and named so.

"sort" is the back-to-front argsort of the view depths alone, already inside "quads" (not
added to the total). The bench starts from an empty file in the bpy module (its own process).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import bpy
import numpy as np
import torch

FRAME_BUDGET_MS = 16.0
"""One frame at 60 FPS."""

VIEW_SIZE = (1920, 1080)
"""The viewport size the quads are built for."""


@dataclass(frozen=True)
class PartTime:
    """name: a part of the frame's work (module docstring); ms: its median milliseconds."""

    name: str
    ms: float


@dataclass(frozen=True)
class LiveLinkBench:
    """count: Gaussians; parts: the timed parts that make up a frame; sort_ms: the depth sort
    alone (inside "quads"); quads_by: which code built the GPU arrays."""

    count: int
    parts: tuple[PartTime, ...]
    sort_ms: float
    quads_by: str

    @property
    def total_ms(self) -> float:
        return sum(part.ms for part in self.parts)

    @property
    def budget_ratio(self) -> float:
        """total / 16 ms (1.0: exactly one 60 FPS frame)."""
        return self.total_ms / FRAME_BUDGET_MS


def bench_live_link(
    counts: Sequence[int] = (100_000, 200_000),
    repeats: int = 5,
    echo: Callable[[str], None] = print,
) -> list[LiveLinkBench]:
    """Time the live link's per-frame parts for each count in ``counts`` (module docstring);
    prints one line per count through ``echo`` and returns the figures. Replaces the current
    file with an empty one (run it in its own process)."""
    from ..core.avatar.starter import make_starter_avatar
    from ..core.bench import machine
    from ..core.body.anny_body import AnnyBody

    echo(f"machine: {machine()}, Blender {bpy.app.version_string}")
    body = AnnyBody()
    results = []
    for count in counts:
        bpy.ops.wm.read_homefile(use_empty=True)
        avatar = make_starter_avatar(body, count=count, name=f"bench_{count}")
        results.append(_bench_one(body, avatar, repeats))
        echo(_line(results[-1]))
    return results


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    from ..core.bench import median_seconds

    return 1e3 * median_seconds(fn, repeats)[0]


def _bench_one(body, avatar, repeats: int) -> LiveLinkBench:
    from ..core.deform.binding import deform_gaussians
    from ..core.views import camera_for
    from .avatar_object import mesh_triangles, read_binding
    from .import_avatar import avatar_rig
    from .live_link import evaluated_vertices
    from .scene_build import build_avatar_scene

    context = bpy.context
    objects = build_avatar_scene(context, avatar, avatar_rig(avatar), avatar.metadata["name"])
    body_object, mesh = objects.body, objects.avatar.data
    bone = objects.armature.pose.bones[_arm_bone(objects.armature)]
    key = body_object.data.shape_keys.key_blocks[1]
    depsgraph = context.evaluated_depsgraph_get()
    flip = [False]

    def evaluate() -> None:
        flip[0] = not flip[0]
        bone.rotation_quaternion = (0.92, 0.0, 0.38, 0.0) if flip[0] else (1.0, 0.0, 0.0, 0.0)
        key.value = 1.0 if flip[0] else 0.0
        depsgraph.update()

    def read() -> np.ndarray:
        return evaluated_vertices(body_object, depsgraph)

    def binding():
        return read_binding(mesh), mesh_triangles(body_object.data)

    parts = [PartTime("evaluate", _median_ms(evaluate, repeats))]
    parts.append(PartTime("read", _median_ms(read, repeats)))
    parts.append(PartTime("binding", _median_ms(binding, repeats)))
    bound, faces = binding()
    vertices = torch.from_numpy(read())[None]
    with torch.no_grad():
        parts.append(
            PartTime(
                "deform", _median_ms(lambda: deform_gaussians(vertices, faces, bound), repeats)
            )
        )
        world = deform_gaussians(vertices, faces, bound)
        width, height = VIEW_SIZE
        camera = camera_for("front", world.means[0], bound.part, avatar.part_names, width, height)
        quads, quads_by, view = _quads_builder(bound, world, camera)
        parts.append(PartTime("quads", _median_ms(quads, repeats)))
        depth = world.means[0] @ view[2, :3].to(world.means.dtype) + float(view[2, 3])
        sort_ms = _median_ms(lambda: torch.argsort(depth), repeats)
    return LiveLinkBench(avatar.count, tuple(parts), sort_ms, quads_by)


def _arm_bone(armature: bpy.types.Object) -> str:
    """An upper-arm bone of the body's rig (any child of the root as a fallback)."""
    names = [bone.name for bone in armature.pose.bones]
    for name in names:
        if "upperarm" in name.lower().replace("_", ""):
            return name
    return names[1]


def _quads_builder(binding, world, camera):
    """(the timed function, its description, the (4, 4) view matrix): the viewport's quad
    building when its module is there, else a numpy stand-in."""
    try:
        from ..core.render.scene import splat_scene
        from ..core.render.splat_quads import gl_matrices, project_quads
        from .viewport_draw import SPLATS_PER_ROW
    except ImportError:
        return _numpy_quads(binding, world, camera)
    view, projection = gl_matrices(camera)
    width, height = camera.width, camera.height

    def build() -> np.ndarray:
        quads = project_quads(splat_scene(binding, world), view, projection, width, height)
        packed = quads.packed()
        rows = -(-quads.count // SPLATS_PER_ROW)
        texels = np.zeros((rows * min(quads.count, SPLATS_PER_ROW), packed.shape[1]), np.float32)
        texels[: quads.count] = packed
        return texels

    return build, "viewport_draw (project_quads + packed + texture rows)", view


def _numpy_quads(binding, world, camera):
    """A stand-in for the viewport's GPU arrays: back-to-front argsort of the view depth and
    the per-splat arrays (mean, quaternion, scale, opacity, DC colour) packed in that order."""
    view = torch.eye(4, dtype=torch.float64)
    view[:3, :3] = camera.world_to_camera[:3, :3].to(torch.float64)
    view[:3, 3] = camera.world_to_camera[:3, 3].to(torch.float64)
    means = world.means[0].numpy()
    columns = np.concatenate(
        (
            means,
            world.quats[0].numpy(),
            world.scales[0].numpy(),
            binding.opacity_logit.numpy()[:, None],
            binding.sh[:, 0].numpy(),
        ),
        axis=1,
    ).astype(np.float32)
    forward = view[2, :3].numpy().astype(np.float32)

    def build() -> np.ndarray:
        order = np.argsort(-(means @ forward), kind="stable")  # far first
        return np.ascontiguousarray(columns[order])

    return build, "numpy stand-in (argsort + packing; no viewport_draw module)", view


def _line(result: LiveLinkBench) -> str:
    parts = ", ".join(f"{part.name} {part.ms:.2f}" for part in result.parts)
    return (
        f"live link {result.count:>9,} Gaussians: {parts} ms (sort alone {result.sort_ms:.2f}); "
        f"total {result.total_ms:.1f} ms -> {result.budget_ratio:.2f}x of the "
        f"{FRAME_BUDGET_MS:.0f} ms frame; quads by {result.quads_by}"
    )
