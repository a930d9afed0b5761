"""The avatar: Gaussians bound to body-mesh triangles, its file format and exports.

The names below load on first use, so that ``core.avatar.lca_numpy`` (the `.lca` reader on
numpy that Blender runs without torch) can be imported without importing torch.
"""

from importlib import import_module

__all__ = ["Avatar", "BodyIdentity", "GaussianBinding", "BINDING_FIELDS", "SCHEMA_VERSION"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(import_module(".avatar", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
