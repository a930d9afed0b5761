"""The avatars' Gaussians in the 3D Viewport, drawn with Blender's ``gpu`` module.

Each redraw, :func:`draw_splats` takes every visible avatar of the view layer (with
``Object.lca_avatar.show_splats`` on) through the live link (the evaluated body mesh ->
``core.deform``, the one deformation path; ``live_link``), and hands the GPU three textures:
the Gaussians (mean, quaternion, scale: ``core.render.splat_quads.pack_geometry``), their
colours and opacities (``pack_colors``) and their back-to-front order for this view
(``back_to_front``, a NumPy sort of the view depths). The GPU draws one instanced quad per
Gaussian: the vertex shader projects it as ``core.render`` does (EWA projection, low-pass,
opacity-aware footprint, culling; its torch twin is ``splat_quads.project_quads``), the
fragment shader evaluates the Gaussian per pixel, and the quads blend back to front.

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

Caching: an avatar's binding is read from its mesh once (again only when
``live_link.binding_key`` changes); it is deformed again only when its evaluated body-mesh
vertices (or its world matrix, or its Gaussian count, or the offsets of its pose correction,
evaluated from the rig each time, live_link.correction_for) change; the Gaussians are uploaded
again only then, and sorted again only when they or the view change. Nothing compiles or
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

from . import extension_state

SPLATS_PER_ROW = 1024
"""Gaussians per row of the data textures (three RGBA32F texels each in the geometry one)."""

GEOMETRY_TEXELS = 3

MAX_SPLATS = 1 << 24
"""The order texture holds indices as float32, exact below 2^24."""

_SPLAT_VERTEX = """
/* core.render.splat_quads.project_quads, per Gaussian (its torch twin, line by line). */
const vec4 CULLED = vec4(2.0, 2.0, 2.0, 1.0); /* outside the clip volume: nothing drawn */

mat3 rotation(vec4 q) /* core.quaternion.quat_to_rotmat; mat3 takes columns */
{
  q = normalize(q);
  float w = q.x, x = q.y, y = q.z, z = q.w;
  return mat3(1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y + w * z), 2.0 * (x * z - w * y),
              2.0 * (x * y - w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z + w * x),
              2.0 * (x * z + w * y), 2.0 * (y * z - w * x), 1.0 - 2.0 * (x * x + y * y));
}

