"""What the extension holds while it is registered, in one object.

``registration.register()`` makes it (:func:`begin`) and ``registration.unregister()`` drops
it (:func:`end`); in between, :func:`current` gives it to whoever needs it (the viewport's
draw handler, the preferences' install button). Outside that window :func:`current` is None,
and those callers do nothing. Nothing here imports bpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pip_install import InstallJob


@dataclass
class ExtensionState:
    """cli_handle: the handle of the registered ``lca`` command-line command (Blender needs
    it to unregister); draw_handle: the 3D Viewport's splat draw handler; drawer: the splat
    drawer with its caches; install: the dependency install in progress (one at most);
    install_messages: the last install's sentences (a warning about what it left out, then
    its result), shown in the preferences; path_entries: the folders put on ``sys.path``;
    environment_check: the lca environment's last Check (``lca_environment.EnvironmentCheck``)."""

    cli_handle: object = None
    draw_handle: object = None
    drawer: object = None  # viewport_draw.SplatDrawer (not imported: it imports this module)
    install: InstallJob | None = None
    install_messages: list[str] = field(default_factory=list)
    path_entries: list[str] = field(default_factory=list)
    environment_check: object = None


_current: ExtensionState | None = None


def begin() -> ExtensionState:
    """A fresh state for a registration that starts now."""
    global _current
    _current = ExtensionState()
    return _current


def end() -> ExtensionState | None:
    """The state of the registration that ends now (None if none was begun); afterwards
    :func:`current` is None."""
    global _current
    state, _current = _current, None
    return state


def current() -> ExtensionState | None:
    """The state while the extension is registered, else None."""
    return _current
