"""The `lca` environment: a Python 3.11 or 3.12 environment with this package (and torch,
MediaPipe, Anny) installed, such as the ``.venv`` that ``make`` builds. Create from Photos runs
``lca create`` there in a worker process (``worker_process.py``) where Blender's own Python
cannot run it (Blender 5.1+: Python 3.13, no MediaPipe 0.10.21) or when the user asks for it.

The user sets it once in the preferences: the environment's folder or its interpreter.
:func:`check_environment` runs that interpreter on a small script and says, in one sentence,
what is wrong (not found, no interpreter, a Python that does not start, the wrong Python
version, missing packages, an LCA Avatar too old for the progress protocol) or that it is
ready. Nothing here imports bpy.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import PATH_LIMIT, quoted
from ..core.progress_events import PROTOCOL

PYTHONS = ((3, 11), (3, 12))
"""The Python versions with a wheel of every package ``lca create`` needs (mediapipe 0.10.21
has none for 3.13; see ``dependencies.PHOTO_PYTHONS``)."""

PACKAGES = (
    ("core", "lca-avatar"),
    ("torch", "torch"),
    ("anny", "anny"),
    ("mediapipe", "mediapipe"),
    ("cv2", "opencv-contrib-python"),
)
"""(module, distribution) of what ``lca create`` imports, checked in this order."""

INTERPRETERS = ("bin/python3", "bin/python", "Scripts/python.exe", "python.exe", "python3")
"""Where an environment folder (a venv, a conda environment) keeps its interpreter."""

QUICK_SECONDS = 30.0
FULL_SECONDS = 180.0
"""How long the check may take: quick (find the packages) and full (import them)."""

SCRIPT = r"""
import importlib, importlib.metadata, importlib.util, json, sys
full = sys.argv[-1] == "import"
report = {"python": list(sys.version_info[:3]), "missing": [], "broken": [], "versions": {}}
for module, dist in json.loads(sys.argv[-2]):
    try:
        if importlib.util.find_spec(module) is None:
            report["missing"].append(dist)
            continue
        if full:
            importlib.import_module(module)
        report["versions"][dist] = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        pass
    except BaseException as err:
        report["broken"].append("%s (%s)" % (dist, type(err).__name__))
try:
    from core.progress_events import PROTOCOL
    report["protocol"] = PROTOCOL
except BaseException:
    report["protocol"] = None
print("LCA-CHECK " + json.dumps(report))
"""
"""Run by the environment's interpreter: one line ``LCA-CHECK {json}`` on stdout."""

SETTING = "Edit > Preferences > Add-ons > LCA Avatar"


@dataclass(frozen=True)
class EnvironmentCheck:
    """python: the interpreter found (None when none was); problem: one sentence saying what
    is wrong, None when the environment can run ``lca create``; message: one sentence for the
    preferences either way."""

    path: str
    python: Path | None
    problem: str | None
    message: str

    @property
    def ok(self) -> bool:
        return self.problem is None


def not_set_sentence() -> str:
    return (
        "No lca environment is set; choose a Python 3.11 or 3.12 environment with LCA Avatar "
        f"installed (such as the .venv that `make` builds) in {SETTING}."
    )


def interpreter(path: Path) -> Path | None:
    """The Python interpreter of ``path``: the file itself, or the one inside the environment
    folder (links are kept: a venv's ``bin/python`` is a link that knows its venv)."""
    if path.is_file():
        return path
    if path.is_dir():
        for name in INTERPRETERS:
            candidate = path / name
            if candidate.is_file():
                return candidate
    return None


