"""lca_addon/extension_state.py: what the extension holds while registered is one object,
made by register() and dropped by unregister(); no other module keeps a mutable slot."""

import pkgutil

import pytest

from tests.addon.util import BPY_MISSING, PACKAGE, raise_error

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)
import addon_utils  # noqa: E402  (a Blender module, importable once bpy is)


def test_the_state_lives_from_register_to_unregister(addon):
    extension_state = addon.module("lca_addon.extension_state")
    viewport_draw = addon.module("lca_addon.viewport_draw")
    state = extension_state.current()
    assert state is not None
    assert state.cli_handle is not None and state.drawer is not None
    assert viewport_draw.draw_handles() == (state.draw_handle,)
    assert state.install is None

    addon_utils.disable(PACKAGE, default_set=True, handle_error=raise_error)
    try:
        assert extension_state.current() is None
        assert viewport_draw.draw_handles() == ()
        # Without a registration the drawer draws nothing and the preferences touch nothing.
        assert viewport_draw.draw_splats(None, None, 8, 8) is None
        addon.module("lca_addon.preferences").apply_folders()
        assert extension_state.current() is None
    finally:
        addon_utils.enable(PACKAGE, default_set=True, handle_error=raise_error)
    again = addon.module("lca_addon.extension_state").current()
    assert again is not None and again is not state


def test_no_module_keeps_a_mutable_global(addon):
    package = addon.module("lca_addon")
    slots = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in ("build_extension", "bpy_module"):  # development tools, not loaded
            continue
        module = addon.module(f"lca_addon.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, list | set | bytearray):
                slots.append(f"{info.name}.{name}")
    assert slots == []
