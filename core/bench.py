"""`lca bench`: speed figures with ratios against the targets (never asserted in tests).

Each figure is the median of ``--repeats`` timed runs after one untimed warm-up run.
"""

from __future__ import annotations

import dataclasses
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch

DEFORM_TARGET_S = 0.005
"""Deform 100k Gaussians on CPU (issue 3)."""
RENDER_TARGET_S = 3.0
"""Render 1920x1080 with 200k Gaussians on CPU (issue 3)."""
CREATE_TARGET_S = {"cpu": 300.0, "cuda": 30.0}
"""`lca create` of one photo at standard quality: 5 minutes on CPU, 30 s on GPU (issue 4)."""
FACE_CAPTURE_TARGET_FPS = 15.0
"""`lca face-capture` of a 1280x720 video on CPU, MediaPipe included (issue 15)."""


def median_seconds(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median, min) wall seconds of ``fn`` over ``repeats`` runs, after one warm-up."""
    fn()
    times = []
    for _ in range(max(repeats, 1)):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def machine() -> str:
    return (
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch "
        f"threads, torch {torch.__version__}, Python {platform.python_version()}"
    )


def _starter(count: int):
    from .body.anny_body import AnnyBody
    from .deform.template import make_starter_avatar

    body = AnnyBody()
    return body, make_starter_avatar(body, count=count)


def bench_deform(counts: list[int], repeats: int) -> None:
    from .body.poses import parse_pose
    from .deform import deform_gaussians

    for count in counts:
        body, avatar = _starter(count)
        vertices = avatar.canonical_vertices[None]
        with torch.no_grad():
            med, best = median_seconds(
                partial(deform_gaussians, vertices, avatar.faces, avatar.binding), repeats
            )
            pose = parse_pose(body, "arm-raise+finger-curl+jaw-open")
            rot, expr, trans = pose.rotations[None], pose.expression[None], pose.translation[None]
            body_med, _ = median_seconds(partial(body.forward, None, rot, expr, trans), repeats)
        print(
            f"deform {count:>9,} Gaussians: median {med * 1e3:7.2f} ms (min {best * 1e3:.2f}); "
            f"target {DEFORM_TARGET_S * 1e3:.0f} ms -> {med / DEFORM_TARGET_S:.2f}x of budget; "
            f"body forward {body_med * 1e3:.2f} ms"
        )


def _on_device(scene, device: torch.device):
    """The SplatScene with every tensor on ``device``."""
    moved = {f.name: getattr(scene, f.name) for f in dataclasses.fields(scene)}
    return type(scene)(**{k: None if v is None else v.to(device) for k, v in moved.items()})


def _time_render(scene, camera, backend: str, repeats: int) -> tuple[float, float]:
    """(median, min) seconds of one render without gradients, the GPU's work included."""
    from .render import render

    def once() -> None:
        render(scene, camera, backend=backend)
        if scene.means.is_cuda:
            torch.cuda.synchronize()

    with torch.no_grad():
        return median_seconds(once, repeats)


def bench_render(counts: list[int], sizes: list[str], repeats: int, backend: str) -> None:
    """Render timings; with backend "gsplat" the scene lives on the GPU, and the torch backend
    is timed there too, for gsplat's speed-up on the same device."""
    from .errors import LcaError
    from .posing import avatar_scene
    from .render.named_views import camera_for, parse_size

    compare = backend == "gsplat"
    if compare and not torch.cuda.is_available():
        raise LcaError("The gsplat backend needs an NVIDIA GPU with CUDA; use --backend torch.")
    device = torch.device("cuda" if compare else "cpu")
    for count in counts:
        _, avatar = _starter(count)
        scene = _on_device(avatar_scene(avatar), device)
        for size in sizes:
            width, height = parse_size(size)
            camera = camera_for(
                "front", scene.means.cpu(), avatar.binding.part, avatar.part_names, width, height
            )
            med, best = _time_render(scene, camera, backend, repeats)
            target = ""
            if (width, height, count) == (1920, 1080, 200_000):
                target = (
                    f"; target {RENDER_TARGET_S:.0f} s -> {med / RENDER_TARGET_S:.2f}x of budget"
                )
            print(
                f"render {width}x{height} {count:>9,} Gaussians ({backend}): median {med:6.3f} s "
                f"(min {best:.3f}, {1 / med:5.2f} FPS){target}"
            )
            if compare:
                ref, _ = _time_render(scene, camera, "torch", repeats)
                print(
                    f"render {width}x{height} {count:>9,} Gaussians (torch, same GPU): median "
                    f"{ref:6.3f} s -> gsplat is {ref / med:.1f}x faster"
                )


def bench_io(counts: list[int], repeats: int) -> None:
    from .avatar.benchmark import bench_io as run_io

    for count in counts:
        r = run_io(count=count, repeats=repeats)
        print(
            f"io {r.count:>9,} Gaussians: file {r.file_bytes / 1e6:.1f} MB, write median "
            f"{r.write_s * 1e3:.1f} ms, read median {r.read_s * 1e3:.1f} ms "
            f"({r.file_bytes / 1e6 / r.read_s:.0f} MB/s read)"
        )


