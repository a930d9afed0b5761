"""Install pinned packages into a folder with ``python -m pip install --target``, run in a
subprocess that the caller polls (the preferences' modal operator, on a timer), with progress
read from pip's output, cancel (the subprocess is terminated) and one sentence at the end.

pip installs into ``<target>.partial``; only when every step has succeeded does that folder
replace ``<target>``, so a cancelled, failed or offline install leaves the previous one as it
was. Nothing here imports bpy.
"""

import importlib.metadata
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .dependencies import (
    INSTALLER,
    PHOTO_REQUIREMENTS,
    REQUIREMENTS,
    Requirement,
    photo_python_problem,
)

PYPI = "https://pypi.org/simple"
TORCH_INDEX = "https://download.pytorch.org/whl"
BUILDS = ("cpu", "cu126", "cu128", "cu130")
"""torch builds the user can choose: the CPU build, or a CUDA build (its index's name)."""

TORCH_DEPENDENCY_PINS = (
    "filelock==4.2.12",
    "fsspec==2026.9.0",
    "Jinja2==3.1.6",
    "MarkupSafe==3.0.4",
    "networkx==3.6.1",
    "sympy==1.14.0",
    "mpmath==1.3.0",
    "typing_extensions==4.16.0",
)
"""torch's own dependencies, pinned as in requirements.lock (CUDA builds add NVIDIA's
packages, pinned by torch itself)."""

PHOTO_DEPENDENCY_PINS = (
    "absl-py==2.5.1",
    "attrs==26.1.0",
    "flatbuffers==25.12.19",
    "jax==0.7.1",
    "jaxlib==0.7.1",
    "ml_dtypes==0.5.4",
    "opt_einsum==3.4.0",
    "scipy==1.17.1",
    "matplotlib==3.11.2",
    "contourpy==1.3.3",
    "cycler==0.12.1",
    "fonttools==4.68.0",
    "kiwisolver==1.5.1",
    "packaging==26.3",
    "pyparsing==3.3.3",
    "python-dateutil==4.0.0",
    "tzdata==2026.6",
    "protobuf==4.25.9",
    "sounddevice==0.5.6",
    "cffi==2.1.1",
    "pycparser==3.12",
    "sentencepiece==0.2.3",
)
"""The dependencies of mediapipe and opencv-contrib-python (PHOTO_REQUIREMENTS), all the way
down, pinned as in requirements.lock, except numpy (Blender's) and pillow (installed with
torch). They are installed with ``--no-deps`` so that pip brings no second numpy; a test
checks the list against the installed mediapipe's metadata. About 240 MB of wheels on Linux
(jaxlib, opencv-contrib-python, mediapipe and scipy are most of it)."""

_NETWORK_ERRORS = (
    "newconnectionerror",
    "failed to establish a new connection",
    "temporary failure in name resolution",
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo failed",
    "network is unreachable",
    "connection refused",
    "connecttimeout",
    "read timed out",
    "proxyerror",
    "max retries exceeded",
)
_NO_VERSIONS = "(from versions: none)"
_PROGRESS = re.compile(r"^Progress (\d+) of (\d+)$")


@dataclass(frozen=True)
class PipStep:
    """One ``pip install`` run: requirements (``name==version``); index_url None means pip's
    configured default (PyPI unless the user's pip configuration says otherwise); timeout (s)
    and retries per connection."""

    requirements: tuple[str, ...]
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    no_deps: bool = False
    timeout: float = 15.0
    retries: int = 2

    @property
    def index_urls(self) -> tuple[str, ...]:
        """The indexes pip asks (pip's default counted as PyPI), to tell offline apart."""
        if self.no_index:
            return ()
        return (self.index_url or PYPI, *self.extra_index_urls)


def install_steps(
    build: str,
    requirements: tuple[Requirement, ...] = REQUIREMENTS,
    photos: bool = False,
    python: tuple[int, int] | None = None,
):
    """The steps that install the INSTALLER requirements: torch of ``build`` (a BUILDS entry)
    with its dependencies and the other binary packages, then the packages that come without
    dependencies (they would bring a second numpy), with ``photos`` also MediaPipe and its
    dependencies (PHOTO_REQUIREMENTS, PHOTO_DEPENDENCY_PINS). The torch index is an extra
    index: its ``2.13.0+cpu`` (or ``+cu128``...) build ranks above PyPI's plain ``2.13.0``,
    and everything else comes from pip's configured index. ``photos`` for a Python
    ``python`` (default: this one) that has no MediaPipe wheels is refused (ValueError with
    the sentence of ``dependencies.photo_python_problem``) before anything is installed."""
    if build not in BUILDS:
        raise ValueError(f"Unknown torch build '{build}'; choose one of {', '.join(BUILDS)}.")
    if photos and (problem := photo_python_problem(python)) is not None:
        raise ValueError(problem)
    chosen = [r for r in requirements if r.source == INSTALLER]
    with_deps = tuple(r.pin for r in chosen if not r.no_deps) + TORCH_DEPENDENCY_PINS
    without_deps = tuple(r.pin for r in chosen if r.no_deps)
    if photos:
        without_deps += tuple(r.pin for r in PHOTO_REQUIREMENTS) + PHOTO_DEPENDENCY_PINS
    return (
        PipStep(with_deps, extra_index_urls=(f"{TORCH_INDEX}/{build}",)),
        PipStep(without_deps, no_deps=True),
    )


