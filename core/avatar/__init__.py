"""The avatar: Gaussians bound to body-mesh triangles, its file format and exports."""

from .avatar import BINDING_FIELDS, SCHEMA_VERSION, Avatar, BodyIdentity, GaussianBinding

__all__ = ["Avatar", "BodyIdentity", "GaussianBinding", "BINDING_FIELDS", "SCHEMA_VERSION"]
