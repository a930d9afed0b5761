"""Command-line commands: ``blender -c lca create|import|motion|render ...``, and
``lca blender ...``.

Registration adds :func:`command` with ``bpy.utils.register_cli_command("lca", ...)``; the
``lca blender`` command (``blender_command.py``, the entry point ``lca`` finds) runs the very
same :func:`run` with the bpy module (which cannot run ``blender -c``), after enabling this
extension from the checkout (``bpy_module.py``).

- ``import AVATAR.lca --blend FILE.blend``: adds the avatar to FILE.blend, or makes a new
  .blend when FILE.blend does not exist yet: the avatar, a camera framing it from the front
  (``--size``, default 512x512), the LCA Gaussian engine, a transparent film and multilayer
  EXR output. A file without a camera gets the framing camera too.
- ``create PHOTO... -o NAME.lca [--blend FILE.blend]``: creates the avatar from photos (the
  Create Avatar operator's job, run synchronously with its progress printed), writes NAME.lca
  and NAME.preview.png (the same preview ``lca create`` writes), and with ``--blend`` adds the
  avatar to FILE.blend as ``import`` does (a new file gets the camera and the engine). Without
  ``--blend`` the avatar is built in the current file only. Its options are ``lca create``'s,
  declared once in ``core/commands/create_options.py`` and read back as one ``CreateSettings``.
- ``motion AVATAR.lca|FILE.blend --motion CLIP.bvh|.fbx [--face CURVES.csv|.json] --blend
  OUT.blend``: puts the body motion and/or the face curves on the avatar (as the Motion
  panel's operators do: ``motion_import.apply_motion``, ``face_import.apply_face``) from
  ``--start`` (1), sets the frame range to the motion's and saves OUT.blend; an .lca goes into
  a new file first (with a camera and the engine, as ``import``). ``render OUT.blend`` then
  renders it. Nothing is saved when an input is refused.
- ``render FILE.blend --out DIR``: renders the file's frame range (or ``--frames A..B``, or
  ``--frame N``) with the LCA Gaussian engine to ``DIR/frame_####.exr``, multilayer EXR with
  32-bit float passes (Combined, Depth, Normal, BodyPart); ``--size`` overrides the
  resolution. Each frame is written under a temporary name and renamed when complete.

Bad input ends with one sentence on stderr and exit code 2, as the ``lca`` command does.
"""

import argparse
import shutil
import sys
from pathlib import Path

import bpy

from ..core.commands.create_options import add_create_options, preview_path
from ..core.create_settings import CreateSettings
from ..core.errors import LcaError
from .render_engine import ENGINE_ID

COMMAND_ID = "lca"
EXIT_BAD_INPUT = 2
DEFAULT_SIZE = "512x512"


def command(argv: list[str]) -> int:
    """The ``blender -c lca`` callback."""
    return run(argv, prog="blender -c lca")


