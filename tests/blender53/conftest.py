"""Blender 5.3 draws Gaussian splats natively: these tests run in .venv53 (bpy 5.3, Python
3.13, no torch) through `make test-blender53`; under the main Python 3.11 venv they are not
collected. As in tests/addon, Blender's user folder is a throw-away one, set before bpy is
imported."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

if sys.version_info < (3, 13):
    collect_ignore_glob = ["test_*.py"]
else:
    USER_RESOURCES = Path(tempfile.mkdtemp(prefix="lca-blender53-user-"))
    os.environ["BLENDER_USER_RESOURCES"] = str(USER_RESOURCES)

    @pytest.fixture(scope="session", autouse=True)
    def _user_resources():
        yield
        shutil.rmtree(USER_RESOURCES, ignore_errors=True)

    from tests.blender53.fixtures import (  # noqa: E402, F401  (fixtures for the tests here)
        addon,
        extension_zip,
        legacy_blend,
        native_blend,
        prepared,
    )