def pip_has_raw_progress() -> bool:
    """Whether this Python's pip prints "Progress N of M" lines (pip 24.1 and later)."""
    try:
        version = importlib.metadata.version("pip")
    except importlib.metadata.PackageNotFoundError:
        return False
    numbers = [int(n) for n in re.findall(r"\d+", version)[:2]]
    return tuple(numbers) >= (24, 1)


def pip_command(
    step: PipStep, target: Path, python: str = sys.executable, raw_progress: bool = False
) -> list[str]:
    """The ``python -m pip install --target`` command line of ``step``."""
    command = [python, "-m", "pip", "install", "--target", str(target)]
    command += ["--no-input", "--disable-pip-version-check", "--no-warn-script-location"]
    command += ["--only-binary=:all:", "--timeout", f"{step.timeout:g}"]
    command += ["--retries", str(step.retries), "--progress-bar", "raw" if raw_progress else "off"]
    if step.no_deps:
        command.append("--no-deps")
    if step.no_index:
        command.append("--no-index")
    elif step.index_url:
        command += ["--index-url", step.index_url]
    for url in step.extra_index_urls if not step.no_index else ():
        command += ["--extra-index-url", url]
    for link in step.find_links:
        command += ["--find-links", link]
    return [*command, *step.requirements]


def staging_folder(target: Path) -> Path:
    """Where pip installs before the result replaces ``target``."""
    return target.with_name(target.name + ".partial")