def run(argv: list[str], prog: str) -> int:
    """Parse ``argv`` and run the command; returns the exit code (0, 1 or 2)."""
    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error argparse has already printed
        return stop.code if isinstance(stop.code, int) else EXIT_BAD_INPUT
    try:
        return int(args.func(args) or 0)
    except LcaError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="LCA Avatar in Blender: create and import avatars, render their passes.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    text = (
        "Create an avatar from photos of one person: NAME.lca and NAME.preview.png, "
        "optionally added to a .blend."
    )
    p = sub.add_parser("create", help=text, description=text)
    p.set_defaults(func=cmd_create)
    add_create_options(p)  # the options of `lca create`, from core
    p.add_argument("--blend", help="the .blend to add the avatar to (made when it does not exist)")
    p.add_argument(
        "--size", default=DEFAULT_SIZE, help=f"WIDTHxHEIGHT of a new file ({DEFAULT_SIZE})"
    )

    text = "Import an .lca avatar into a new or an existing .blend file."
    p = sub.add_parser("import", help=text, description=text)
    p.set_defaults(func=cmd_import)
    p.add_argument("avatar", help="the .lca avatar file")
    p.add_argument(
        "--blend", required=True, help="the .blend to add it to (made when it does not exist)"
    )
    p.add_argument(
        "--size", default=DEFAULT_SIZE, help=f"WIDTHxHEIGHT of a new file ({DEFAULT_SIZE})"
    )

    text = "Render a .blend with the LCA Gaussian engine to multilayer EXR frames."
    p = sub.add_parser("render", help=text, description=text)
    p.set_defaults(func=cmd_render)
    p.add_argument("blend", help="the .blend file")
    p.add_argument("--out", required=True, help="output folder for frame_####.exr")
    frames = p.add_mutually_exclusive_group()
    frames.add_argument("--frames", help="START..END (default: the file's frame range)")
    frames.add_argument("--frame", type=int, help="render this one frame")
    p.add_argument("--size", help="WIDTHxHEIGHT (default: the file's resolution)")

    text = (
        "Put body motion (BVH, FBX) and/or face curves (Live Link Face CSV, JSON) on an avatar "
        "and save a .blend to render."
    )
    p = sub.add_parser("motion", help=text, description=text)
    p.set_defaults(func=cmd_motion)
    p.add_argument("avatar", help="an .lca avatar (into a new file) or a .blend holding one")
    p.add_argument("--motion", help="a .bvh or .fbx body motion clip")
    p.add_argument("--face", help="a Live Link Face .csv or a face curves .json")
    p.add_argument("--blend", required=True, help="the .blend to save (may be the input)")
    p.add_argument("--name", help="which avatar of a .blend (default: its only one)")
    p.add_argument("--start", type=int, default=1, help="the first frame (1)")
    p.add_argument("--fps", type=int, help="the scene's frame rate (default: the file's, 24)")
    p.add_argument(
        "--size", default=DEFAULT_SIZE, help=f"WIDTHxHEIGHT of a new file ({DEFAULT_SIZE})"
    )

    text = (
        "Time the live link per frame (evaluated mesh read, deform, sort, viewport arrays); "
        "replaces the open file with an empty one."
    )
    p = sub.add_parser("bench", help=text, description=text)
    p.set_defaults(func=cmd_bench)
    p.add_argument("--count", type=int, action="append", help="splats; repeatable (100k, 200k)")
    p.add_argument("--repeats", type=int, default=5, help="timed runs; the median is reported")

    text = (
        "Time keying a retargeted clip on an avatar's armature (the Motion panel's keys); "
        "replaces the open file with an empty one."
    )
    p = sub.add_parser("bench-motion", help=text, description=text)
    p.set_defaults(func=cmd_bench_motion)
    p.add_argument("--frames", type=int, default=1000, help="frames to key (1000)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs; the median is reported")
    return parser


def cmd_bench(args: argparse.Namespace) -> int:
    from .benchmark import bench_live_link
    from .splat_object import native_splats_supported

    counts = args.count or (100_000, 200_000)
    if native_splats_supported():  # 5.3+: the Geometry Nodes binding, then the live link
        from .splat_benchmark import bench_native_splats

        bench_native_splats(counts, args.repeats)
    bench_live_link(counts, args.repeats)
    return 0


def cmd_bench_motion(args: argparse.Namespace) -> int:
    from .motion_benchmark import motion_keying_speed

    motion_keying_speed(max(1, args.frames), max(1, args.repeats))
    return 0


# -- create -----------------------------------------------------------------------------------


def cmd_create(args: argparse.Namespace) -> int:
    from .create_avatar import CreateOptions, check_options, create_job
    from .jobs import run_job

    output = Path(args.output).resolve()
    options = CreateOptions(
        photos=tuple(Path(p).resolve() for p in args.photos),
        output=output,
        settings=CreateSettings.from_args(args),
        preview=preview_path(output),
    )
    check_options(options)
    width, height = _size(args.size)
    blend = Path(args.blend).resolve() if args.blend else None
    new = blend is not None and _open_or_new(blend, args.blend)
    done = run_job(bpy.context, create_job(options))
    print(done.message)
    for warning in done.warnings:
        print(f"Note: {warning}")
    if blend is not None:
        _finish_blend(bpy.context.scene, done.made.avatar, new, width, height, blend)
        print(f"Saved {blend}")
    return 0


# -- import -----------------------------------------------------------------------------------


def cmd_import(args: argparse.Namespace) -> int:
    from .dependencies import missing_dependency
    from .import_avatar import import_avatar_file

    problem = missing_dependency()
    if problem is not None:
        raise LcaError(problem)
    width, height = _size(args.size)
    blend = Path(args.blend).resolve()
    avatar_path = Path(args.avatar).resolve()
    if not avatar_path.is_file():
        raise LcaError(f"The avatar file '{args.avatar}' does not exist; give an .lca file.")
    new = _open_or_new(blend, args.blend)
    objects, count = import_avatar_file(bpy.context, avatar_path)
    _finish_blend(bpy.context.scene, objects.avatar, new, width, height, blend)
    print(f"Imported '{objects.avatar.name}' ({count:,} Gaussians) into {blend}")
    return 0