void main()
{
  int i = gl_InstanceID;
  int s = int(texelFetch(order, ivec2(i % SPLATS_PER_ROW, i / SPLATS_PER_ROW), 0).r);
  ivec2 base = ivec2(3 * (s % SPLATS_PER_ROW), s / SPLATS_PER_ROW);
  vec4 mean = texelFetch(geometry, base, 0);                   /* xyz, 1 */
  vec4 quat = texelFetch(geometry, base + ivec2(1, 0), 0);     /* wxyz */
  vec3 scale = texelFetch(geometry, base + ivec2(2, 0), 0).xyz;
  color = texelFetch(colors, ivec2(s % SPLATS_PER_ROW, s / SPLATS_PER_ROW), 0);
  conic = vec3(0.0);
  depth = 0.0;
  offset = vec2(0.0);
  gl_Position = CULLED;

  vec4 clip = full * vec4(mean.xyz, 1.0);
  float w = clip.w;
  if (!(w > 0.0) || abs(clip.z) > w || color.a < ALPHA_THRESHOLD) {
    return;
  }
  vec3 ndc = clip.xyz / w;
  vec2 half_size = vec2(0.5 * image_size.x, -0.5 * image_size.y);
  vec2 center = ndc.xy * half_size + 0.5 * image_size;
  /* d pixel / d world = half (M_i - ndc_i M_w) / w at the clamped ndc (rows of full). */
  vec2 clamped = clamp(ndc.xy, -FOV_CLAMP, FOV_CLAMP);
  vec3 row_w = vec3(full[0][3], full[1][3], full[2][3]);
  vec3 j0 = (vec3(full[0][0], full[1][0], full[2][0]) - clamped.x * row_w) * (half_size.x / w);
  vec3 j1 = (vec3(full[0][1], full[1][1], full[2][1]) - clamped.y * row_w) * (half_size.y / w);
  /* cov2d = m m^T with m = J R S */
  mat3 r = rotation(quat);
  vec3 m0 = (j0 * r) * scale;
  vec3 m1 = (j1 * r) * scale;
  float a = dot(m0, m0) + EPS2D;
  float b = dot(m0, m1);
  float c = dot(m1, m1) + EPS2D;
  float det = a * c - b * b;
  float extend = min(sqrt(2.0 * log(color.a / ALPHA_THRESHOLD)), MAX_EXTEND);
  vec2 radii = ceil(extend * sqrt(vec2(a, c)));
  vec2 lo = center - radii;
  vec2 hi = center + radii;
  if (!(det > 0.0) || hi.x <= 0.0 || lo.x >= image_size.x || hi.y <= 0.0 ||
      lo.y >= image_size.y) {
    return;
  }
  conic = vec3(c, -b, a) / det;
  depth = 0.5 * ndc.z + 0.5;
  offset = corner * radii;                    /* pixel centre - splat centre, y down */
  vec2 pixel = center + offset;
  gl_Position = vec4(2.0 * pixel.x / image_size.x - 1.0, 1.0 - 2.0 * pixel.y / image_size.y,
                     0.0, 1.0);
}
"""

_SPLAT_FRAGMENT = """
void main()
{
  float sigma = 0.5 * (conic.x * offset.x * offset.x + conic.z * offset.y * offset.y) +
                conic.y * offset.x * offset.y;
  float alpha = min(MAX_ALPHA, color.a * exp(-sigma));
  if (sigma < 0.0 || alpha < ALPHA_THRESHOLD) {
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


def _glsl_float(value: float) -> str:
    return repr(float(value))


def _splat_shader() -> gpu.types.GPUShader:
    from ..core.render.torch_backend import (
        ALPHA_THRESHOLD,
        EPS2D,
        FOV_CLAMP,
        MAX_ALPHA,
        MAX_EXTEND,
    )

    interface = gpu.types.GPUStageInterfaceInfo("lca_splat_interface")
    interface.smooth("VEC2", "offset")
    interface.flat("VEC3", "conic")
    interface.flat("FLOAT", "depth")
    interface.flat("VEC4", "color")
    info = gpu.types.GPUShaderCreateInfo()
    info.define("SPLATS_PER_ROW", str(SPLATS_PER_ROW))
    for name, value in (
        ("ALPHA_THRESHOLD", ALPHA_THRESHOLD),
        ("EPS2D", EPS2D),
        ("FOV_CLAMP", FOV_CLAMP),
        ("MAX_ALPHA", MAX_ALPHA),
        ("MAX_EXTEND", MAX_EXTEND),
    ):
        info.define(name, _glsl_float(value))
    info.vertex_in(0, "VEC2", "corner")
    info.vertex_out(interface)
    info.sampler(0, "FLOAT_2D", "geometry")
    info.sampler(1, "FLOAT_2D", "colors")
    info.sampler(2, "FLOAT_2D", "order")
    info.push_constant("MAT4", "full")
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
    if hasattr(info, "depth_write"):  # not in Blender 4.2, which takes gl_FragDepth as it is
        info.depth_write("ANY")
    info.vertex_source(_RESOLVE_VERTEX)
    info.fragment_source(_RESOLVE_FRAGMENT)
    return gpu.shader.create_from_info(info)


@dataclass
class _AvatarEntry:
    """One avatar's binding, its deformed splats and what they were computed from."""

    binding_key: tuple
    binding: object  # (GaussianBinding, faces) from live_link.avatar_binding
    serial: int  # which read of a binding this is (SplatDrawer.bindings_read)
    vertices: np.ndarray | None = None
    matrix: np.ndarray | None = None
    scene: object = None  # core.render.types.SplatScene
    correction: object = None  # pose_correction.read_correction's, or None
    pose: object = None  # the pose-correction offsets the scene was deformed with


@dataclass
class SplatDrawer:
    """The GPU objects and caches of the viewport drawing (one while registered)."""

    avatars: dict = field(default_factory=dict)
    """as_pointer() of the avatar object -> _AvatarEntry."""
    problems: dict = field(default_factory=dict)
    """avatar name -> the one-sentence reason it is not drawn."""
    scenes: tuple = ()
    """The drawn avatars' SplatScenes, in order."""
    scene_key: tuple = ()
    packed: np.ndarray | None = None
    """The last pack_geometry array (written into again: nothing allocated per frame)."""
    means: np.ndarray | None = None
    """(count, 3) float32 view of the uploaded Gaussians' means (for sorting)."""
    view_key: tuple = ()
    count: int = 0
    bindings_read: int = 0
    """How many times a binding was read from an avatar mesh (for tests of the cache)."""
    deformations: int = 0
    """How many times an avatar was deformed (for tests of the cache)."""
    uploads: int = 0
    """How many times the Gaussians were uploaded (for tests of the cache)."""
    sorts: int = 0
    """How many times the Gaussians were sorted for a view and the order uploaded."""
    shaders: tuple = ()
    batches: tuple = ()
    geometry: object = None  # GPUTexture: means, quaternions, scales
    colors: object = None  # GPUTexture: sRGB colours and opacities
    colors_key: tuple = ()
    """The bindings the colour texture was made from (view-independent colours only)."""
    order: object = None  # GPUTexture: back-to-front indices
    order_rows: np.ndarray | None = None  # its (capacity, 1) float32 data, reused
    full: object = None  # mathutils.Matrix world -> clip of the sorted view
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
        """Deform the avatars whose body mesh changed; upload the drawn ones' Gaussians."""
        from ..core.errors import LcaError
        from ..core.posing import splat_scene
        from .live_link import (
            avatar_binding,
            binding_key,
            correction_for,
            deform_avatar,
            evaluated_vertices,
        )
        from .pose_correction import read_correction

        drawn, key, bindings, problems, seen = [], [], [], {}, set()
        for avatar in depsgraph.view_layer.objects:
            props = avatar.lca_avatar
            if not props.gpu_drawn or not avatar.visible_get():
                continue
            pointer = avatar.as_pointer()
            seen.add(pointer)
            try:
                entry = self.avatars.get(pointer)
                bound_key = binding_key(avatar)
                if entry is None or entry.binding_key != bound_key:
                    self.avatars.pop(pointer, None)
                    self.bindings_read += 1
                    entry = _AvatarEntry(bound_key, avatar_binding(avatar), self.bindings_read)
                    entry.correction = read_correction(avatar.original.data)
                    self.avatars[pointer] = entry
                vertices = evaluated_vertices(props.body_mesh, depsgraph)
                matrix = np.array(avatar.matrix_world, dtype=np.float32)
                binding, faces = entry.binding
                offsets = None
                if entry.correction is not None:
                    offsets = correction_for(avatar, depsgraph, binding, entry.correction)
                if (
                    entry.scene is None
                    or not np.array_equal(entry.vertices, vertices)
                    or not np.array_equal(entry.matrix, matrix)
                    or not _same(entry.pose, offsets)
                ):
                    world = deform_avatar(binding, faces, vertices, offsets)
                    entry.scene = splat_scene(binding, world)
                    entry.vertices, entry.matrix, entry.pose = vertices, matrix, offsets
                    self.deformations += 1
            except LcaError as err:
                problems[avatar.name] = str(err)
                self.avatars.pop(pointer, None)
                continue
            drawn.append(entry.scene)
            key.append(id(entry.scene))
            bindings.append(entry.serial)
        for pointer in set(self.avatars) - seen:
            del self.avatars[pointer]
        self.problems = problems
        if tuple(key) != self.scene_key:
            self.scene_key = tuple(key)
            self.upload_gaussians(drawn, tuple(bindings))

    def upload_gaussians(self, scenes, bindings: tuple = ()) -> None:
        """Put the Gaussians of ``scenes`` (core.render.types.SplatScene) into the geometry
        texture, and their colours too when these do not depend on the view and ``bindings``
        (what the scenes' colours come from) changed since the last upload."""
        from ..core.errors import LcaError
        from ..core.render.splat_quads import pack_geometry, view_dependent

        self.scenes, self.view_key = tuple(scenes), ()
        self.count, self.geometry, self.means = 0, None, None
        count = sum(scene.count for scene in scenes)
        if count == 0:
            self.colors, self.colors_key = None, ()
            return
        if count >= MAX_SPLATS:
            raise LcaError(f"The viewport draws at most {MAX_SPLATS - 1:,} Gaussians at once.")
        packed = pack_geometry(scenes, _capacity(count), self.packed)
        self.packed = packed
        self.geometry = _texture(packed, GEOMETRY_TEXELS)
        self.means = packed[:count, 0:3]
        if view_dependent(scenes):
            self.colors, self.colors_key = None, ()
        elif not bindings or bindings != self.colors_key:
            self.colors, self.colors_key = self._color_texture(None, None), bindings
        self.count = count
        self.uploads += 1

    def _color_texture(self, view, projection):
        import torch

        from ..core.render.splat_quads import pack_colors

        eye = torch.eye(4, dtype=torch.float64)
        view = eye if view is None else torch.from_numpy(view)
        projection = eye if projection is None else torch.from_numpy(projection)
        count = sum(scene.count for scene in self.scenes)
        return _texture(pack_colors(self.scenes, view, projection, _capacity(count)), 1)

    def update_quads(self, view_matrix, projection_matrix, width: int, height: int) -> None:
        """Sort the Gaussians for this view (and colour them, when their colour depends on
        the view) when the Gaussians or the view changed."""
        from mathutils import Matrix

        from ..core.render.splat_quads import back_to_front, view_dependent

        if self.count == 0:
            return
        view = np.array(view_matrix, dtype=np.float64).reshape(4, 4)
        projection = np.array(projection_matrix, dtype=np.float64).reshape(4, 4)
        key = (self.scene_key, view.tobytes(), projection.tobytes())
        self.full = Matrix((projection @ view).tolist())
        if key == self.view_key:
            return
        self.view_key = key
        if view_dependent(self.scenes):
            self.colors = self._color_texture(view, projection)
        self.upload_order(back_to_front(self.means, view))
        self.sorts += 1

    def upload_order(self, order: np.ndarray) -> None:
        """Draw the Gaussians in ``order`` ((count,) indices, the first drawn first)."""
        if order.shape != (self.count,):
            raise ValueError(f"order must be ({self.count},), got {order.shape}.")
        capacity = _capacity(self.count)
        if self.order_rows is None or self.order_rows.shape[0] != capacity:
            self.order_rows = np.zeros((capacity, 1), np.float32)
        self.order_rows[: self.count, 0] = order
        self.order = _texture(self.order_rows, 1)

    def draw(self, width: int, height: int) -> None:
        """Blend the uploaded splats into the bound framebuffer (module docstring)."""
        if self.count == 0 or self.order is None:
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
                splat.uniform_sampler("geometry", self.geometry)
                splat.uniform_sampler("colors", self.colors)
                splat.uniform_sampler("order", self.order)
                splat.uniform_float("full", self.full)
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


def _same(a, b) -> bool:
    """Whether two pose-correction offsets (tensors, or None) are the same."""
    import torch

    return (a is None and b is None) or (
        a is not None and b is not None and bool(torch.equal(a, b))
    )


def _capacity(count: int) -> int:
    """Rows of a data texture for ``count`` Gaussians times its splats per row: ``count``
    rounded up to whole rows (one row when it fits)."""
    rows = -(-count // SPLATS_PER_ROW)
    return rows * min(count, SPLATS_PER_ROW)


def _texture(packed: np.ndarray, texels: int) -> gpu.types.GPUTexture:
    """An RGBA32F texture (or R32F for one float per Gaussian) of ``packed`` (capacity, k)
    float32: ``texels`` texels per Gaussian, SPLATS_PER_ROW Gaussians per row."""
    capacity, width = packed.shape
    per_row = min(capacity, SPLATS_PER_ROW)
    size = (texels * per_row, capacity // per_row)
    buffer = gpu.types.Buffer("FLOAT", packed.size, packed.reshape(-1))
    return gpu.types.GPUTexture(size, format="R32F" if width == 1 else "RGBA32F", data=buffer)


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

    state = extension_state.current()
    if state is None or state.drawer is None or missing_dependency() is not None:
        return None
    drawer = state.drawer
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
    state = extension_state.current()
    return () if state is None or state.draw_handle is None else (state.draw_handle,)


def register() -> tuple[SplatDrawer, object]:
    """A drawer and the SpaceView3D draw handler that uses it (for the extension's state)."""
    drawer = SplatDrawer()
    handle = bpy.types.SpaceView3D.draw_handler_add(_draw_view3d, (), "WINDOW", "POST_VIEW")
    return drawer, handle


def unregister(handle) -> None:
    """Remove the draw handler :func:`register` added (None: nothing to remove)."""
    if handle is not None:
        bpy.types.SpaceView3D.draw_handler_remove(handle, "WINDOW")
