"""LCA Avatar core: everything that does not need Blender.

Layers (each depends only on those listed before it): ``body``; ``render`` (world-space
Gaussians to images; it knows nothing of avatars); ``avatar`` (it uses ``render.sh``'s SH
tables); ``deform``; then ``posing`` and ``rig``, where avatars, deformation and rendering
meet; then ``recon`` (photos -> avatar); then the ``lca`` command in ``commands``. Nothing
here imports ``bpy``.
"""

__version__ = "0.1.0"
