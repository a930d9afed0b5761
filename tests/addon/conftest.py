"""Fixtures for the add-on tests, which run Blender as the bpy module (no display needed).

The extension is built with Blender's own build script and installed from its zip, as a user
would, into a throw-away user folder (``BLENDER_USER_RESOURCES``, set here before bpy is
imported, so nothing lands in ~/.config). Inside Blender its package is
``bl_ext.user_default.lca_avatar``; tests reach its modules through ``util.Extension`` and
compute what they expect with the repository's own ``core``. Each test starts from an empty
scene (the ``addon`` fixture).
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

USER_RESOURCES = Path(tempfile.mkdtemp(prefix="lca-blender-user-"))
os.environ["BLENDER_USER_RESOURCES"] = str(USER_RESOURCES)

from tests.addon.util import PACKAGE, Extension, install, is_installed, raise_error  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _user_resources():
    yield
    shutil.rmtree(USER_RESOURCES, ignore_errors=True)


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory) -> Path:
    """The extension zip, built as `make extension` builds it."""
    from lca_addon.build_extension import build_extension

    return build_extension(output_dir=tmp_path_factory.mktemp("dist"))


@pytest.fixture
def addon(extension_zip) -> Extension:
    """The extension installed and enabled, and an empty scene (add-ons stay enabled)."""
    import addon_utils
    import bpy

    if not addon_utils.check(PACKAGE)[1]:
        if is_installed():
            addon_utils.enable(PACKAGE, default_set=True, handle_error=raise_error)
        else:
            install(extension_zip)
    bpy.ops.wm.read_homefile(use_empty=True)
    return Extension(PACKAGE)


@pytest.fixture(scope="session")
def anny_body():
    """The Anny body model from the repository's core (its cache is built by `make`)."""
    from core.body.anny_body import AnnyBody, anny_cache_is_warm

    if not anny_cache_is_warm():
        pytest.skip("Anny's cache is cold; run `make test` (it builds the cache first).")
    return AnnyBody()


@pytest.fixture(scope="session")
def avatar(anny_body):
    """A small starter avatar (2,000 Gaussians) on the default Anny body."""
    from core.deform.template import make_starter_avatar

    return make_starter_avatar(anny_body, count=2000, name="small")


@pytest.fixture(scope="session")
def avatar_file(avatar, tmp_path_factory) -> Path:
    """``avatar`` saved as small.lca."""
    from core.avatar.lca_file import save_lca

    path = tmp_path_factory.mktemp("avatars") / "small.lca"
    save_lca(avatar, path)
    return path


@pytest.fixture(scope="session")
def rig(anny_body, avatar):
    """The avatar's rig, computed by the repository's core."""
    from core.rig import build_rig

    return build_rig(anny_body, avatar)


@pytest.fixture(scope="session")
def rigged_file(avatar, rig, tmp_path_factory) -> Path:
    """``avatar`` saved with its rig (schema 3) as small.lca."""
    from core.avatar.lca_file import save_lca

    path = tmp_path_factory.mktemp("rigged") / "small.lca"
    save_lca(avatar, path, rig)
    return path
