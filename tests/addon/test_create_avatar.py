"""lca_addon/create_avatar.py: Create Avatar from Photos, end to end on a real photo.

A real ``create_avatar`` takes about a minute at draft quality, so these tests swap the
"draft" preset of the extension's core for a tiny one; everything else (MediaPipe
perception, body fitting, appearance, the rig, the scene build, the file) is the real thing.
"""

from pathlib import Path

import pytest

from tests.addon.util import (
    BPY_MISSING,
    FakeWindowContext,
    drive_modal,
    one_sentence,
    scene_counts,
)
from tests.photos import shared_photo

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)

PHOTO = "fullbody_front_man_tshirt_apose_01.jpg"
TINY = {"count": 2000, "appearance_steps": 5, "body_steps": 20, "size": 128}


@pytest.fixture
def photo() -> Path:
    path = shared_photo(PHOTO)
    pytest.importorskip("mediapipe", reason="perception needs mediapipe (the 'photos' extras)")
    return path


@pytest.fixture
def tiny_draft(addon, anny_body, monkeypatch):
    """The extension's "draft" preset made tiny (anny_body: the Anny cache is warm)."""
    create = addon.module("core.recon.create")
    monkeypatch.setitem(create.QUALITIES, "draft", create.Quality(**TINY))


def test_operator_creates_the_avatar_file_and_scene_in_one_undo_step(
    addon, tiny_draft, photo, tmp_path, monkeypatch
):
    import torch

    create = addon.module("core.recon.create")
    seen, real = [], create.create_avatar

    def spy(photos, settings, **kwargs):  # what reaches core, and torch's threads meanwhile
        seen.append((settings.allow_mixed, torch.get_num_threads()))
        return real(photos, settings, **kwargs)

    monkeypatch.setattr(create, "create_avatar", spy)
    threads = torch.get_num_threads()
    out = tmp_path / "me.lca"
    bpy.ops.ed.undo_push(message="before")  # background mode starts without an undo stack
    before = scene_counts()
    result = bpy.ops.lca.create_avatar(
        "EXEC_DEFAULT",
        True,  # undo as a user's click
        files=[{"name": photo.name}],
        directory=str(photo.parent),
        quality="draft",
        output=str(out),
        allow_mixed=True,
        threads=threads + 1,
    )
    assert result == {"FINISHED"}
    assert seen == [(True, threads + 1)] and torch.get_num_threads() == threads
    from core.avatar.lca_file import load_lca_with_rig

    saved, rig = load_lca_with_rig(out)
    assert rig is not None and len(rig.bone_names) == 104  # stored for a torch-free import
    assert saved.count == TINY["count"] and saved.metadata["name"] == "me"
    assert saved.metadata["photos"] == photo.name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me.lca"]
    avatar = bpy.data.objects["me"]
    assert avatar.lca_avatar.is_avatar and len(avatar.data.vertices) == TINY["count"]
    assert avatar.lca_avatar.source_path == str(out)
    assert {"me_rig", "me_body"} <= set(bpy.data.objects.keys())
    bpy.ops.ed.undo()
    assert scene_counts() == before and "me" not in bpy.data.objects


def test_esc_leaves_no_file_and_the_scene_unchanged(addon, tiny_draft, photo, tmp_path):
    module = addon.module("lca_addon.create_avatar")
    jobs = addon.module("lca_addon.jobs")
    settings = addon.module("core.create_settings").CreateSettings(quality="draft")
    options = module.CreateOptions(photos=(photo,), output=tmp_path / "me.lca", settings=settings)
    module.check_options(options)

    class Probe(jobs.JobOperator):
        reports: list = []

        def report(self, kinds, message):
            self.reports.append((next(iter(kinds)), message))

    operator, context = Probe(), FakeWindowContext()
    before = scene_counts()
    operator.start_job(context, module.create_job(options))
    result = drive_modal(operator, context, cancel_when=lambda stage: stage == "fitting body")
    assert result == {"CANCELLED"}
    assert operator.reports == [("INFO", "Creating avatar cancelled; nothing was added.")]
    assert list(tmp_path.iterdir()) == [] and scene_counts() == before


@pytest.mark.parametrize("case", ["no photos", "not an image", "not lca", "no folder"])
def test_bad_input_is_one_sentence_and_leaves_nothing(addon, tmp_path, case):
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    files = [] if case == "no photos" else [{"name": text.name}]
    output = {
        "not lca": tmp_path / "me.ply",
        "no folder": tmp_path / "missing" / "me.lca",
    }.get(case, tmp_path / "me.lca")
    before = scene_counts()
    with pytest.raises(RuntimeError) as raised:
        bpy.ops.lca.create_avatar(
            files=files, directory=str(tmp_path), quality="draft", output=str(output)
        )
    message = str(raised.value).removeprefix("Error: ").strip()
    assert one_sentence(message.replace(str(tmp_path), "DIR")), message
    needle = {"no photos": "No photos", "not an image": "notes.jpg", "not lca": ".lca"}
    assert needle.get(case, "does not exist") in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.jpg"]
    assert scene_counts() == before


def test_default_output_is_next_to_the_first_photo(addon):
    default_output = addon.module("lca_addon.create_avatar").default_output
    assert default_output((Path("/p/front.jpg"), Path("/q/back.png"))) == Path("/p/front.lca")


def test_operator_is_registered_with_undo_and_a_file_browser(addon):
    operator = bpy.types.LCA_OT_create_avatar
    assert operator.bl_options == {"UNDO"}
    properties = bpy.ops.lca.create_avatar.get_rna_type().properties
    names = {"files", "directory", "quality", "device", "seed", "person", "allow_partial"}
    assert names | {"allow_mixed", "threads", "output"} <= set(properties.keys())
    mixed = properties["allow_mixed"]
    assert mixed.name == "Allow Different People" and not mixed.default
    assert "different people" in mixed.description and "refused" in mixed.description
    assert properties["threads"].default == 0  # torch's choice
    assert [item.identifier for item in properties["quality"].enum_items] == [
        "draft",
        "standard",
        "high",
    ]
    from core.create_settings import METHODS

    assert tuple(item.identifier for item in properties["method"].enum_items) == METHODS
    assert properties["method"].default == "fit" and properties["checkpoint"].default == ""


def test_missing_mediapipe_says_what_to_do(addon, tmp_path, monkeypatch):
    """Without mediapipe the operator names the installer's option; where mediapipe has no
    build for Blender's Python (3.13), it says how to make the avatar instead."""
    dependencies = addon.module("lca_addon.dependencies")
    absent = dependencies.Requirement("lca_no_mediapipe", "mediapipe", "0.10.21", "installer")
    monkeypatch.setattr(dependencies, "PHOTO_REQUIREMENTS", (absent,))
    photo = tmp_path / "front.jpg"
    photo.write_bytes(b"")

    def refusal() -> str:
        with pytest.raises(RuntimeError) as raised:
            bpy.ops.lca.create_avatar(
                files=[{"name": photo.name}], directory=str(tmp_path), quality="draft"
            )
        return str(raised.value).removeprefix("Error: ").strip()

    message = refusal()
    assert message == dependencies.missing_photo_dependency() and one_sentence(message)
    assert "mediapipe" in message and "Also install photo reconstruction (MediaPipe)" in message
    assert "Install Dependencies" in message

    monkeypatch.setattr(dependencies, "PHOTO_PYTHONS", ())  # as on Python 3.13
    message = refusal()
    assert message == dependencies.photo_python_problem() and one_sentence(message)
    assert "no build for this Blender's Python" in message and "lca create" in message
    assert "File > Import > LCA Avatar" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["front.jpg"]