def child_environment() -> dict[str, str]:
    """The environment variables of a worker: Blender's, less those that would point another
    Python at Blender's own library (PYTHONHOME), with unbuffered UTF-8 output."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONSTARTUP")}
    env.update(PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    return env


def check_environment(text: str, full: bool = False) -> EnvironmentCheck:
    """Whether ``text`` (the preference: a folder or an interpreter) can run ``lca create``.
    ``full`` imports the packages (seconds: the Check button); otherwise only finds them
    (a fraction of a second: before each creation)."""
    text = text.strip()
    if not text:
        sentence = not_set_sentence()
        return EnvironmentCheck(text, None, sentence, sentence)
    path = Path(text).expanduser()
    shown = quoted(path, PATH_LIMIT)
    if not path.exists():
        return _refused(text, None, f"The lca environment {shown} does not exist; {_CHOOSE}.")
    python = interpreter(path)
    if python is None:
        return _refused(
            text, None, f"The folder {shown} holds no Python interpreter (bin/python); {_CHOOSE}."
        )
    report, failure = _run_script(python, full)
    if report is None:
        return _refused(text, python, f"{quoted(python, PATH_LIMIT)} {failure}; {_CHOOSE}.")
    problem = report_problem(report, shown)
    if problem is not None:
        return _refused(text, python, problem)
    major, minor, micro = report["python"]
    versions = report["versions"]
    packages = ", ".join(
        f"{dist} {versions[dist]}" for _, dist in PACKAGES[1:4] if dist in versions
    )
    message = (
        f"The lca environment {shown} is ready: Python {major}.{minor}.{micro} with LCA Avatar "
        f"{versions.get('lca-avatar', '(source)')}, {packages}."
    )
    return EnvironmentCheck(text, python, None, message)


_CHOOSE = (
    "choose a Python 3.11 or 3.12 environment folder, or its interpreter, with LCA Avatar "
    "installed (such as the .venv that `make` builds)"
)


def _refused(text: str, python: Path | None, sentence: str) -> EnvironmentCheck:
    return EnvironmentCheck(text, python, sentence, sentence)


def _run_script(python: Path, full: bool) -> tuple[dict | None, str]:
    """(the script's report, "") or (None, what went wrong, as the end of a sentence)."""
    packages = json.dumps(PACKAGES)
    try:
        done = subprocess.run(
            [str(python), "-c", SCRIPT, packages, "import" if full else "find"],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=FULL_SECONDS if full else QUICK_SECONDS,
            stdin=subprocess.DEVNULL,
            env=child_environment(),
            cwd=Path.home(),  # not a folder holding another `core`
        )
    except subprocess.TimeoutExpired:
        return None, "did not answer within a few minutes"
    except OSError as err:
        return None, f"could not be run ({err.strerror or type(err).__name__})"
    for line in done.stdout.splitlines():
        if line.startswith("LCA-CHECK "):
            try:
                return json.loads(line.removeprefix("LCA-CHECK ")), ""
            except ValueError:
                break
    last = next((s.strip() for s in reversed(done.stderr.splitlines()) if s.strip()), "")
    detail = f": {last[:200]}" if last else ""
    return None, f"is not a Python 3 that runs (exit code {done.returncode}{detail.rstrip('.')})"


def report_problem(report: dict, shown: str) -> str | None:
    """One sentence for what the script found wrong, or None."""
    major, minor = report["python"][:2]
    if (major, minor) not in PYTHONS:
        return (
            f"The lca environment {shown} runs Python {major}.{minor}, but `lca create` needs "
            "Python 3.11 or 3.12 (MediaPipe 0.10.21 has no build for others); choose a Python "
            "3.11 or 3.12 environment with LCA Avatar installed."
        )
    missing = report["missing"] + report["broken"]
    if missing:
        return (
            f"The lca environment {shown} lacks {', '.join(missing)}; install LCA Avatar there "
            "with its photos extras (pip install -e '.[photos]' in the repository, as `make` "
            "does) or choose another environment."
        )
    if report.get("protocol") != PROTOCOL:
        return (
            f"The LCA Avatar in the lca environment {shown} is older than this extension (no "
            f"progress protocol {PROTOCOL}); update it there (git pull, then make)."
        )
    return None
