"""lca_addon/commands.py: ``blender -c lca import|render`` and ``lca blender import|render``.

The bpy module cannot run ``blender -c``, so the commands are tested twice over: through
``lca blender`` (lca_addon/blender_command.py, in a subprocess: it enables the extension from
this checkout in its own Blender) and through the registered callback's ``run`` in this
process.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.addon.util import BPY_MISSING, one_sentence, read_exr
from tests.photos import shared_photo

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)

ROOT = Path(__file__).resolve().parents[2]


def lca(*args: str, user: Path) -> subprocess.CompletedProcess:
    """``lca ARGS`` in a subprocess with its own Blender user folder."""
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(user))
    return subprocess.run(
        [sys.executable, "-m", "core.commands", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_lca_blender_import_then_render(addon, avatar_file, tmp_path):
    blend, frames = tmp_path / "shot.blend", tmp_path / "frames"
    done = lca(
        "blender", "import", str(avatar_file), "--blend", str(blend), "--size", "48x32",
        user=tmp_path / "user",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert blend.is_file() and "Imported 'small' (2,000 Gaussians)" in done.stdout

    done = lca(
        "blender", "render", str(blend), "--out", str(frames), "--frames", "1..2",
        user=tmp_path / "user",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in frames.iterdir()) == ["frame_0001.exr", "frame_0002.exr"]
    passes = read_exr(frames / "frame_0002.exr")
    assert set(passes) == {"Combined", "Depth", "Normal", "BodyPart"}
    assert passes["Combined"].shape == (32, 48, 4)
    hit = passes["Combined"][..., 3] > 0.5
    assert 0.05 < hit.mean() < 0.8  # the new camera frames the avatar
    assert np.array_equal(passes["BodyPart"][..., 0] >= 0, passes["Combined"][..., 3] > 0)

    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    scene = bpy.context.scene
    assert scene.render.engine == "LCA_GAUSSIAN" and scene.camera.name == "small_camera"
    assert scene.render.image_settings.file_format == "OPEN_EXR_MULTILAYER"
    assert {"small", "small_rig", "small_body"} <= set(bpy.data.objects.keys())
    assert bpy.data.objects["small"].lca_avatar.is_avatar


def test_lca_blender_help_and_bad_input(tmp_path):
    done = lca("blender", "render", "--help", user=tmp_path / "user")
    assert done.returncode == 0 and "--frames" in done.stdout, done.stderr
    done = lca("blender", "render", str(tmp_path / "missing.blend"), "--out", str(tmp_path),
               user=tmp_path / "user")  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    message = done.stderr.strip().splitlines()[-1].removeprefix("lca blender: error: ")
    assert "missing.blend" in message and one_sentence(message), done.stderr


def run(addon, *argv: str) -> int:
    return addon.module("lca_addon.commands").run(list(argv), prog="blender -c lca")


def test_import_into_an_existing_blend_keeps_what_is_there(addon, avatar_file, tmp_path):
    blend = tmp_path / "existing.blend"
    bpy.ops.mesh.primitive_cube_add()
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    assert run(addon, "import", str(avatar_file), "--blend", str(blend)) == 0
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    names = set(bpy.data.objects.keys())
    assert {"Cube", "small", "small_rig", "small_body", "small_camera"} <= names


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["import", "missing.lca", "--blend", "new.blend"], "missing.lca"),
        (["import", "AVATAR", "--blend", "no/such/folder/new.blend"], "folder"),
        (["import", "AVATAR", "--blend", "new.blend", "--size", "big"], "WIDTHxHEIGHT"),
        (["render", "photo.blend", "--out", "frames"], "photo.blend"),
        (["render", "scene.blend", "--out", "frames", "--frames", "3..1"], "START..END"),
        (["render", "nocamera.blend", "--out", "frames"], "no camera"),
        (["create", "me.jpg", "-o", "me.ply", "--blend", "new.blend"], "must be a .lca file"),
        (["create", "me.jpg", "-o", "me.lca", "--threads", "0"], "--threads must be 1"),
    ],
)
def test_bad_input_is_one_sentence(addon, avatar_file, tmp_path, capsys, monkeypatch, argv, needle):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photo.blend").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "nocamera.blend"))
    camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    bpy.context.scene.collection.objects.link(camera)
    bpy.context.scene.camera = camera
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    argv = [str(avatar_file) if a == "AVATAR" else a for a in argv]
    capsys.readouterr()
    assert run(addon, *argv) == 2
    message = capsys.readouterr().err.strip().removeprefix("blender -c lca: error: ")
    assert needle in message and one_sentence(message), message
    assert not (tmp_path / "new.blend").exists() and not (tmp_path / "frames").exists()


# -- create -----------------------------------------------------------------------------------

PHOTO = "fullbody_front_man_tshirt_apose_01.jpg"


def create_options(parser: argparse.ArgumentParser) -> set[tuple]:
    """(dest, option strings, default, choices, help) of the create subcommand's arguments."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {
        (a.dest, tuple(a.option_strings), a.default, tuple(a.choices or ()), a.help)
        for a in sub.choices["create"]._actions
        if a.dest != "help"
    }


