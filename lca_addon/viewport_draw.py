"""The avatars' Gaussians in the 3D Viewport, drawn with Blender's ``gpu`` module.

Each redraw, :func:`draw_splats` takes every visible avatar of the view layer (with
``Object.lca_avatar.show_splats`` on) through the live link (``live_link.avatar_gaussians``:
the evaluated body mesh -> ``core.deform``, the one deformation path), merges them into one
scene, and has ``core.render.splat_quads`` project, cull, colour and sort the splats for the
view on the CPU, exactly as ``core.render`` does. The GPU then draws one instanced quad per
splat (its footprint box; the per-splat data sits in an RGBA32F texture read with
``texelFetch``) and evaluates the Gaussian per pixel, blending back to front.

Colour, converted exactly once. ``core.render`` (like 3DGS) composites the sRGB-encoded splat
colours, and the render engine's Combined pass is ``srgb_to_linear`` of that composite, with
its alpha (``core.render.blender_passes.combined_linear``). The viewport does the same in two
passes: (1) the splats blend premultiplied, in sRGB encoding, into a private float
framebuffer of the view's size (a second attachment accumulates the alpha-weighted window
depth); (2) one full-screen pass converts that composite to scene-linear with the same
transfer function, writes the expected depth (so meshes in front hide the splats) and blends
it premultiplied into the bound framebuffer. Drawn into a cleared float ``GPUOffScreen`` this
gives the Combined pass. A ``POST_VIEW`` draw handler's framebuffer is Blender's overlay
buffer (an sRGB8 texture: the GPU encodes linear values once on write and blends in linear),
which Blender lays over the colour-managed scene after the view transform: the splats show
as ``lca render`` shows them on black (the "Standard" view), not tone-mapped by AgX/Filmic.

Caching: an avatar is deformed again only when its evaluated body-mesh vertices (or its
world matrix, or its Gaussian count) change, and the quads are projected and uploaded again
only when the merged splats or the view (matrices, size) change. Nothing compiles or
allocates at import or registration: the shaders, batches and textures are made on the first
draw. Without torch the handler draws nothing (the panel and the operators say what is
missing). Draw handlers never fire in the bpy module (no window), so the tests call
:func:`draw_splats` into a ``GPUOffScreen``.
"""

from dataclasses import dataclass, field

import bpy
import gpu
import numpy as np
from gpu_extras.batch import batch_for_shader

SPLATS_PER_ROW = 1024
"""Splats per row of the data texture (three RGBA32F texels each)."""

TEXELS_PER_SPLAT = 3

_SPLAT_VERTEX = """
void main()
{
  int s = gl_InstanceID;
  ivec2 base = ivec2(3 * (s % SPLATS_PER_ROW), s / SPLATS_PER_ROW);
  vec4 box = texelFetch(splats, base, 0);                       /* centre xy, radii xy */
  vec4 shape = texelFetch(splats, base + ivec2(1, 0), 0);       /* conic abc, depth */
  color = texelFetch(splats, base + ivec2(2, 0), 0);            /* sRGB rgb, opacity */
  conic = shape.xyz;
  depth = shape.w;
  offset = corner * box.zw;                   /* pixel centre - splat centre, y down */
  vec2 pixel = box.xy + offset;
  gl_Position = vec4(2.0 * pixel.x / image_size.x - 1.0, 1.0 - 2.0 * pixel.y / image_size.y,
                     0.0, 1.0);
}
"""

_SPLAT_FRAGMENT = """
void main()
{
  float sigma = 0.5 * (conic.x * offset.x * offset.x + conic.z * offset.y * offset.y) +
                conic.y * offset.x * offset.y;
  float alpha = min(0.999, color.a * exp(-sigma));
  if (sigma < 0.0 || alpha < 1.0 / 255.0) {
    discard;
  }
  out_color = vec4(color.rgb * alpha, alpha);
  out_depth = vec4(depth * alpha, 0.0, 0.0, alpha);
}
"""

_RESOLVE_VERTEX = """
void main()
{
  gl_Position = vec4(position, 0.0, 1.0);
}
"""

_RESOLVE_FRAGMENT = """
void main()
{
  ivec2 pixel = ivec2(gl_FragCoord.xy);
  vec4 composite = texelFetch(composite_color, pixel, 0);
  if (composite.a <= 0.0) {
    discard;
  }
  vec4 weighted = texelFetch(composite_depth, pixel, 0);
  /* core.render.color.srgb_to_linear, on the composite (the one conversion) */
  vec3 c = composite.rgb;
  vec3 power = pow((max(c, vec3(0.04045)) + 0.055) / 1.055, vec3(2.4));
  out_color = vec4(mix(power, c / 12.92, lessThanEqual(c, vec3(0.04045))), composite.a);
  gl_FragDepth = clamp(weighted.x / weighted.w, 0.0, 1.0);
}
"""


