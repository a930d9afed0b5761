"""Pictures to look at (not a test; run by hand): the posed native avatar on a floor beside a
cube, rendered by Cycles and EEVEE (bpy 5.3, AgX, the scene's own view transform), and by
`lca render` from the same camera (.venv), side by side:

    PYTHONPATH=. .venv53/bin/python -m tests.blender53.look OUT_DIR
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="lca-look53-"))

POSE = "arm-raise+finger-curl+jaw-open"


def main(out: Path) -> int:
    import bpy
    import numpy as np

    from lca_addon.build_extension import build_extension
    from tests.blender53.fixtures import Extension, build_native, prepare, set_pose, torch_side
    from tests.blender53.render_setup import add_camera, camera_fields, cycles, read_png

    out.mkdir(parents=True, exist_ok=True)
    zip_path = build_extension(output_dir=out / "dist")
    bpy.ops.extensions.package_install_files(
        repo="user_default", filepath=str(zip_path), enable_on_install=True
    )
    prepared = prepare(out, 20_000)
    bpy.ops.wm.read_homefile(use_empty=True)
    objects = build_native(Extension(), prepared)
    set_pose(objects.armature, prepared)
    objects.body.data.shape_keys.key_blocks["jawOpen"].value = 1.0
    objects.body.hide_render = True  # the splats, not the body mesh under them
    scene = bpy.context.scene
    floor = bpy.data.objects.new("floor", _plane(bpy, 6.0))
    floor.location = (0.0, 0.0, -0.87)
    cube = bpy.data.objects.new("cube", _cube(bpy, 0.3))
    cube.location = (0.55, -0.3, -0.57)
    for obj in (floor, cube):
        scene.collection.objects.link(obj)
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    sun.rotation_euler = (0.6, 0.2, 0.4)
    scene.collection.objects.link(sun)
    camera = add_camera(scene, 240, 320)
    cycles(scene, samples=64)
    scene.render.film_transparent = False
    scene.view_settings.view_transform = "AgX"
    images = {}
    for engine in ("CYCLES", "BLENDER_EEVEE"):
        scene.render.engine = engine
        if engine == "BLENDER_EEVEE":
            scene.eevee.taa_render_samples = 8
        path = out / f"{engine.lower()}.png"
        scene.render.filepath = str(path)
        start = time.perf_counter()
        bpy.ops.render.render(write_still=True)
        print(f"{engine}: {time.perf_counter() - start:.1f} s", flush=True)
        images[engine] = read_png(path)
    given = {"pose": np.array(POSE), **camera_fields(camera, scene)}
    np.savez(out / "camera.npz", **given)
    torch_side("render", prepared.lca, out / "camera.npz", out / "core.npz")
    core = np.load(out / "core.npz")
    grey = 0.3
    lca = core["rgb"] * core["alpha"][..., None] + grey * (1 - core["alpha"][..., None])
    row = np.concatenate([images["CYCLES"][..., :3], images["BLENDER_EEVEE"][..., :3], lca], 1)
    image = bpy.data.images.new("side_by_side", row.shape[1], row.shape[0], alpha=True)
    rgba = np.concatenate([row, np.ones(row.shape[:2] + (1,))], -1)[::-1].astype(np.float32)
    image.pixels.foreach_set(rgba.ravel())
    image.filepath_raw = str(out / "side_by_side.png")
    image.file_format = "PNG"
    image.save()
    print(out / "side_by_side.png")
    return 0


def _plane(bpy, size: float):
    mesh = bpy.data.meshes.new("floor")
    h = size / 2
    mesh.from_pydata([(-h, -h, 0), (h, -h, 0), (h, h, 0), (-h, h, 0)], [], [(0, 1, 2, 3)])
    return mesh


def _cube(bpy, size: float):
    mesh = bpy.data.meshes.new("cube")
    h = size / 2
    corners = [(x, y, z) for x in (-h, h) for y in (-h, h) for z in (-h, h)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh.from_pydata(corners, [], faces)
    return mesh


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