def bench_create(
    qualities: list[str], photo: str | None, repeats: int, device: str, out_dir: str
) -> None:
    """Seconds per stage of `lca create` on one photo (default: the sample person)."""
    from pathlib import Path

    from .create_settings import CreateSettings
    from .recon.create import create_avatar, resolve_device

    target = resolve_device(device)
    if photo is None:
        from .body.anny_body import AnnyBody
        from .fileio import ensure_writable_dir
        from .recon.sample_person import write_sample_photos

        photo = str(write_sample_photos(AnnyBody(), ensure_writable_dir(Path(out_dir)))[0])
    goal = CREATE_TARGET_S[target.type]
    for quality in qualities:
        runs = [
            create_avatar([Path(photo)], CreateSettings(quality=quality, device=device))
            for _ in range(max(repeats, 1))
        ]
        stages = {
            name: statistics.median(getattr(r.seconds, name) for r in runs)
            for name in ("load", "perceive", "body", "appearance", "score")
        }
        total = statistics.median(r.seconds.total for r in runs)
        parts = ", ".join(f"{name} {value:.1f}" for name, value in stages.items())
        line = f"create {quality:<8} on {target.type}: {total:.1f} s ({parts})"
        if quality == "standard":
            line += f", {total / goal:.2f}x the {goal:.0f} s goal"
        psnr = statistics.median(r.psnr[0] for r in runs)
        print(f"{line}; self view {psnr:.1f} dB; median of {len(runs)} on {Path(photo).name}")


def face_capture_speed(frames: int = 60, size: str = "1280x720", repeats: int = 3) -> None:
    """Frames per second of face capture (decode, FaceMesh, fit, smoothing) on a synthetic
    video of Anny's face (core.motion.face_video, four expressions in turn), against decoding
    and MediaPipe alone on the same video, median of ``repeats`` runs."""
    import tempfile
    from pathlib import Path

    import imageio_ffmpeg
    import numpy as np

    from .body.anny_body import AnnyBody
    from .motion.face_capture import capture_face
    from .motion.face_video import face_avatar, face_frames, write_video
    from .recon.landmarkers import face_mesh_video
    from .render.named_views import parse_size

    width, height = parse_size(size)
    body = AnnyBody()
    names = body.expression_names
    expressions = torch.zeros(4, len(names))
    for row, name, value in (
        (1, "jawOpen", 0.6),
        (2, "eyeBlinkLeft", 1.0),
        (3, "browInnerUp", 0.5),
    ):
        expressions[row, names.index(name)] = value
    shots = face_frames(face_avatar(body), body, expressions, width, height)

    def mediapipe_alone(video: str) -> None:
        reader = imageio_ffmpeg.read_frames(video)
        meta = next(reader)
        w, h = meta["size"]
        with face_mesh_video() as find:
            for raw in reader:
                find(np.frombuffer(raw, dtype=np.uint8).reshape(h, w, 3))

    with tempfile.TemporaryDirectory() as folder:
        video = str(Path(folder) / "face.mp4")
        write_video(video, [shots[(t // 8) % len(shots)] for t in range(frames)], 30.0)
        med, _ = median_seconds(partial(capture_face, video, body=body), repeats)
        base, _ = median_seconds(partial(mediapipe_alone, video), repeats)
    fps, base_fps = frames / med, frames / base
    print(
        f"face-capture {width}x{height}, {frames} frames: median {med:.2f} s -> {fps:.1f} "
        f"frames/s; target {FACE_CAPTURE_TARGET_FPS:.0f} -> {fps / FACE_CAPTURE_TARGET_FPS:.2f}x; "
        f"decode + MediaPipe alone {base_fps:.1f} frames/s -> capture runs at "
        f"{fps / base_fps:.2f}x of it"
    )


BENCHMARKS = ("deform", "render", "io", "create", "motion", "face-capture", "infer", "train")
"""What `lca bench` measures here (`lca bench blender` runs in Blender, lca_addon/benchmark.py)."""


@dataclass(frozen=True)
class BenchRequest:
    """One `lca bench` run. what: one of BENCHMARKS; counts: Gaussian counts; sizes:
    WIDTHxHEIGHT of render; repeats: timed runs; backend: render's backend; qualities: create's
    qualities; photo: create's photo (None: the sample person); device: create's device. An
    empty tuple or None takes the benchmark's default (in :func:`run`)."""

    what: str
    counts: tuple[int, ...] = ()
    sizes: tuple[str, ...] = ()
    repeats: int | None = None
    backend: str = "torch"
    qualities: tuple[str, ...] = ()
    photo: str | None = None
    device: str = "auto"
    model: str = "tiny"
    data: str | None = None


def run(request: BenchRequest) -> int:
    """Print the machine, then the figures of ``request``; returns 0."""
    print(f"machine: {machine()}")
    if request.what == "deform":
        bench_deform(list(request.counts) or [100_000, 200_000], request.repeats or 5)
    elif request.what == "render":
        bench_render(
            list(request.counts) or [100_000, 200_000],
            list(request.sizes) or ["512x512", "1920x1080"],
            request.repeats or 5,
            request.backend,
        )
    elif request.what == "create":
        bench_create(
            list(request.qualities) or ["draft", "standard"],
            request.photo,
            request.repeats or 1,
            request.device,
            "out/bench",
        )
    elif request.what == "motion":
        import tempfile
        from pathlib import Path

        from .body.anny_body import AnnyBody
        from .motion.benchmark import bench_motion

        with tempfile.TemporaryDirectory() as folder:
            bench_motion(AnnyBody(), request.repeats or 5, median_seconds, Path(folder))
        face_capture_speed(repeats=request.repeats or 3)
    elif request.what == "infer":
        from .recon.create import resolve_device
        from .train.benchmark import bench_infer

        bench_infer(request.model, request.repeats or 3, resolve_device(request.device))
    elif request.what == "train":
        from .train.benchmark import bench_train

        bench_train(request.data or "data/synth", request.repeats or 3)
    elif request.what == "face-capture":
        for size in list(request.sizes) or ["1280x720"]:
            face_capture_speed(size=size, repeats=request.repeats or 3)
    else:
        bench_io(list(request.counts) or [200_000], request.repeats or 5)
    return 0