def _open_or_new(blend: Path, given: str) -> bool:
    """Open ``blend``, or start an empty file when it does not exist yet; True when new."""
    if blend.exists():
        _open(blend)
        return False
    if not blend.parent.is_dir():
        raise LcaError(f"The folder of '{given}' does not exist; create it first.")
    bpy.ops.wm.read_homefile(use_empty=True)
    return True


def _finish_blend(
    scene: bpy.types.Scene,
    avatar: bpy.types.Object,
    new: bool,
    width: int,
    height: int,
    blend: Path,
) -> None:
    """A new file gets the engine and its output; a file without a camera gets one framing
    the avatar; then the file is saved."""
    if new:
        setup_scene(scene)
        scene.render.film_transparent = True  # Combined keeps the splats' alpha
    if scene.camera is None:
        frame_avatar(scene, avatar, width, height)
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), check_existing=False)


def setup_scene(scene: bpy.types.Scene) -> None:
    """The LCA Gaussian engine and multilayer EXR output with 32-bit float passes."""
    scene.render.engine = ENGINE_ID
    settings = scene.render.image_settings
    if hasattr(settings, "media_type"):  # Blender 5.0+: before the file format (not in 4.x)
        settings.media_type = "MULTI_LAYER_IMAGE"
    settings.file_format = "OPEN_EXR_MULTILAYER"
    settings.color_depth = "32"


def frame_avatar(scene: bpy.types.Scene, avatar: bpy.types.Object, width: int, height: int):
    """A new camera, made the scene's, that frames the avatar from the front."""
    from ..core.render.named_views import camera_for
    from .avatar_object import read_binding
    from .camera import place_camera
    from .live_link import avatar_gaussians

    depsgraph = bpy.context.evaluated_depsgraph_get()
    means = avatar_gaussians(avatar, depsgraph).means[0]
    parts = read_binding(avatar.data).part
    names = tuple(item.name for item in avatar.lca_avatar.part_names)
    view = camera_for("front", means, parts, names, width, height)
    data = bpy.data.cameras.new(f"{avatar.name}_camera")
    camera = bpy.data.objects.new(f"{avatar.name}_camera", data)
    scene.collection.objects.link(camera)
    place_camera(camera, scene, view)
    scene.camera = camera
    return camera


# -- motion -----------------------------------------------------------------------------------


def cmd_motion(args: argparse.Namespace) -> int:
    from .dependencies import missing_dependency
    from .face_import import apply_face
    from .motion_import import apply_motion

    problem = missing_dependency()
    if problem is not None:
        raise LcaError(problem)
    if not args.motion and not args.face:
        raise LcaError("Give a body motion (--motion FILE) or face curves (--face FILE), or both.")
    width, height = _size(args.size)
    source, blend = Path(args.avatar).resolve(), Path(args.blend).resolve()
    if not source.is_file() or source.suffix.lower() not in (".lca", ".blend"):
        raise LcaError(f"The avatar '{args.avatar}' is not an .lca or .blend file; give one.")
    if not blend.parent.is_dir():
        raise LcaError(f"The folder of '{args.blend}' does not exist; create it first.")
    new = source.suffix.lower() == ".lca"
    if new:
        from .import_avatar import import_avatar_file

        bpy.ops.wm.read_homefile(use_empty=True)
        avatar = import_avatar_file(bpy.context, source)[0].avatar
    else:
        _open(source)
        avatar = _find_avatar(bpy.context.scene, args.name, args.avatar)
    scene = bpy.context.scene
    if args.fps is not None:
        if not 1 <= args.fps <= 1000:
            raise LcaError(f"The frame rate {args.fps} is not between 1 and 1000.")
        scene.render.fps, scene.render.fps_base = args.fps, 1.0
    for obj in bpy.context.view_layer.objects:
        obj.select_set(False)
    if args.motion:
        done = apply_motion(bpy.context, avatar, Path(args.motion).resolve(), args.start)
        for note in done.notes:
            print(f"Note: {note}")
        print(done.message)
    if args.face:
        face = apply_face(bpy.context, avatar, Path(args.face).resolve(), args.start)
        if not args.motion:
            scene.frame_start, scene.frame_end = face.first_frame, face.last_frame
        print(face.message)
    _finish_blend(scene, avatar, new, width, height, blend)
    print(f"Saved {blend} (frames {scene.frame_start}-{scene.frame_end}); render it with `render`.")
    return 0