def test_create_has_the_options_of_lca_create(addon):
    from core.commands.main import build_parser

    ours = create_options(addon.module("lca_addon.commands").build_parser("blender -c lca"))
    theirs = create_options(build_parser())
    only_lca = {option[0] for option in theirs - ours}
    assert only_lca <= {"progress"}, theirs - ours  # --progress json: for a worker process
    assert {option[0] for option in ours - theirs} == {"blend", "size"}
    assert {"allow_mixed", "threads", "allow_partial", "person"} <= {o[0] for o in theirs}


def test_lca_blender_create_help_and_bad_input(tmp_path):
    done = lca("blender", "create", "--help", user=tmp_path / "user")
    assert done.returncode == 0 and "--quality" in done.stdout and "--blend" in done.stdout
    assert "--allow-mixed" in done.stdout and "--threads" in done.stdout
    out = tmp_path / "me.lca"
    done = lca("blender", "create", str(tmp_path / "missing.jpg"), "-o", str(out),
               "--blend", str(tmp_path / "me.blend"), user=tmp_path / "user")  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    message = done.stderr.strip().splitlines()[-1].removeprefix("lca blender: error: ")
    assert "missing.jpg" in message and one_sentence(message.replace(str(tmp_path), "DIR"))
    assert not out.exists() and not (tmp_path / "me.blend").exists()


def test_create_writes_the_avatar_its_preview_and_a_blend(
    addon, anny_body, tmp_path, monkeypatch, capsys
):
    photo = shared_photo(PHOTO)
    pytest.importorskip("mediapipe", reason="perception needs mediapipe (the 'photos' extras)")
    import torch
    from PIL import Image

    from core.avatar.lca_file import load_lca
    from core.commands.create_options import PREVIEW_SIZE, render_preview

    create = addon.module("core.recon.create")  # a tiny "draft": the real one takes a minute
    tiny = create.Quality(count=2000, appearance_steps=5, body_steps=20, size=128)
    monkeypatch.setitem(create.QUALITIES, "draft", tiny)
    seen, real = [], create.create_avatar

    def spy(photos, settings, **kwargs):  # what reaches core, and torch's threads meanwhile
        seen.append((settings.allow_mixed, torch.get_num_threads()))
        return real(photos, settings, **kwargs)

    monkeypatch.setattr(create, "create_avatar", spy)
    threads = torch.get_num_threads()
    out, blend = tmp_path / "me.lca", tmp_path / "me.blend"
    code = run(addon, "create", str(photo), "-o", str(out), "--quality", "draft",
               "--blend", str(blend), "--size", "48x32", "--allow-mixed",
               "--threads", str(threads + 1))  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert seen == [(True, threads + 1)] and torch.get_num_threads() == threads
    assert "Created 'me' (2,000 Gaussians)" in printed.out and "appearance" in printed.err
    assert "me.preview.png" in printed.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me.blend", "me.lca", "me.preview.png"]
    # The preview is core's, as `lca create` writes it: the saved avatar, rendered again.
    preview = Image.open(tmp_path / "me.preview.png")
    assert preview.mode == "RGBA" and preview.size == PREVIEW_SIZE
    again = render_preview(load_lca(out))
    difference = np.abs(np.asarray(preview, np.int16) - np.asarray(again, np.int16))
    assert difference.max() <= 1 and np.asarray(preview)[..., 3].max() > 0
    bpy.ops.wm.open_mainfile(filepath=str(blend), load_ui=False)
    scene = bpy.context.scene
    assert scene.render.engine == "LCA_GAUSSIAN" and scene.camera.name == "me_camera"
    assert (scene.render.resolution_x, scene.render.resolution_y) == (48, 32)
    assert {"me", "me_rig", "me_body"} <= set(bpy.data.objects.keys())
    assert bpy.data.objects["me"].lca_avatar.source_path == str(out)
