"""Files: writing them so that a failure never leaves a partial file behind, checking an
output name before the long work, and reading a user's small JSON file in one sentence."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import PATH_LIMIT, LcaError, OutputError, quoted

DEFAULT_NAME_MAX = 255
"""Bytes in one file name where the file system does not say (Linux, macOS and Windows all
allow 255)."""

JSON_LIMIT = 1 << 20
"""Bytes of the largest pose or camera JSON file read (real ones are a few kilobytes)."""


def ensure_writable_dir(directory: Path) -> Path:
    """Create ``directory`` if needed and check it is writable; raise OutputError if not."""
    directory = Path(directory)
    shown = quoted(directory, PATH_LIMIT)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _cannot_create(shown, err) from None
    _check_writable(directory, shown)
    return directory


def check_output_dir(directory: Path | str) -> Path:
    """Refuse, before any work and without creating anything, an output folder that could not
    be made or written: a part of its path too long for the file system, a file in its way,
    or no write permission where it would be created (OutputError, one sentence)."""
    directory = Path(directory)
    shown = quoted(directory, PATH_LIMIT)
    for part in directory.parts:
        if len(os.fsencode(part)) > name_max(directory):
            raise OutputError(
                f"The output folder {shown} has a name longer than the file system allows; "
                "choose a shorter one."
            )
    existing = directory
    try:
        while not existing.exists() and not existing.is_symlink():  # (a dangling link stops)
            if existing.parent == existing:
                break
            existing = existing.parent
        if not existing.is_dir():
            raise OutputError(
                f"Cannot create output folder {shown} because {quoted(existing, PATH_LIMIT)} "
                "is a file; choose a writable folder."
            )
    except OSError as err:
        raise _cannot_create(shown, err) from None
    _check_writable(existing, shown)
    return directory


def check_output_file(path: Path | str) -> Path:
    """Refuse, before any work, an output file name the file system cannot take: one whose
    name is longer than its folder allows, or that names a folder (OutputError, one
    sentence). Creates nothing."""
    path = Path(path)
    shown = quoted(path, PATH_LIMIT)
    if len(os.fsencode(path.name)) > name_max(path.parent):
        raise OutputError(
            f"The output name {shown} is longer than the {name_max(path.parent)} bytes a file "
            "name may have here; choose a shorter name."
        )
    try:
        is_dir = path.is_dir()
    except OSError as err:
        raise OutputError(
            f"Cannot write {shown} ({_reason(err)}); choose a writable folder."
        ) from None
    if is_dir:
        raise OutputError(f"Cannot write {shown} because it is a folder; choose a file name.")
    check_output_dir(path.parent if str(path.parent) else Path("."))
    return path


def name_max(directory: Path) -> int:
    """The longest file name, in bytes, allowed in ``directory`` (or in its nearest existing
    parent); :data:`DEFAULT_NAME_MAX` where the system does not say."""
    directory = Path(directory).absolute()
    for candidate in (directory, *directory.parents):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            if candidate.is_dir():
                return int(os.pathconf(candidate, "PC_NAME_MAX"))
    return DEFAULT_NAME_MAX


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _cannot_create(shown: str, err: OSError) -> OutputError:
    """The one sentence for an output folder the file system would not make."""
    return OutputError(
        f"Cannot create output folder {shown} ({_reason(err)}); choose a writable folder."
    )


def _check_writable(folder: Path, shown: str) -> None:
    """Refuse ``folder`` (shown as ``shown``) unless files can be made in it."""
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"Output folder {shown} is not writable; choose a writable folder.")


def _reason(err: OSError) -> str:
    return err.strerror or type(err).__name__


def temporary_prefix(name: str, limit: int) -> str:
    """The prefix of the temporary file written beside ``name``: ``.NAME.`` where the whole
    temporary name (``.NAME.XXXXXXXX.tmp``) fits in ``limit`` bytes, else a short ``.HASH.``
    made from the name, so that any legal output name can be written atomically."""
    prefix = f".{name}."
    if len(os.fsencode(prefix)) + len("XXXXXXXX.tmp") <= limit:
        return prefix
    digest = hashlib.blake2b(os.fsencode(name), digest_size=8).hexdigest()
    return f".{digest}."


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    On any exception (including KeyboardInterrupt) the temporary file is removed and the
    destination is left untouched. An OSError from creating, writing or renaming the file
    becomes an OutputError (one sentence).
    """
    path = check_output_file(path)
    folder = path.parent if str(path.parent) else Path(".")
    ensure_writable_dir(folder)
    prefix = temporary_prefix(path.name, name_max(folder))
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    except OSError as err:
        raise _cannot_write(path, err) from None
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual mode
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(err, OSError):
            raise _cannot_write(path, err) from None
        raise


