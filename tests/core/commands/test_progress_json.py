"""``lca create --progress json`` (core/progress_events.py): the events, their order, and exit
codes as without it (2 refused, 130 interrupted), nothing written. The finished run on a real
photo is in tests/addon/test_create_worker.py (one finished run in all tests: a draft takes
minutes on a 2-core machine); here the refusals and Ctrl-C."""

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from core.commands.main import main
from core.errors import LcaError
from core.progress_events import PROTOCOL, JsonProgress, parse_event
from tests.photos import shared_photo

ROOT = Path(__file__).resolve().parents[3]


def events_of(text: str) -> list[dict]:
    """Every stdout line as a JSON object (the protocol allows nothing else there)."""
    return [json.loads(line) for line in text.splitlines()]


def test_json_progress_writes_one_object_per_line():
    stream = io.StringIO()
    with JsonProgress(stream) as progress:
        for i in range(1000):
            progress("fitting body", i / 999)  # sent when the whole percent changes
        progress("appearance", 0.0)
        progress.note("Only one photo; the back is guessed.")
        progress.done(path="/x/me.lca", gaussians=10)
    events = events_of(stream.getvalue())
    assert events[0] == {"event": "start", "protocol": PROTOCOL, "version": "0.1.0"}
    fitting = [e for e in events if e.get("stage") == "fitting body"]
    assert len(fitting) == 101 and fitting[-1]["fraction"] == 1.0
    assert events[-3] == {"event": "progress", "stage": "appearance", "fraction": 0.0}
    assert events[-2] == {"event": "note", "message": "Only one photo; the back is guessed."}
    assert events[-1] == {"event": "done", "path": "/x/me.lca", "gaussians": 10}


@pytest.mark.parametrize(
    "error, message, code",
    [
        (LcaError("The photo 'x.jpg' shows no person;\nchoose another."), None, 2),
        (KeyboardInterrupt(), "Interrupted; no partial files were left behind.", 130),
        (ValueError("bad"), None, 1),
    ],
)
def test_an_error_leaving_the_block_is_the_last_event(error, message, code):
    stream = io.StringIO()
    with pytest.raises(type(error)), JsonProgress(stream) as progress:
        progress("load", 0.5)
        raise error
    last = events_of(stream.getvalue())[-1]
    assert last["event"] == "error" and last["code"] == code
    assert "\n" not in last["message"] and last["message"].endswith(".")
    if message is not None:
        assert last["message"] == message
    if code == 2:
        assert last["message"] == "The photo 'x.jpg' shows no person;\\nchoose another."
    if code == 1:
        assert "ValueError: bad" in last["message"] and "LCA_DEBUG=1" in last["message"]


def test_parse_event_ignores_what_is_not_an_event():
    assert parse_event('{"event": "note", "message": "hi"}').get("message") == "hi"
    for line in ("Warp 1.19.0 initialized", "{not json", "[1, 2]", '{"stage": "x"}', ""):
        assert parse_event(line) is None


def test_refused_input_ends_with_its_sentence_and_exit_code_2(tmp_path, capsys):
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    out = tmp_path / "me.lca"
    assert main(["create", str(text), "-o", str(out), "--progress", "json"]) == 2
    captured = capsys.readouterr()
    events = events_of(captured.out)
    assert events[0]["event"] == "start" and events[-1]["event"] == "error"
    assert events[-1]["code"] == 2 and "notes.jpg' is not an image" in events[-1]["message"]
    assert captured.err.startswith("lca: error: ")  # as without --progress json
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.jpg"]


def lca_create(*args: str) -> subprocess.Popen:
    """``python -m core.commands create ... --progress json`` of this repository, SIGINT at its
    default (see PLATFORM.md: a background shell's child would inherit SIG_IGN)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "core.commands", "create", *args, "--progress", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


@pytest.mark.slow
def test_a_photo_without_a_person_is_refused_with_only_json_on_stdout(tmp_path):
    pytest.importorskip("mediapipe", reason="perception needs mediapipe (the 'photos' extras)")
    photo = shared_photo("no_person_coffee_cup_01.jpg")
    process = lca_create(str(photo), "-o", str(tmp_path / "cup.lca"), "--quality", "draft")
    out, err = process.communicate(timeout=300)
    assert process.returncode == 2, err
    events = events_of(out)  # library chatter went to stderr
    assert [e["event"] for e in events][0] == "start"
    last = events[-1]
    assert last["event"] == "error" and last["code"] == 2
    assert "no_person_coffee_cup_01.jpg" in last["message"]
    assert f"lca: error: {last['message']}" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_ctrl_c_ends_with_exit_code_130_and_writes_nothing(tmp_path):
    pytest.importorskip("mediapipe", reason="perception needs mediapipe (the 'photos' extras)")
    photo = shared_photo("fullbody_front_man_tshirt_apose_01.jpg")
    process = lca_create(str(photo), "-o", str(tmp_path / "me.lca"), "--quality", "draft")
    seen = []
    for line in process.stdout:  # the events as they come
        seen.append(json.loads(line))
        if seen[-1].get("stage") == "perceive":
            process.send_signal(signal.SIGINT)
            break
    rest, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    last = events_of(rest)[-1]
    assert last == {
        "event": "error",
        "message": "Interrupted; no partial files were left behind.",
        "code": 130,
    }
    assert list(tmp_path.iterdir()) == []
