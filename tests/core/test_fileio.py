import errno
import os
import stat

import pytest

from core.errors import LcaError, OutputError
from core.fileio import (
    JSON_LIMIT,
    atomic_path,
    atomic_write_bytes,
    check_output_dir,
    check_output_file,
    ensure_writable_dir,
    name_max,
    read_json,
    temporary_prefix,
)


def test_atomic_write_has_the_usual_permissions(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"abc")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert target.read_bytes() == b"abc"


def test_failure_leaves_nothing_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_unwritable_folder_is_one_sentence(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="choose a writable folder"):
        ensure_writable_dir(blocker / "sub")


def test_a_legal_long_name_is_written_atomically(tmp_path):
    """Issue 16 item 6: '.NAME.XXXXXXXX.tmp' of a 250-byte name passed the 255-byte limit."""
    limit = name_max(tmp_path)
    target = tmp_path / ("n" * (limit - 5) + ".ply")
    atomic_write_bytes(target, b"abc")
    assert target.read_bytes() == b"abc" and [p.name for p in tmp_path.iterdir()] == [target.name]
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        assert len(os.fsencode(tmp.name)) <= limit and tmp.parent == tmp_path
        raise RuntimeError("boom")
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_the_temporary_prefix_keeps_short_names_readable():
    assert temporary_prefix("me.lca", 255) == ".me.lca."
    short = temporary_prefix("é" * 120 + ".lca", 255)  # 244 bytes: the long form would not fit
    assert short.startswith(".") and len(short) == 18


def test_a_name_over_the_limit_is_one_sentence_and_writes_nothing(tmp_path):
    target = tmp_path / "new" / ("n" * 300 + ".ply")
    with pytest.raises(OutputError, match="longer than the 255 bytes") as info:
        atomic_write_bytes(target, b"abc")
    assert len(str(info.value)) < 300
    with pytest.raises(OutputError, match="longer than"):
        check_output_file(target)
    assert list(tmp_path.iterdir()) == []


def test_check_output_dir_creates_nothing(tmp_path):
    check_output_dir(tmp_path / "a" / "b")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        check_output_dir(tmp_path / "file" / "sub")
    with pytest.raises(OutputError, match="is a folder"):
        check_output_file(tmp_path)


def test_an_oserror_while_writing_is_one_sentence(tmp_path):
    with pytest.raises(OutputError, match="No space left"), atomic_path(tmp_path / "a") as tmp:
        tmp.write_bytes(b"x")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 100_000, "nested too deeply"),
        (b" " * (JSON_LIMIT + 1), "over 1 MiB"),
        (b"\xff\xfe", "not UTF-8"),
        (b"{1: 2}", "not valid JSON"),
        (b"9" * 5000, "number too long"),
    ],
)
def test_read_json_refuses_in_one_sentence(tmp_path, content, message):
    path = tmp_path / "x.json"
    path.write_bytes(content)
    with pytest.raises(LcaError, match=message):
        read_json(path, "Pose file")
