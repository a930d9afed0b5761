"""Small seeded avatars on an octahedron, for the avatar file tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.avatar import Avatar
from core.avatar.lca_file import save_lca
from tests.synthetic import assert_one_sentence, tiny_avatar


@pytest.fixture
def make_avatar() -> Callable[..., Avatar]:
    """The :func:`tiny_avatar` builder: ``make_avatar(n=64, sh_degree=1, seed=0)``."""
    return tiny_avatar


@pytest.fixture
def one_sentence() -> Callable[[BaseException, object], None]:
    """The :func:`assert_one_sentence` checker."""
    return assert_one_sentence


@pytest.fixture
def good(tmp_path, make_avatar) -> tuple[Avatar, bytes]:
    """A valid avatar (64 Gaussians, SH degree 2) and its `.lca` bytes."""
    avatar = make_avatar(n=64, sh_degree=2, seed=3)
    path = tmp_path / "good.lca"
    save_lca(avatar, path)
    return avatar, path.read_bytes()
