"""LCA Avatar core: everything that does not need Blender.

Layers (each depends only on those listed before it): ``body``, ``avatar``, ``deform``,
``render``, then the ``lca`` command in ``cli``. Nothing here imports ``bpy``.
"""

__version__ = "0.1.0"
