"""Create from Photos in a worker process (lca_addon/create_worker.py, worker_process.py,
lca_environment.py), driven against the real `lca` environment: the repository's `.venv`
beside the tests (what `make` builds), running this repository's `core` (PYTHONPATH).

Headless there is no event loop: the modal operator's steps (start, TIMER, Esc) are called as
Blender calls them, with util.FakeWindowContext; bpy.ops runs the same job synchronously. One
finished run in all tests (a draft takes minutes on a 2-core machine): the modal one here.
"""

import os
import sys
from pathlib import Path

import pytest

from tests.addon.util import (
    BPY_MISSING,
    FakeEvent,
    FakeWindowContext,
    drive_modal,
    one_sentence,
    scene_counts,
)
from tests.photos import shared_photo

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)

ROOT = Path(__file__).resolve().parents[2]
LCA_ENV = ROOT / ".venv"
PHOTO = "fullbody_front_man_tshirt_apose_01.jpg"


@pytest.fixture
def lca_env(monkeypatch) -> Path:
    """The `lca` environment `make` builds; the worker imports this repository's core."""
    if not (LCA_ENV / "bin" / "python").is_file():
        pytest.skip(f"no lca environment at {LCA_ENV}; run `make` to build it")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    return LCA_ENV


@pytest.fixture
def prefs(addon):
    """The extension's preferences, put back as they were after the test."""
    prefs = addon.module("lca_addon.preferences").addon_preferences()
    before = prefs.lca_environment, prefs.create_in
    yield prefs
    prefs.lca_environment, prefs.create_in = before


class WindowContext(FakeWindowContext):
    """The fake window's status bar, header and timers; the rest (mode, scene, collection)
    from Blender's context, which apply builds the avatar into."""

    def __getattr__(self, name):  # only for what the fake does not have
        return getattr(bpy.context, name)


class Probe:
    """A JobOperator outside Blender's registry, so a test can call what the window manager
    calls (start_job, modal) and see its reports."""

    def __init__(self, addon):
        class Operator(addon.module("lca_addon.jobs").JobOperator):
            def report(inner, kinds, message):
                inner.reports.append((next(iter(kinds)), message))

        self.operator = Operator()
        self.operator.reports = []


def worker_create(addon, photo: Path, output: Path, python: Path):
    """The worker job of Create from Photos, as the operator makes it (draft quality)."""
    create_avatar = addon.module("lca_addon.create_avatar")
    settings = addon.module("core.create_settings").CreateSettings(quality="draft", threads=2)
    options = create_avatar.CreateOptions(photos=(photo,), output=output, settings=settings)
    create_avatar.check_options(options, in_worker=True)
    return addon.module("lca_addon.create_worker").worker_job(options, python)


def refusal(**kwargs) -> str:
    with pytest.raises(RuntimeError) as raised:  # bpy.ops raises on an ERROR report
        bpy.ops.lca.create_avatar(**kwargs)
    return str(raised.value).removeprefix("Error: ").strip()


def test_worker_is_used_where_blender_cannot_create_or_when_asked(addon, prefs, monkeypatch):
    create_worker = addon.module("lca_addon.create_worker")
    prefs.create_in, prefs.lca_environment = "AUTO", ""
    assert create_worker.create_route(prefs) == create_worker.Route()  # in Blender: it can
    monkeypatch.setattr(create_worker, "in_process_problem", lambda: "No MediaPipe here.")
    assert create_worker.create_route(prefs).problem == "No MediaPipe here."
    prefs.lca_environment = "/somewhere/python"
    route = create_worker.create_route(prefs, check=False)
    assert route.in_worker and route.python == Path("/somewhere/python")
    monkeypatch.undo()
    prefs.create_in = "WORKER"
    assert create_worker.create_route(prefs, check=False).in_worker


def test_a_missing_environment_is_one_sentence(addon, prefs, tmp_path):
    photo = tmp_path / "front.jpg"
    photo.write_bytes(b"")
    before = scene_counts()
    prefs.create_in = "WORKER"
    for setting, needle in [
        ("", "No lca environment is set"),
        (str(tmp_path / "nowhere"), "does not exist"),
        (str(tmp_path), "holds no Python interpreter"),
    ]:
        prefs.lca_environment = setting
        message = refusal(files=[{"name": photo.name}], directory=str(tmp_path))
        assert needle in message and one_sentence(message.replace(str(tmp_path), "DIR")), message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["front.jpg"]
    assert scene_counts() == before


def test_a_wrong_python_or_missing_packages_is_one_sentence(addon, lca_env):
    check = addon.module("lca_addon.lca_environment").check_environment
    wrong = ROOT / ".venv313" / "bin" / "python"
    if not wrong.is_file():
        pytest.skip(f"no Python 3.13 environment at {wrong.parent.parent}")
    found = check(str(wrong))
    assert not found.ok and "runs Python 3.13" in found.problem, found.problem
    assert one_sentence(found.problem.replace(str(wrong), "PY"))
    bare = Path(sys.base_prefix) / "bin" / "python3"  # the Python the .venv was made from
    found = check(str(bare))
    assert not found.ok and "lacks torch, anny, mediapipe, opencv-contrib-python" in found.problem
    assert one_sentence(found.problem.replace(str(bare), "PY")), found.problem


