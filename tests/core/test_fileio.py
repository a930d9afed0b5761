import os
import stat

import pytest

from core.errors import OutputError
from core.fileio import atomic_path, atomic_write_bytes, ensure_writable_dir


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