def _splat_shader() -> gpu.types.GPUShader:
    interface = gpu.types.GPUStageInterfaceInfo("lca_splat_interface")
    interface.smooth("VEC2", "offset")
    interface.flat("VEC3", "conic")
    interface.flat("FLOAT", "depth")
    interface.flat("VEC4", "color")
    info = gpu.types.GPUShaderCreateInfo()
    info.define("SPLATS_PER_ROW", str(SPLATS_PER_ROW))
    info.vertex_in(0, "VEC2", "corner")
    info.vertex_out(interface)
    info.sampler(0, "FLOAT_2D", "splats")
    info.push_constant("VEC2", "image_size")
    info.fragment_out(0, "VEC4", "out_color")
    info.fragment_out(1, "VEC4", "out_depth")
    info.vertex_source(_SPLAT_VERTEX)
    info.fragment_source(_SPLAT_FRAGMENT)
    return gpu.shader.create_from_info(info)


def _resolve_shader() -> gpu.types.GPUShader:
    info = gpu.types.GPUShaderCreateInfo()
    info.vertex_in(0, "VEC2", "position")
    info.sampler(0, "FLOAT_2D", "composite_color")
    info.sampler(1, "FLOAT_2D", "composite_depth")
    info.fragment_out(0, "VEC4", "out_color")
    info.depth_write("ANY")
    info.vertex_source(_RESOLVE_VERTEX)
    info.fragment_source(_RESOLVE_FRAGMENT)
    return gpu.shader.create_from_info(info)


@dataclass
class _AvatarEntry:
    """One avatar's deformed splats and what they were computed from."""

    vertices: np.ndarray
    matrix: np.ndarray
    count: int
    scene: object  # core.render.types.SplatScene