def index_reachable(url: str, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to ``url``'s host opens (file: URLs count as reachable)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return True
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def offline_sentence(url: str) -> str:
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return (
        f"pip could not reach the package index {url}; connect to the internet and click "
        f"Install Dependencies again, or point the preferences at an existing Python {python} "
        "environment that has the packages."
    )


def unreachable_index(output: str, index_urls: Sequence[str]) -> str | None:
    """The index a failed pip run could not reach (judged from its output, and by trying to
    connect when pip only says it found no versions); None when the failure was another."""
    lowered = output.lower()
    network = any(marker in lowered for marker in _NETWORK_ERRORS)
    if not network and _NO_VERSIONS not in lowered:
        return None
    for url in index_urls:
        if not index_reachable(url):
            return url
    return index_urls[0] if network and index_urls else None


def failure_sentence(output: str) -> str:
    """One sentence from pip's last ERROR line."""
    errors = [line[6:].strip() for line in output.splitlines() if line.startswith("ERROR:")]
    detail = " ".join((errors[-1] if errors else "no error message").split())
    detail = detail.rstrip(".").replace(". ", "; ")
    return (
        f"pip could not install the dependencies ({detail}); see the system console for "
        "pip's full output."
    )


class PipProgress:
    """Progress (0..1) and a one-line status read from pip's output, over ``steps`` runs:
    collecting is the first 10% of a run, downloading up to 80%, installing the rest. Never
    goes back."""

    def __init__(self, steps: int):
        self.steps = max(steps, 1)
        self.step = 0
        self.fraction = 0.0
        self.status = "Starting pip"
        self.installed: list[str] = []
        self._collected = 0
        self._downloads = 0

    def _set(self, within_step: float) -> None:
        value = (self.step + min(max(within_step, 0.0), 1.0)) / self.steps
        self.fraction = max(self.fraction, min(value, 1.0))

    def next_step(self) -> None:
        self.step = min(self.step + 1, self.steps)
        self._collected = self._downloads = 0
        self._set(0.0)

    def feed(self, line: str) -> None:
        line = line.strip()
        if match := _PROGRESS.match(line):
            done, total = int(match[1]), int(match[2])
            if total:
                file = done / total
                self.status = f"{self.status.split(' (')[0]} ({100 * file:.0f}%)"
                started = max(self._downloads, 1)
                self._set(0.1 + 0.7 * (started - 1 + file) / started)
        elif line.startswith("Collecting "):
            self._collected += 1
            self.status = line
            self._set(min(0.1, 0.01 * self._collected))
        elif line.startswith("Downloading "):
            self._downloads += 1
            name = line.split()[1].rsplit("/", 1)[-1]
            self.status = f"Downloading {name}"
            self._set(0.1)
        elif line.startswith("Installing collected packages"):
            self.status = "Installing packages"
            self._set(0.85)
        elif line.startswith("Successfully installed"):
            self.installed += line.split()[2:]
            self.status = "Installed"
            self._set(1.0)


@dataclass(frozen=True)
class InstallResult:
    """ok: everything installed into the target; message: one sentence for the user."""

    ok: bool
    message: str
    cancelled: bool = False


class InstallJob:
    """Run ``commands`` one after the other (each writes into ``staging_folder(target)``),
    then move the staging folder to ``target``. Call :meth:`poll` now and then (it never
    blocks) until it returns an :class:`InstallResult`; :meth:`cancel` terminates pip."""

    def __init__(
        self,
        target: Path,
        commands: Sequence[Sequence[str]],
        index_urls: Sequence[str] = (),
        echo: bool = True,
    ):
        self.target = Path(target)
        self.staging = staging_folder(self.target)
        self.commands = [list(c) for c in commands]
        self.index_urls = tuple(index_urls)
        self.progress = PipProgress(len(self.commands))
        self.output: list[str] = []
        self.result: InstallResult | None = None
        self._echo = echo
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._process: subprocess.Popen | None = None
        self._index = -1

    @property
    def fraction(self) -> float:
        return self.progress.fraction

    @property
    def status(self) -> str:
        return self.progress.status

    def start(self) -> "InstallJob":
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir(parents=True)
        self._next()
        return self

    def _next(self) -> None:
        self._index += 1
        if self._index > 0:
            self.progress.next_step()
        env = dict(os.environ, PYTHONUNBUFFERED="1", PIP_NO_INPUT="1")
        self._process = subprocess.Popen(
            self.commands[self._index],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=env,
        )
        stream = self._process.stdout
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\r\n"))
        self._lines.put(None)

    def poll(self) -> InstallResult | None:
        """Read what pip printed; move on to the next command or finish. None while running."""
        if self.result is not None:
            return self.result
        ended = False
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                break
            if line is None:
                ended = True
                break
            self.output.append(line)
            self.progress.feed(line)
            if self._echo:
                print(line, file=sys.stderr)
        if not ended:
            return None
        code = self._process.wait()
        if code != 0:
            return self._finish(self._failure(code))
        if self._index + 1 < len(self.commands):
            self._next()
            return None
        return self._finish(self._swap())

    def wait(self, interval: float = 0.1) -> InstallResult:
        """Poll until done (for scripts, background mode and tests)."""
        import time

        while (result := self.poll()) is None:
            time.sleep(interval)
        return result

    def cancel(self) -> InstallResult:
        """Terminate pip and drop what it installed so far; the target stays as it was."""
        if self.result is None:
            process = self._process
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self._finish(
                InstallResult(False, "Install cancelled; nothing was changed.", cancelled=True)
            )
        return self.result

    def _failure(self, code: int) -> InstallResult:
        output = "\n".join(self.output)
        url = unreachable_index(output, self.index_urls)
        if url is not None:
            return InstallResult(False, offline_sentence(url))
        if code < 0 or not output.strip():
            return InstallResult(False, f"pip stopped with exit code {code}; nothing was changed.")
        return InstallResult(False, failure_sentence(output))

    def _swap(self) -> InstallResult:
        old = self.target.with_name(self.target.name + ".old")
        try:
            shutil.rmtree(old, ignore_errors=True)
            if self.target.exists():
                self.target.rename(old)
            self.staging.rename(self.target)
        except OSError as err:
            return InstallResult(
                False,
                f"The new packages could not replace those in '{self.target}' ({err.strerror}); "
                "restart Blender and click Install Dependencies again.",
            )
        shutil.rmtree(old, ignore_errors=True)
        count = len(self.progress.installed)
        what = f"{count} package{'s' if count != 1 else ''}" if count else "the packages"
        return InstallResult(True, f"Installed {what} into '{self.target}'.")

    def _finish(self, result: InstallResult) -> InstallResult:
        if not result.ok:
            shutil.rmtree(self.staging, ignore_errors=True)
        self.result = result
        return result


def start_install(
    target: Path, steps: Sequence[PipStep], python: str = sys.executable, echo: bool = True
) -> InstallJob:
    """Start installing ``steps`` into ``target`` (the operator's and the tests' one path)."""
    raw = pip_has_raw_progress()
    staging = staging_folder(Path(target))
    commands = [pip_command(step, staging, python, raw) for step in steps]
    urls = tuple(dict.fromkeys(url for step in steps for url in step.index_urls))
    return InstallJob(Path(target), commands, urls, echo).start()
