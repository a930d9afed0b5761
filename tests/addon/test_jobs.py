"""lca_addon/jobs.py: the background-job runner, with a fake job.

Headless there is no window, so the operator runs the job synchronously (as in background
mode); the modal loop (worker thread, timer, Esc) is driven here with a stand-in context
(util.FakeWindowContext) and the same operator methods Blender calls.
"""

import threading
import time

import pytest

from tests.addon.util import (
    BPY_MISSING,
    FakeEvent,
    FakeWindowContext,
    drive_modal,
    one_sentence,
    scene_counts,
)

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)

STEPS = 5


class FakeWork:
    """A job's two halves: work counts through STEPS (or waits until cancelled, or fails);
    apply adds one empty object and counts its calls."""

    def __init__(self, jobs, mode: str = "count"):
        self.jobs, self.mode = jobs, mode
        self.applied = 0
        self.threads: list[str] = []

    def work(self, progress):
        self.threads.append(threading.current_thread().name)
        if self.mode == "wait":
            for i in range(3000):  # stops at the first progress call after Esc
                progress("waiting", i / 3000)
                time.sleep(0.01)
        if self.mode == "fail":
            progress("failing", 0.5)
            raise ValueError("bad value.\nSecond line")
        if self.mode == "refuse":  # the extension's own LcaError
            raise self.jobs.LcaError("The photo 'x.jpg' shows no person; choose another photo.")
        for i in range(STEPS):
            progress("counting", i / STEPS)
        return STEPS

    def apply(self, context, result):
        self.applied += 1
        obj = bpy.data.objects.new(f"made_{result}", None)
        bpy.context.scene.collection.objects.link(obj)
        return self.jobs.Done(f"Made {result}.", warnings=("Just a note.",))

    def job(self):
        return self.jobs.Job("Fake job", self.work, self.apply)


@pytest.fixture
def jobs(addon):
    return addon.module("lca_addon.jobs")


@pytest.fixture
def fake_operator(jobs):
    """A registered operator running a FakeWork (its mode set by the test)."""

    class LCA_TEST_OT_fake_job(jobs.JobOperator, bpy.types.Operator):
        bl_idname = "lca_test.fake_job"
        bl_label = "Fake Job"
        bl_options = {"UNDO"}
        fake = None

        def make_job(self, context):
            return type(self).fake.job()

    bpy.utils.register_class(LCA_TEST_OT_fake_job)
    yield LCA_TEST_OT_fake_job
    bpy.utils.unregister_class(LCA_TEST_OT_fake_job)


def test_success_applies_once_and_is_undoable(jobs, fake_operator, capsys):
    fake_operator.fake = fake = FakeWork(jobs)
    bpy.ops.ed.undo_push(message="before")  # background mode starts without an undo stack
    before = scene_counts()
    assert bpy.ops.lca_test.fake_job("EXEC_DEFAULT", True) == {"FINISHED"}  # True: as a user
    assert fake.applied == 1 and "made_5" in bpy.data.objects
    assert "counting" in capsys.readouterr().err  # background mode prints the progress
    bpy.ops.ed.undo()
    assert "made_5" not in bpy.data.objects and scene_counts() == before
    bpy.ops.ed.redo()
    assert "made_5" in bpy.data.objects


@pytest.mark.parametrize("mode", ["fail", "refuse"])
def test_an_error_is_one_sentence_and_adds_nothing(jobs, fake_operator, mode):
    fake_operator.fake = fake = FakeWork(jobs, mode)
    before = scene_counts()
    with pytest.raises(RuntimeError) as raised:  # bpy.ops raises on an ERROR report
        bpy.ops.lca_test.fake_job()
    message = str(raised.value).removeprefix("Error: ").strip()
    assert one_sentence(message), message
    if mode == "fail":
        assert message.startswith("Fake job failed") and "ValueError" in message
        assert "Traceback" not in message
    else:
        assert message == "The photo 'x.jpg' shows no person; choose another photo."
    assert fake.applied == 0 and scene_counts() == before


class ProbeOperator:
    """A JobOperator outside Blender's registry, so a test can call what the window manager
    calls (start, modal) and see its reports."""

    def __init__(self, jobs):
        class Probe(jobs.JobOperator):
            def report(inner, kinds, message):
                inner.reports.append((next(iter(kinds)), message))

        self.operator = Probe()
        self.operator.reports = []


def test_modal_job_runs_in_a_worker_and_shows_progress(jobs):
    fake, context = FakeWork(jobs), FakeWindowContext()
    operator = ProbeOperator(jobs).operator
    assert operator.start_job(context, fake.job()) == {"RUNNING_MODAL"}
    assert operator.modal(context, FakeEvent("MOUSEMOVE")) == {"PASS_THROUGH"}
    assert drive_modal(operator, context) == {"FINISHED"}
    assert fake.applied == 1 and fake.threads == ["lca-job"]
    assert operator.reports == [("INFO", "Made 5."), ("WARNING", "Just a note.")]
    assert context.status[0] == "Fake job: starting 0% (Esc to cancel)"
    assert context.status[-1] is None and context.header[-1] is None  # cleared at the end
    assert context.progress[0] == "begin" and context.progress[-1] == "end"
    assert context.timers == []


def test_esc_cancels_and_leaves_the_scene_unchanged(jobs):
    fake, context = FakeWork(jobs, "wait"), FakeWindowContext()
    operator = ProbeOperator(jobs).operator
    before = scene_counts()
    operator.start_job(context, fake.job())
    result = drive_modal(operator, context, cancel_when=lambda stage: stage == "waiting")
    assert result == {"CANCELLED"}
    assert not operator._worker.running  # the operator waited for the thread to end
    assert fake.applied == 0 and scene_counts() == before
    assert operator.reports == [("INFO", "Fake job cancelled; nothing was added.")]
    assert "Fake job: cancelling..." in context.status and context.timers == []


def test_a_failing_worker_is_one_sentence(jobs):
    fake, context = FakeWork(jobs, "fail"), FakeWindowContext()
    operator = ProbeOperator(jobs).operator
    operator.start_job(context, fake.job())
    assert drive_modal(operator, context) == {"CANCELLED"}
    [(kind, message)] = operator.reports
    assert kind == "ERROR" and one_sentence(message) and "ValueError" in message
    assert fake.applied == 0
