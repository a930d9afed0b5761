"""Blender extension entry point: registers the add-on in ``lca_addon``.

Blender imports this file as the extension package; everything Blender-facing lives in
``lca_addon/`` and everything else in ``core/`` (which never imports bpy).
"""


def register() -> None:
    from .lca_addon import registration

    registration.register()


def unregister() -> None:
    from .lca_addon import registration

    registration.unregister()
