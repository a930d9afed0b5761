"""File > Import > LCA Avatar (.lca): read the file, check it against its body model, build.

The operator is thin: the file path in, three calls (``core.avatar.lca_numpy.load_lca_arrays``,
the reader on numpy every Blender version uses; the body model and ``core.rig.build_rig``,
which need torch; then ``scene_build.build_avatar_scene``; together
:func:`import_avatar_file`, which the command line uses too), the result reported.
Everything that can reject the input runs before the scene is touched, so an error leaves the
scene as it was.
"""

from pathlib import Path

import bpy
from bpy.props import StringProperty
from bpy_extras.io_utils import ImportHelper

from ..core.errors import LcaError
from .dependencies import missing_dependency


class LCA_OT_import_avatar(bpy.types.Operator, ImportHelper):
    """Import an LCA avatar: an armature, a skinned body mesh with shape keys, and the Gaussians"""

    bl_idname = "lca.import_avatar"
    bl_label = "Import LCA Avatar"
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".lca"
    filter_glob: StringProperty(default="*.lca", options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        if context.mode != "OBJECT":
            cls.poll_message_set("Switch to Object Mode to import an avatar.")
            return False
        return True

    def execute(self, context):
        problem = missing_dependency()
        if problem is not None:
            self.report({"ERROR"}, problem)
            return {"CANCELLED"}
        path = Path(bpy.path.abspath(self.filepath))
        try:
            objects, count = import_avatar_file(context, path)
        except LcaError as err:
            self.report({"ERROR"}, str(err))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Imported '{objects.avatar.name}' ({count} Gaussians).")
        return {"FINISHED"}


def import_avatar_file(context: bpy.types.Context, path: Path):
    """Read, check and build: (scene_build.AvatarObjects, Gaussian count). The operator and
    the command line (``commands.py``) both import through here; LcaError leaves the scene
    as it was."""
    from ..core.avatar.lca_file import avatar_from_arrays
    from ..core.avatar.lca_numpy import load_lca_arrays

    avatar = avatar_from_arrays(load_lca_arrays(path))
    return build_imported_avatar(context, avatar, avatar_rig(avatar), path), avatar.count


def avatar_rig(avatar):
    """The avatar's rig (``core.rig.Rig``) on its body model; touches no bpy, so a worker
    thread may compute it (``create_avatar.py``). LcaError when the avatar does not fit."""
    from ..core.body.registry import load_body_model
    from ..core.rig import build_rig

    return build_rig(load_body_model(avatar.body.model), avatar)


def build_imported_avatar(context: bpy.types.Context, avatar, rig, path: Path):
    """The avatar's scene (scene_build.AvatarObjects), named after ``path``'s stem, as the
    import builds it; the create operator builds through here too."""
    from .scene_build import build_avatar_scene

    return build_avatar_scene(context, avatar, rig, path.stem, str(path))


def menu_import(self, context):
    """File > Import entry."""
    self.layout.operator(LCA_OT_import_avatar.bl_idname, text="LCA Avatar (.lca)")
