"""Blender 5.1+ embeds Python 3.13: these tests run in .venv313 (bpy 5.2, no torch) through
`make test-blender52`; under the main Python 3.11 venv they are not collected. As in
tests/addon, Blender's user folder is a throw-away one, set before bpy is imported."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

if sys.version_info < (3, 13):
    collect_ignore_glob = ["test_*.py"]
else:
    USER_RESOURCES = Path(tempfile.mkdtemp(prefix="lca-blender52-user-"))
    os.environ["BLENDER_USER_RESOURCES"] = str(USER_RESOURCES)

    @pytest.fixture(scope="session", autouse=True)
    def _user_resources():
        yield
        shutil.rmtree(USER_RESOURCES, ignore_errors=True)
