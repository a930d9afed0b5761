"""The LCA Gaussian render engine (``LCA_GAUSSIAN``): F12, ``-a`` and ``lca blender render``.

For each view layer it renders every avatar object of the layer from the scene's camera:

1. the camera -> an OpenCV camera (``camera.opencv_camera``, the one conversion);
2. each avatar's depsgraph-evaluated body mesh -> world Gaussians (``live_link``, the same
   ``core.deform`` path as the viewport and ``lca render``); the Gaussians of all avatars
   are merged into one scene, so they sort and blend together;
3. ``core.render.render`` (the torch backend on a CPU; ``auto``, gsplat, where CUDA is);
4. the passes (``core.render.blender_passes``): Combined (scene-linear, premultiplied RGBA),
   Depth (Z, 1e10 behind the splats), Normal (world space) and BodyPart (the part index as a
   float, -1 behind), written with ``RenderPass.rect.foreach_set``, rows bottom-up.

With a transparent film the Combined pass keeps the splats' alpha; otherwise the world's
colour (its Background node's colour times strength, else its viewport colour) fills in
behind them and alpha is 1. A scene without a usable camera gets a one-sentence error and
nothing is written; an avatar that cannot be drawn (lost body mesh or binding, a body mesh
with other vertices, or one hidden from renders, whose pose the render then does not evaluate)
is skipped with a one-sentence warning. Everything that needs torch is imported when a render
starts, so the extension registers without it; without torch a render stops with one sentence
naming the missing package.
"""

import bpy

ENGINE_ID = "LCA_GAUSSIAN"

_PASSES = (
    ("Depth", 1, "Z", "VALUE"),
    ("Normal", 3, "XYZ", "VECTOR"),
    ("BodyPart", 1, "X", "VALUE"),
)
"""(name, channels, channel ids, kind) besides Combined; ``core.render.blender_passes.PASSES``
(which needs torch) holds the same, and a test checks that they agree."""


