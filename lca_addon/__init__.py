"""Everything that imports bpy, and nothing else (DESIGN.md section 2).

- ``registration.py``: the one list of classes the extension registers;
- ``properties.py``: ``Object.lca_avatar``, the avatar's header and links;
- ``import_avatar.py``: File > Import > LCA Avatar (.lca); ``panels.py``: Sidebar > Avatar;
- ``scene_build.py``: armature, body mesh, shape keys and avatar object from ``core.rig``;
- ``avatar_object.py``: the binding stored as point attributes, and read back;
- ``live_link.py``: the evaluated body mesh -> ``core.deform`` (the mesh drives the splats);
- ``camera.py``: a Blender camera -> the OpenCV camera of ``core.render`` (the one conversion);
- ``render_engine.py``: the ``LCA_GAUSSIAN`` render engine (Combined, Depth, Normal, BodyPart);
- ``viewport_draw.py``: the splats in the 3D Viewport (``gpu`` module, a POST_VIEW handler);
- ``create_avatar.py``: Create Avatar from Photos (``core.recon``), a background job;
- ``jobs.py``: background jobs for operators (worker thread, modal progress, Esc, one undo);
- ``commands.py``: ``blender -c lca create|import|render``; ``bpy_module.py`` runs them for
  ``lca blender`` (the bpy module), enabling the extension from the checkout;
  ``blender_command.py`` is ``lca blender`` itself, the entry point through which the
  ``lca`` command finds it (imported as the top-level package lca_addon, never by Blender);
- ``benchmark.py``: the live link's per-frame cost (``lca bench blender``);
- ``dependencies.py``: which packages beyond Blender are needed, said in one sentence;
- ``preferences.py``: the dependency check and Install Dependencies (``pip_install.py``: pip
  in a subprocess; ``python_env.py``: the packages folder on sys.path, its Python version);
- ``build_extension.py``: builds the extension zip (a development tool, not shipped).

Modules that need torch are imported only inside operators, so the extension registers
without it. Core is imported relatively (``..core``): inside Blender the package is
``bl_ext.<repository>.lca_avatar``.
"""
