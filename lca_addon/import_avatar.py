"""File > Import > LCA Avatar (.lca): read the file, take its rig (or compute it), build.

The operator is thin: the file path in, two steps (:func:`read_avatar_and_rig`: the reader on
numpy every Blender version uses, ``core.avatar.lca_numpy.load_lca_arrays``, and the rig the
file stores (schema 3), or else the one ``core.rig.build_rig`` computes on the body model
with torch; then ``scene_build.build_avatar_scene``; together :func:`import_avatar_file`,
which the command line uses too), the result reported. On Blender 5.3+ (native splats) a file
with its rig imports on numpy alone: no torch, no body model, no dependency install. On
4.2-5.2 the avatar object is drawn by the extension with torch, so torch is still needed.
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
        from .splat_object import native_splats_supported

        # 4.2-5.2 draw the avatar with torch; on 5.3+ only a file without a rig needs it
        # (read_avatar_and_rig says so after reading the file).
        problem = None if native_splats_supported() else missing_dependency()
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
        warning = native_correction_warning(objects.avatar)
        if warning is not None:
            self.report({"WARNING"}, warning)
        return {"FINISHED"}


def import_avatar_file(context: bpy.types.Context, path: Path):
    """Read, check and build: (scene_build.AvatarObjects, Gaussian count). The operator and
    the command line (``commands.py``) both import through here; LcaError leaves the scene
    as it was."""
    avatar, rig = read_avatar_and_rig(path)
    return build_imported_avatar(context, avatar, rig, path), avatar.count


def native_correction_warning(avatar: bpy.types.Object) -> str | None:
    """The sentence saying that native splats do not apply ``avatar``'s pose correction, or
    None where it is not native or has none."""
    from .pose_correction import NATIVE_WARNING, has_correction
    from .splat_object import is_native

    return NATIVE_WARNING if is_native(avatar) and has_correction(avatar.data) else None


def no_rig_sentence(path: Path) -> str:
    """One sentence: ``path`` holds no rig and this Blender cannot compute one (no torch)."""
    return (
        f"'{path}' has no rig (files made before `.lca` schema 3 have none) and this Blender "
        f"has no torch to compute one; run `lca upgrade '{path}' -o NEW.lca` where the lca "
        "package is installed (it stores the rig) and import NEW.lca, or install the "
        "extension's dependencies in its preferences."
    )


def read_avatar_and_rig(path: Path):
    """The avatar of ``path`` and its rig, ready for ``scene_build``: on 5.3+ with a stored rig,
    numpy arrays only (``lca_numpy.AvatarArrays``, ``lca_rig.RigArrays``: torch is never
    imported); else the torch Avatar and the stored rig or the one computed on the body model.
    LcaError (one sentence) when the file is unusable or torch is needed and missing; touches
    no bpy data."""
    from ..core.avatar.lca_numpy import load_lca_arrays
    from .splat_object import native_splats_supported

    arrays = load_lca_arrays(path)
    if arrays.rig is not None and native_splats_supported():
        return arrays, arrays.rig
    problem = missing_dependency()
    if problem is not None:
        raise LcaError(no_rig_sentence(path) if arrays.rig is None else problem)
    from ..core.avatar.lca_file import avatar_from_arrays

    avatar = avatar_from_arrays(arrays)
    return avatar, arrays.rig if arrays.rig is not None else avatar_rig(avatar)


def avatar_rig(avatar):
    """The avatar's rig (``core.rig.Rig``) on its body model; touches no bpy, so a worker
    thread may compute it (``create_avatar.py``). LcaError when the avatar does not fit."""
    from ..core.rig import avatar_rig as rig_on_body_model

    return rig_on_body_model(avatar)


def build_imported_avatar(context: bpy.types.Context, avatar, rig, path: Path):
    """The avatar's scene (scene_build.AvatarObjects), named after ``path``'s stem, as the
    import builds it; the create operator builds through here too."""
    from .scene_build import build_avatar_scene

    return build_avatar_scene(context, avatar, rig, path.stem, str(path))


def menu_import(self, context):
    """File > Import entry."""
    self.layout.operator(LCA_OT_import_avatar.bl_idname, text="LCA Avatar (.lca)")
