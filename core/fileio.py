"""Writing files so that a failure never leaves a partial file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputError


def ensure_writable_dir(directory: Path) -> Path:
    """Create ``directory`` if needed and check it is writable; raise OutputError if not."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(
            f"Cannot create output folder '{directory}' ({err.strerror}); choose a writable folder."
        ) from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"Output folder '{directory}' is not writable; choose a writable folder.")
    return directory


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    On any exception (including KeyboardInterrupt) the temporary file is removed and the
    destination is left untouched.
    """
    path = Path(path)
    ensure_writable_dir(path.parent if str(path.parent) else Path("."))
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual mode
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