def _find_avatar(scene: bpy.types.Scene, name: str | None, given: str) -> bpy.types.Object:
    avatars = [obj for obj in scene.objects if obj.lca_avatar.is_avatar]
    if name is not None:
        avatars = [obj for obj in avatars if obj.name == name]
    if len(avatars) == 1:
        return avatars[0]
    if not avatars:
        raise LcaError(
            f"'{given}' holds no avatar{f' named {name!r}' if name else ''}; import one."
        )
    raise LcaError(f"'{given}' holds {len(avatars)} avatars; choose one with --name.")


# -- render -----------------------------------------------------------------------------------


def cmd_render(args: argparse.Namespace) -> int:
    blend = Path(args.blend).resolve()
    if not blend.is_file():
        raise LcaError(f"The .blend file '{args.blend}' does not exist; give a saved .blend.")
    out = Path(args.out).resolve()
    if out.exists() and not out.is_dir():
        raise LcaError(f"The output '{args.out}' is a file; give a folder.")
    size = _size(args.size) if args.size else None
    _open(blend)
    scene = bpy.context.scene
    start, end = _frame_range(args, scene)
    if scene.camera is None:
        raise LcaError(f"The scene '{scene.name}' has no camera; add one and save the file.")
    setup_scene(scene)
    if size is not None:
        scene.render.resolution_x, scene.render.resolution_y = size
        scene.render.resolution_percentage = 100
    out.mkdir(parents=True, exist_ok=True)
    written = render_frames(scene, out, start, end)
    for path in written:
        print(f"wrote {path}")
    print(f"Rendered {len(written)} frame(s) to {out}")
    return 0


def render_frames(scene: bpy.types.Scene, out: Path, start: int, end: int) -> list[Path]:
    """Render frames start..end to ``out/frame_####.exr``; each is written under a
    temporary folder and moved into place once Blender has written it."""
    partial = out / ".lca-partial"
    partial.mkdir(exist_ok=True)
    render = scene.render
    render.filepath = str(partial / "frame_")
    render.use_file_extension = True
    render.use_overwrite = True
    render.use_placeholder = False
    scene.frame_start, scene.frame_end, scene.frame_step = start, end, 1
    written: list[Path] = []

    def move_into_place(written_scene, *_):
        source = Path(written_scene.render.frame_path(frame=written_scene.frame_current))
        target = out / source.name
        source.replace(target)
        written.append(target)

    bpy.app.handlers.render_write.append(move_into_place)
    try:
        bpy.ops.render.render(animation=True, scene=scene.name)
    except RuntimeError as err:
        raise LcaError(_sentence(err)) from None
    finally:
        bpy.app.handlers.render_write.remove(move_into_place)
        shutil.rmtree(partial, ignore_errors=True)
    return written


# -- helpers ----------------------------------------------------------------------------------


def _open(blend: Path) -> None:
    try:
        bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    except RuntimeError as err:
        raise LcaError(
            f"'{blend}' could not be opened as a .blend file ({_sentence(err).rstrip('.')}); "
            "give a .blend saved by Blender."
        ) from None


def _size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if sep and width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0:
        return int(width), int(height)
    raise LcaError(f"Image size '{text}' is not WIDTHxHEIGHT (for example 512x512).")


def _frame_range(args: argparse.Namespace, scene: bpy.types.Scene) -> tuple[int, int]:
    if args.frame is not None:
        return args.frame, args.frame
    if not args.frames:
        return scene.frame_start, scene.frame_end
    first, sep, last = args.frames.partition("..")
    try:
        start, end = int(first), int(last)
    except ValueError:
        start, end = 1, 0
    if not sep or start > end:
        raise LcaError(f"Frames '{args.frames}' are not START..END (for example 1..24).")
    return start, end


def _sentence(err: BaseException) -> str:
    """Blender's error text (``Error: ...``) as one sentence."""
    text = " ".join(str(err).replace("Error:", "").split())
    return text if text.endswith(".") else f"{text}."