@dataclass
class SplatDrawer:
    """The GPU objects and caches of the viewport drawing (one while registered)."""

    avatars: dict = field(default_factory=dict)
    """as_pointer() of the avatar object -> _AvatarEntry."""
    problems: dict = field(default_factory=dict)
    """avatar name -> the one-sentence reason it is not drawn."""
    scene_key: tuple = ()
    merged: object = None
    quads_key: tuple = ()
    count: int = 0
    projections: int = 0
    """How many times the splats were projected and uploaded (for tests of the cache)."""
    deformations: int = 0
    """How many times an avatar was deformed (for tests of the cache)."""
    shaders: tuple = ()
    batches: tuple = ()
    data: object = None  # GPUTexture with the packed splats
    target: tuple = ()  # (size, colour texture, depth texture, framebuffer)

    def _ensure_gpu(self) -> None:
        if self.shaders:
            return
        splat, resolve = _splat_shader(), _resolve_shader()
        corners = [(-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0)]
        self.shaders = (splat, resolve)
        self.batches = (
            batch_for_shader(splat, "TRI_STRIP", {"corner": corners}),
            batch_for_shader(resolve, "TRI_STRIP", {"position": corners}),
        )

    def _ensure_target(self, width: int, height: int) -> gpu.types.GPUFrameBuffer:
        if not self.target or self.target[0] != (width, height):
            color = gpu.types.GPUTexture((width, height), format="RGBA32F")
            depth = gpu.types.GPUTexture((width, height), format="RGBA32F")
            framebuffer = gpu.types.GPUFrameBuffer(color_slots=(color, depth))
            self.target = ((width, height), color, depth, framebuffer)
        return self.target[3]

    def update_scene(self, depsgraph: bpy.types.Depsgraph) -> None:
        """Deform the avatars whose body mesh changed; merge the drawn ones."""
        from ..core.errors import LcaError
        from ..core.render.blender_passes import merge_scenes
        from ..core.render.scene import splat_scene
        from .avatar_object import read_binding
        from .live_link import avatar_gaussians, evaluated_vertices

        drawn, key, problems = [], [], {}
        for avatar in depsgraph.view_layer.objects:
            props = avatar.lca_avatar
            if not props.is_avatar or not props.show_splats or not avatar.visible_get():
                continue
            pointer = avatar.as_pointer()
            try:
                body = props.body_mesh
                vertices = evaluated_vertices(body, depsgraph) if body is not None else None
                matrix = np.array(avatar.matrix_world, dtype=np.float32)
                entry = self.avatars.get(pointer)
                count = len(avatar.data.vertices)
                if (
                    entry is None
                    or vertices is None
                    or entry.count != count
                    or not np.array_equal(entry.vertices, vertices)
                    or not np.array_equal(entry.matrix, matrix)
                ):
                    world = avatar_gaussians(avatar, depsgraph)
                    scene = splat_scene(read_binding(avatar.data), world)
                    entry = _AvatarEntry(vertices, matrix, count, scene)
                    self.avatars[pointer] = entry
                    self.deformations += 1
            except LcaError as err:
                problems[avatar.name] = str(err)
                self.avatars.pop(pointer, None)
                continue
            drawn.append(entry.scene)
            key.append(id(entry.scene))
        self.problems = problems
        if tuple(key) != self.scene_key:
            self.scene_key = tuple(key)
            self.merged = merge_scenes(drawn) if drawn else None
            self.quads_key = ()

    def update_quads(self, view_matrix, projection_matrix, width: int, height: int) -> None:
        """Project and upload the splats when the splats or the view changed."""
        view = np.array(view_matrix, dtype=np.float64).reshape(4, 4)
        projection = np.array(projection_matrix, dtype=np.float64).reshape(4, 4)
        key = (self.scene_key, view.tobytes(), projection.tobytes(), width, height)
        if key == self.quads_key:
            return
        self.quads_key = key
        self.count, self.data = 0, None
        if self.merged is None:
            return
        import torch

        from ..core.render.splat_quads import project_quads

        quads = project_quads(
            self.merged, torch.from_numpy(view), torch.from_numpy(projection), width, height
        )
        self.projections += 1
        self.upload(quads)

    def upload(self, quads) -> None:
        """Put ``quads`` (core.render.splat_quads.SplatQuads) into the data texture, in their
        order (back to front)."""
        self.count, self.data = 0, None
        if quads.count == 0:
            return
        packed = quads.packed()
        rows = -(-quads.count // SPLATS_PER_ROW)
        per_row = min(quads.count, SPLATS_PER_ROW)
        texels = np.zeros((rows * per_row, packed.shape[1]), np.float32)
        texels[: quads.count] = packed
        buffer = gpu.types.Buffer("FLOAT", texels.size, texels.ravel())
        size = (TEXELS_PER_SPLAT * per_row, rows)
        self.data = gpu.types.GPUTexture(size, format="RGBA32F", data=buffer)
        self.count = quads.count

    def draw(self, width: int, height: int) -> None:
        """Blend the uploaded splats into the bound framebuffer (module docstring)."""
        if self.count == 0:
            return
        self._ensure_gpu()
        splat, resolve = self.shaders
        splat_batch, resolve_batch = self.batches
        blend, depth_test, depth_mask = (
            gpu.state.blend_get(),
            gpu.state.depth_test_get(),
            gpu.state.depth_mask_get(),
        )
        framebuffer = self._ensure_target(width, height)
        try:
            with framebuffer.bind():
                framebuffer.clear(color=(0.0, 0.0, 0.0, 0.0))
                gpu.state.depth_test_set("NONE")
                gpu.state.depth_mask_set(False)
                gpu.state.blend_set("ALPHA_PREMULT")
                splat.bind()
                splat.uniform_sampler("splats", self.data)
                splat.uniform_float("image_size", (float(width), float(height)))
                splat_batch.draw_instanced(splat, instance_count=self.count)
            _, color, depth, _ = self.target
            gpu.state.blend_set("ALPHA_PREMULT")
            gpu.state.depth_test_set("LESS_EQUAL")
            gpu.state.depth_mask_set(False)
            resolve.bind()
            resolve.uniform_sampler("composite_color", color)
            resolve.uniform_sampler("composite_depth", depth)
            resolve_batch.draw(resolve)
        finally:
            gpu.state.blend_set(blend)
            gpu.state.depth_test_set(depth_test)
            gpu.state.depth_mask_set(depth_mask)


_DRAWERS: list[SplatDrawer] = []
"""The drawer while the extension is registered (none otherwise)."""

_HANDLES: list = []
"""The SpaceView3D draw handler's handle while registered."""


def draw_splats(
    view_matrix, projection_matrix, width: int, height: int, depsgraph=None
) -> SplatDrawer | None:
    """Draw the visible avatars' splats into the bound framebuffer, seen through
    ``view_matrix`` (world -> view, 4 x 4) and the OpenGL ``projection_matrix`` (4 x 4) on a
    ``width`` x ``height`` pixel target; ``depsgraph`` defaults to the context's evaluated one.

    Returns the drawer (its caches and counters), or None when the extension is not
    registered or torch is missing (nothing is drawn then).
    """
    from .dependencies import missing_dependency

    if not _DRAWERS or missing_dependency() is not None:
        return None
    drawer = _DRAWERS[0]
    if depsgraph is None:
        depsgraph = bpy.context.evaluated_depsgraph_get()
    drawer.update_scene(depsgraph)
    drawer.update_quads(view_matrix, projection_matrix, width, height)
    drawer.draw(width, height)
    return drawer


def _draw_view3d() -> None:
    """The POST_VIEW draw handler of every 3D Viewport."""
    context = bpy.context
    region, view = context.region, context.region_data
    if region is None or view is None:
        return
    draw_splats(view.view_matrix, view.window_matrix, region.width, region.height)


def draw_handles() -> tuple:
    """The draw handlers this module has added and not removed (for checks)."""
    return tuple(_HANDLES)


def register() -> None:
    _DRAWERS.append(SplatDrawer())
    handle = bpy.types.SpaceView3D.draw_handler_add(_draw_view3d, (), "WINDOW", "POST_VIEW")
    _HANDLES.append(handle)


def unregister() -> None:
    while _HANDLES:
        bpy.types.SpaceView3D.draw_handler_remove(_HANDLES.pop(), "WINDOW")
    _DRAWERS.clear()
