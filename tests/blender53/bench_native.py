"""Figures for BENCHMARKS.md on bpy 5.3 without torch (not a test; run by hand):

    PYTHONPATH=. .venv53/bin/python -m tests.blender53.bench_native OUT_DIR [--nodes-only]

- the Geometry Nodes binding per frame at 100k and 200k splats
  (``lca_addon.splat_benchmark.bench_native_avatar``), the starter avatars and their rigs made
  by .venv (torch_side.py), built as the 5.3 import builds them;
- Cycles (CPU, 2 threads, 64 samples, no denoising) seconds for one 1920x1080 frame of the
  200k avatar in the arm-raise pose, one run; the same frame with `lca render` is timed by
  the caller in .venv (the command is printed).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="lca-bench53-"))


def main(out: Path, nodes_only: bool = False) -> int:
    import bpy

    from lca_addon.build_extension import build_extension
    from tests.blender53.fixtures import Extension, build_native, prepare, set_pose
    from tests.blender53.render_setup import add_camera, cycles

    zip_path = build_extension(output_dir=out / "dist")
    bpy.ops.extensions.package_install_files(
        repo="user_default", filepath=str(zip_path), enable_on_install=True
    )
    addon = Extension()
    bench = addon.module("lca_addon.splat_benchmark")
    print(f"Blender {bpy.app.version_string}, {os.cpu_count()} CPUs")
    for count in (100_000, 200_000):
        folder = out / f"avatar_{count}"
        folder.mkdir(parents=True, exist_ok=True)
        prepared = prepare(folder, count)
        bpy.ops.wm.read_homefile(use_empty=True)
        objects = build_native(addon, prepared, f"bench_{count}")
        print(bench.bench_native_avatar(objects.avatar, repeats=9).line(), flush=True)
    if nodes_only:
        return 0
    set_pose(objects.armature, prepared)
    scene = bpy.context.scene
    camera = add_camera(scene, 1920, 1080)
    camera.location = (0.05, -4.5, 0.0)
    cycles(scene, samples=64)
    scene.render.filepath = str(out / "cycles_200k_1080p.png")
    start = time.perf_counter()
    assert bpy.ops.render.render(write_still=True) == {"FINISHED"}
    seconds = time.perf_counter() - start
    print(f"Cycles CPU 1920x1080, 200,000 splats, 64 samples, 2 threads: {seconds:.1f} s")
    print(
        f"compare: .venv/bin/lca render {folder / 'small.lca'} --pose arm-raise+finger-curl"
        f" --size 1920x1080 --out {out / 'lca_render'} --backend torch"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), "--nodes-only" in sys.argv[2:]))
