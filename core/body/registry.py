"""Build a body model by name."""

from __future__ import annotations

from pathlib import Path

from ..errors import BodyModelError
from .model import BodyModel

BODY_MODELS = ("anny", "smplx")


def load_body_model(name: str = "anny", smplx_dir: Path | str | None = None) -> BodyModel:
    """The body model ``name``; SMPL-X needs ``smplx_dir``, the folder of the user's own
    licensed model file."""
    if name == "anny":
        from .anny_body import AnnyBody

        return AnnyBody()
    if name == "smplx":
        from .smplx_body import SmplxBody

        if smplx_dir is None:
            raise BodyModelError(
                "The SMPL-X body needs your licensed model file; pass its folder with "
                "--smplx-dir (it must hold smplx/SMPLX_NEUTRAL.npz)."
            )
        return SmplxBody(smplx_dir)
    raise BodyModelError(f"Unknown body model '{name}'; choose one of {', '.join(BODY_MODELS)}.")