def test_check_button_says_the_environment_is_ready(addon, prefs, lca_env):
    prefs.lca_environment = str(lca_env)
    assert bpy.ops.lca.check_lca_environment() == {"FINISHED"}
    found = addon.module("lca_addon.worker_preferences").last_check(prefs)
    assert found.ok and found.message.startswith(f"The lca environment '{lca_env}' is ready")
    assert "Python 3.11" in found.message and "torch 2.13.0" in found.message
    from tests.layout_recorder import RecordingLayout

    layout = RecordingLayout()
    addon.module("lca_addon.preferences").draw_preferences(prefs, layout)
    assert found.message in layout.texts and "lca_environment" in layout.texts
    assert "lca.check_lca_environment" in layout.texts or "Check" in layout.texts


def test_a_refused_photo_shows_the_workers_sentence(addon, prefs, lca_env, tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    prefs.create_in, prefs.lca_environment = "WORKER", str(lca_env)
    before = scene_counts()
    message = refusal(
        files=[{"name": text.name}], directory=str(tmp_path), output=str(tmp_path / "me.lca")
    )
    assert message == (
        f"'{text}' is not an image file (or is badly damaged); use a JPEG, PNG, WebP, TIFF or "
        "HEIC photo."
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.jpg"]  # no scratch left
    assert scene_counts() == before


def test_a_worker_killed_mid_run_is_one_sentence(addon, lca_env, tmp_path):
    photo = shared_photo(PHOTO)
    job = worker_create(addon, photo, tmp_path / "me.lca", lca_env / "bin" / "python")
    operator, context = Probe(addon).operator, FakeWindowContext()
    before = scene_counts()
    operator.start_job(context, job)
    process = operator._worker._process

    def kill_once_started(stage):
        if stage != "starting" and process.poll() is None:
            process.kill()  # as the system's out-of-memory killer would
        return False

    assert drive_modal(operator, context, cancel_when=kill_once_started, timeout=300) == {
        "CANCELLED"
    }
    [(kind, message)] = operator.reports
    assert kind == "ERROR" and "was killed (SIGKILL) before it finished" in message
    assert one_sentence(message), message
    assert list(tmp_path.iterdir()) == [] and scene_counts() == before


def test_esc_kills_the_worker_and_leaves_nothing(addon, lca_env, tmp_path):
    photo = shared_photo(PHOTO)
    job = worker_create(addon, photo, tmp_path / "me.lca", lca_env / "bin" / "python")
    operator, context = Probe(addon).operator, FakeWindowContext()
    before = scene_counts()
    assert operator.start_job(context, job) == {"RUNNING_MODAL"}
    assert operator.modal(context, FakeEvent("MOUSEMOVE")) == {"PASS_THROUGH"}
    worker = operator._worker
    later = ("perceive", "body model", "fitting body")
    result = drive_modal(operator, context, cancel_when=lambda s: s in later, timeout=300)
    assert result == {"CANCELLED"}
    assert worker._process.poll() is not None  # killed, not left running
    assert operator.reports == [("INFO", "Creating avatar cancelled; nothing was added.")]
    assert list(tmp_path.iterdir()) == [] and scene_counts() == before
    assert any(
        t and t.startswith(tuple(f"Creating avatar: {s}" for s in later)) for t in context.status
    )
    assert context.status[-1] is None and context.timers == []


@pytest.mark.slow
def test_worker_creates_and_imports_the_avatar(addon, lca_env, tmp_path):
    """The one finished run: a draft on a real photo, through the modal steps."""
    if bpy.app.version < (5, 0, 0):  # `make test` runs tests/addon on 4.2 too: once is enough
        pytest.skip("the finished worker run is checked once, on bpy 5.0 (.venv)")
    photo = shared_photo(PHOTO)
    output = tmp_path / "me.lca"
    job = worker_create(addon, photo, output, lca_env / "bin" / "python")
    operator, context = Probe(addon).operator, WindowContext()
    assert operator.start_job(context, job) == {"RUNNING_MODAL"}
    worker = operator._worker
    assert drive_modal(operator, context, timeout=1500) == {"FINISHED"}, operator.reports
    kinds = [event.kind for event in worker.events]
    assert kinds[0] == "start" and kinds[-1] == "done" and "error" not in kinds
    stages = [event.get("stage") for event in worker.events if event.kind == "progress"]
    for stage in ("load", "perceive", "fitting body", "appearance", "preview"):
        assert stage in stages
    shown = [text for text in context.status if text]
    assert any(t.startswith("Creating avatar: appearance") and "%" in t for t in shown)
    assert context.progress[0] == "begin" and context.progress[-1] == "end"
    (kind, message), *warnings = operator.reports
    assert kind == "INFO" and message.startswith("Created 'me' (") and "lca worker" in message
    assert all(kind == "WARNING" for kind, _ in warnings)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me.lca"]  # scratch folder gone
    from core.avatar.lca_file import load_lca

    saved = load_lca(output)
    avatar = bpy.data.objects["me"]
    assert avatar.lca_avatar.is_avatar and len(avatar.data.vertices) == saved.count
    assert avatar.lca_avatar.source_path == str(output)
    assert {"me_rig", "me_body"} <= set(bpy.data.objects.keys())
    assert os.environ["PYTHONPATH"] == str(ROOT)
