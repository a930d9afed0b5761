"""Which Python packages the add-on needs beyond Blender, and a one-sentence report if missing.

The extension registers without them (nothing imports them at registration); operators that
need them call :func:`missing_dependency` first. Installing them from the preferences comes
with the dependency issue.
"""

import importlib

REQUIRED = ("torch", "safetensors")
"""Packages the avatar code imports that Blender does not bundle (numpy it does)."""


def missing_dependency() -> str | None:
    """None when every required package imports, else one sentence naming the first missing."""
    for name in REQUIRED:
        try:
            importlib.import_module(name)
        except ImportError:
            return (
                f"LCA Avatar needs the Python package '{name}', which this Blender cannot "
                "import; install it into Blender's Python (pinned in the project's "
                "requirements.lock) and try again."
            )
    return None