class LCA_RenderEngine(bpy.types.RenderEngine):
    """Renders the avatars' Gaussians with core.render: colour, depth, normal, body part"""

    bl_idname = ENGINE_ID
    bl_label = "LCA Gaussian"
    bl_use_preview = False
    bl_use_postprocess = True

    def update_render_passes(self, scene=None, renderlayer=None):
        self.register_pass(scene, renderlayer, "Combined", 4, "RGBA", "COLOR")
        for name, channels, ids, kind in _PASSES:
            self.register_pass(scene, renderlayer, name, channels, ids, kind)

    def render(self, depsgraph):
        from .dependencies import missing_dependency

        problem = missing_dependency()
        if problem is not None:
            self.report({"ERROR"}, problem)
            return
        from ..core.errors import LcaError

        try:
            view, scenes = self._prepare(depsgraph)
            if self.test_break():
                return
            passes = self._render(depsgraph, view, scenes)
        except LcaError as err:
            self.report({"ERROR"}, str(err))
            return
        except Exception as err:  # a bug: say so in one sentence, write nothing
            self.report(
                {"ERROR"},
                f"The LCA Gaussian render failed ({type(err).__name__}: {err}); please report "
                "it with the console output.",
            )
            raise
        if self.test_break():
            return
        for name, channels, ids, _ in _PASSES:
            self.add_pass(name, channels, ids, layer=depsgraph.view_layer.name)
        result = self.begin_result(
            0, 0, passes.width, passes.height, layer=depsgraph.view_layer.name
        )
        layer = result.layers[0]
        for name, buffer in passes.by_name().items():
            layer.passes[name].rect.foreach_set(buffer)
        self.end_result(result)
        self.update_progress(1.0)

    def _prepare(self, depsgraph):
        """(OpenCV camera, [SplatScene per avatar drawn]); LcaError for a bad camera."""
        from ..core.errors import LcaError
        from ..core.posing import splat_scene
        from .avatar_object import read_binding
        from .camera import opencv_camera
        from .live_link import avatar_gaussians

        scene = depsgraph.scene
        camera = self.camera_override or scene.camera
        if camera is None:
            raise LcaError("The scene has no camera; add a camera and make it the scene's camera.")
        view = opencv_camera(camera.evaluated_get(depsgraph), scene)
        if (view.width, view.height) != (self.resolution_x, self.resolution_y):
            raise LcaError(
                f"The render is {self.resolution_x}x{self.resolution_y} pixels but the camera "
                f"sees {view.width}x{view.height}; turn off the render border and try again."
            )
        avatars = [obj for obj in depsgraph.view_layer.objects if obj.lca_avatar.is_avatar]
        scenes = []
        for index, avatar in enumerate(avatars):
            if self.test_break():
                break
            self.update_stats("", f"LCA Gaussian: deforming '{avatar.name}'")
            try:
                world = avatar_gaussians(avatar.original, depsgraph)
                binding = read_binding(avatar.original.data)
            except LcaError as err:
                message = str(err)
                self.report(
                    {"WARNING"},
                    f"Skipped the avatar '{avatar.name}': {message[:1].lower()}{message[1:]}",
                )
                continue
            scenes.append(splat_scene(binding, world))
            self.update_progress(0.3 * (index + 1) / len(avatars))
        return view, scenes

    def _render(self, depsgraph, view, scenes):
        """The passes (core.render.blender_passes.BlenderPasses) of ``scenes`` seen by
        ``view``."""
        import torch

        from ..core.render.blender_passes import blender_passes, merge_scenes
        from ..core.render.render import render
        from ..core.render.types import RenderResult

        background = world_background(depsgraph.scene)
        if not scenes:
            empty = RenderResult(
                rgb=torch.zeros(view.height, view.width, 3),
                alpha=torch.zeros(view.height, view.width),
                depth=torch.zeros(view.height, view.width),
                normal=torch.zeros(view.height, view.width, 3),
                part=torch.full((view.height, view.width), -1, dtype=torch.int64),
            )
            return blender_passes(empty, background)
        merged = merge_scenes(scenes)
        backend = "torch"
        if torch.cuda.is_available():
            merged = _to_device(merged, torch.device("cuda"))
            backend = "auto"
        count = merged.count
        self.update_stats("", f"LCA Gaussian: rendering {count:,} Gaussians")
        with torch.no_grad():
            result = render(merged, view, background=(0.0, 0.0, 0.0), backend=backend)
        self.update_progress(0.9)
        return blender_passes(result, background)


def world_background(scene: bpy.types.Scene) -> tuple[float, float, float] | None:
    """Scene-linear RGB behind the splats, or None with a transparent film."""
    if scene.render.film_transparent:
        return None
    world = scene.world
    if world is None:
        return (0.0, 0.0, 0.0)
    tree = world.node_tree
    if tree is not None and (bpy.app.version >= (5, 0, 0) or world.use_nodes):  # 4.x: a switch
        for node in tree.nodes:
            if node.type == "BACKGROUND":
                colour = node.inputs["Color"].default_value
                strength = node.inputs["Strength"].default_value
                return tuple(float(c) * strength for c in colour[:3])
    return tuple(float(c) for c in world.color)


def _to_device(scene, device):
    from ..core.render.types import SplatScene

    return SplatScene(
        means=scene.means.to(device),
        quats=scene.quats.to(device),
        scales=scene.scales.to(device),
        opacities=scene.opacities.to(device),
        sh=scene.sh.to(device),
        parts=None if scene.parts is None else scene.parts.to(device),
    )


def compatible_panels() -> list[type]:
    """Blender's own panels that every engine can use (output, format, camera lens, ...):
    those that list BLENDER_RENDER among their engines."""
    panels = []
    for panel in bpy.types.Panel.__subclasses__():
        engines = getattr(panel, "COMPAT_ENGINES", None)
        if isinstance(engines, set) and "BLENDER_RENDER" in engines:
            panels.append(panel)
    return panels


def register_panels() -> None:
    for panel in compatible_panels():
        panel.COMPAT_ENGINES.add(ENGINE_ID)


def unregister_panels() -> None:
    for panel in compatible_panels():
        panel.COMPAT_ENGINES.discard(ENGINE_ID)
