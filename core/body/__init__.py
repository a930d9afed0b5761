"""Body models: the contract, Anny (default) and SMPL-X (the user's own licensed file)."""

from .model import BodyModel, BodyOutput, ShapeParameter
from .registry import load_body_model

__all__ = ["BodyModel", "BodyOutput", "ShapeParameter", "load_body_model"]
