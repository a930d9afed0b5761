"""Which Python packages the add-on needs beyond Blender, whether they are there, and one
sentence when some are missing.

The extension registers without them (nothing imports them at registration); operators that
need them call :func:`missing_dependency` first. Three sources: Blender itself (numpy), the
small pure wheels the extension zip bundles (``wheels/``, listed in the manifest), and the
preferences' "Install Dependencies" (``pip_install.py``), which installs the rest, pinned, into
the extension's own user folder. The pins are the ones in the project's requirements.lock
(a test checks that they agree). Nothing here imports bpy, and the check imports nothing: it
only asks whether each module can be found.

Photo reconstruction (Create Avatar from Photos) needs MediaPipe on top
(:data:`PHOTO_REQUIREMENTS`): optional, installed by the same button when "Also install photo
reconstruction (MediaPipe)" is ticked, and only where its pinned wheels exist
(:data:`PHOTO_PYTHONS`); :func:`missing_photo_dependency` says what to do otherwise.
"""

import importlib.metadata
import importlib.util
import sys
from dataclasses import dataclass

BLENDER = "Blender"
BUNDLED = "bundled"
INSTALLER = "installer"


@dataclass(frozen=True)
class Requirement:
    """module: the import name; distribution: the pip name; version: the pinned version (""
    for what Blender brings); source: BLENDER, BUNDLED (a wheel in the zip) or INSTALLER;
    no_deps: installed with ``--no-deps`` (its own dependencies are listed here)."""

    module: str
    distribution: str
    version: str
    source: str
    no_deps: bool = False

    @property
    def pin(self) -> str:
        return f"{self.distribution}=={self.version}"


REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("torch", "torch", "2.13.0", INSTALLER),
    Requirement("safetensors", "safetensors", "0.8.0", INSTALLER),
    Requirement("PIL", "pillow", "13.0.0", INSTALLER),
    Requirement("yaml", "PyYAML", "6.0.4", INSTALLER),
    Requirement("warp", "warp-lang", "1.19.0", INSTALLER, no_deps=True),
    Requirement("anny", "anny", "0.6.2", INSTALLER, no_deps=True),
    Requirement("roma", "roma", "1.8.0", BUNDLED),
    Requirement("trimesh", "trimesh", "5.2.0", BUNDLED),
    Requirement("numpy", "numpy", "", BLENDER),
)
"""What the avatar code imports at run time that the Python standard library does not hold.
warp-lang and anny come without their dependencies: the only ones not listed here (numpy,
requests) are Blender's own, and a second numpy must not shadow Blender's."""

PHOTO_REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("mediapipe", "mediapipe", "0.10.21", INSTALLER, no_deps=True),
    Requirement("cv2", "opencv-contrib-python", "4.11.0.86", INSTALLER, no_deps=True),
)
"""What photo reconstruction imports on top of REQUIREMENTS (person perception). Installed
without dependencies, each of theirs pinned in ``pip_install.PHOTO_DEPENDENCY_PINS``: numpy
stays Blender's."""

PHOTO_PYTHONS = ((3, 11), (3, 12))
"""The Python versions with a wheel of every photo pin on PyPI (checked with ``pip download
--only-binary=:all: --python-version``): mediapipe 0.10.21 has none for 3.13 (its 3.13 wheels
start at 0.10.30, without the solutions API core/recon uses), and jax 0.7.1 and scipy 1.17.1
need 3.11 or later. Blender 4.2-5.0 embed 3.11, Blender 5.1 and later 3.13."""


@dataclass(frozen=True)
class Status:
    """One requirement as found: version is the installed distribution's ("" if unknown)."""

    requirement: Requirement
    present: bool
    version: str = ""


def check(requirements: tuple[Requirement, ...] = REQUIREMENTS) -> tuple[Status, ...]:
    """Whether each requirement's module can be imported (found on sys.path; not imported)."""
    statuses = []
    for requirement in requirements:
        try:
            present = importlib.util.find_spec(requirement.module) is not None
        except (ImportError, ValueError):
            present = False
        version = ""
        if present:
            try:
                version = importlib.metadata.version(requirement.distribution)
            except importlib.metadata.PackageNotFoundError:
                version = ""
        statuses.append(Status(requirement, present, version))
    return tuple(statuses)


def missing_names(statuses: tuple[Status, ...]) -> tuple[str, ...]:
    """The pip names of the requirements not found."""
    return tuple(s.requirement.distribution for s in statuses if not s.present)


def missing_sentence(missing: tuple[str, ...]) -> str | None:
    """None when nothing is missing, else one sentence naming what is and what to do."""
    if not missing:
        return None
    names = ", ".join(missing)
    python = python_version()
    return (
        f"LCA Avatar needs {names}, missing from this Blender's Python {python}; click Install "
        "Dependencies in Edit > Preferences > Add-ons > LCA Avatar (or point it at a Python "
        f"{python} environment that has them)."
    )


def python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def photo_python_problem(version: tuple[int, int] | None = None) -> str | None:
    """None when the photo packages can be installed for Python ``version`` (default: this
    one), else one sentence saying they cannot and what to do instead."""
    major, minor = version if version is not None else sys.version_info[:2]
    if (major, minor) in PHOTO_PYTHONS:
        return None
    return (
        "Photo reconstruction needs mediapipe 0.10.21, which has no build for this Blender's "
        f"Python {major}.{minor}; set the lca environment (a Python 3.11 environment with LCA "
        "Avatar, where Create from Photos runs `lca create` in a worker) in Edit > Preferences "
        "> Add-ons > LCA Avatar, or create the avatar with `lca create PHOTO -o NAME.lca` and "
        "add it with File > Import > LCA Avatar (.lca)."
    )


def missing_photo_dependency() -> str | None:
    """None when the photo packages can be imported, else one sentence naming those missing
    and saying how to install them (or, where they have no build, what to do instead)."""
    missing = missing_names(check(PHOTO_REQUIREMENTS))
    if not missing:
        return None
    problem = photo_python_problem()
    if problem is not None:
        return problem
    python = python_version()
    return (
        f"Creating an avatar from photos needs {', '.join(missing)}, missing from this "
        f'Blender\'s Python {python}; tick "Also install photo reconstruction (MediaPipe)" '
        "and click Install Dependencies in Edit > Preferences > Add-ons > LCA Avatar (or point "
        f"it at a Python {python} environment that has them)."
    )


def missing_dependency() -> str | None:
    """None when every required package can be imported, else one sentence naming those
    missing and saying how to install them."""
    return missing_sentence(missing_names(check()))