def _cannot_write(path: Path, err: OSError) -> OutputError:
    return OutputError(
        f"Cannot write {quoted(path, PATH_LIMIT)} ({_reason(err)}); choose a writable folder "
        "with free space."
    )


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def read_small_text(
    path: Path,
    shown: str,
    *,
    limit: int,
    give: str,
    too_big: str,
    encoding: str = "utf-8",
    errors: str = "strict",
    error: type[LcaError] = LcaError,
) -> str:
    """The text of the file ``path`` of at most ``limit`` bytes, decoded with ``encoding``.
    ``shown`` names it in the sentence ("Pose file 'a.json'"); ``give`` says what to give
    instead of a folder or of text that is not UTF-8 ("give a JSON file"), ``too_big`` what
    to do about a file over the limit; ``errors`` is ``bytes.decode``'s ("replace" reads
    any bytes). Any problem raises ``error`` with one sentence."""
    try:
        with open(path, "rb") as f:
            # a regular file's size is known before reading it; a pipe's is not
            size = os.fstat(f.fileno()).st_size
            raw = f.read(limit + 1) if size <= limit else b""
    except (FileNotFoundError, NotADirectoryError):
        raise error(f"{shown} does not exist; check the path.") from None
    except IsADirectoryError:
        raise error(f"{shown} is a folder; {give}.") from None
    except OSError as err:
        if err.errno == errno.ENAMETOOLONG:
            raise error(f"{shown} has a name too long for the file system.") from None
        raise error(f"{shown} cannot be read ({_reason(err)}).") from None
    except ValueError:  # a NUL in the path
        raise error(f"{shown} is not a valid path.") from None
    if size > limit or len(raw) > limit:
        raise error(f"{shown} is over {limit >> 20} MiB; {too_big}.")
    try:
        return raw.decode(encoding, errors)
    except UnicodeDecodeError:
        raise error(f"{shown} is not UTF-8 text; {give}.") from None


def read_json(path: Path | str, what: str, error: type[LcaError] = LcaError) -> Any:
    """The JSON value in the small file ``path`` (a pose, a camera). ``what`` names the file
    in the sentence ("Pose file"); any problem (missing, unreadable, over :data:`JSON_LIMIT`
    bytes, not UTF-8, not JSON, nested too deep) raises ``error`` with one sentence."""
    path = Path(path)
    shown = f"{what} {quoted(path, PATH_LIMIT)}"
    text = read_small_text(
        path,
        shown,
        limit=JSON_LIMIT,
        give="give a UTF-8 JSON file",
        too_big="a real one is a few kilobytes",
        error=error,
    )
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise error(
            f"{shown} is not valid JSON (line {err.lineno}, column {err.colno}: "
            f"{quoted(err.msg, 60)}); fix the file."
        ) from None
    except RecursionError:
        raise error(f"{shown} is nested too deeply to be a real one; fix the file.") from None
    except ValueError:  # such as an integer of more digits than Python converts
        raise error(f"{shown} has a number too long to read; fix the file.") from None
