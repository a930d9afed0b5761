"""The sample person (core/recon/sample_person.py): the project's own default input must be
a photo that MediaPipe reads like a real one, dressed as documented."""

from __future__ import annotations

import pytest
import torch

from core.recon import facing, load_photo, perceive, seen_from_behind
from core.recon.sample_person import HAIR, SHIRT, TROUSERS, sample_avatar, write_sample_photos


@pytest.fixture(scope="module")
def photos(anny_body, tmp_path_factory):
    """The sample person from the front, the left and behind (720 x 1080 PNGs)."""
    out = tmp_path_factory.mktemp("sample")
    views = ("front", "left", "back")
    return dict(zip(views, write_sample_photos(anny_body, out, views, count=30_000), strict=True))


def test_mediapipe_finds_the_whole_person_face_and_hands(photos):
    seen = perceive(load_photo(photos["front"]))
    assert (seen.people, seen.missing) == (1, ())
    assert seen.face is not None
    assert seen.left_hand is not None and seen.right_hand is not None
    # Standing upright, filling most of the frame's height.
    assert seen.box.height > 0.6 * 1080
    assert facing(seen) > 0.9 and not seen_from_behind(seen)


def test_side_and_back_views_face_the_way_they_were_shot(photos):
    side = perceive(load_photo(photos["left"]))
    back = perceive(load_photo(photos["back"]))
    assert abs(facing(side)) < 0.4 and not seen_from_behind(side)
    assert facing(back) < -0.9 and seen_from_behind(back)


def test_clothes_and_hair_are_where_they_are_documented(anny_body):
    from core.render.sh import SH_C0

    avatar = sample_avatar(anny_body, count=20_000)
    colour = avatar.binding.sh[:, 0] * SH_C0 + 0.5
    hue = colour / colour.sum(-1, keepdim=True).clamp_min(1e-6)

    def median_hue(part: str) -> torch.Tensor:
        mask = avatar.binding.part == avatar.part_names.index(part)
        return hue[mask].median(dim=0).values

    def target(rgb) -> torch.Tensor:
        value = torch.tensor(rgb)
        return value / value.sum()

    # Shading scales brightness, so compare chromaticity.
    assert torch.allclose(median_hue("upper_arm.L"), target(SHIRT), atol=0.03)
    assert torch.allclose(median_hue("lower_leg.R"), target(TROUSERS), atol=0.03)
    head = avatar.binding.part == avatar.part_names.index("head")
    from core.posing import avatar_scene

    z = avatar_scene(avatar).means[:, 2]
    crown = head & (z > z[head].max() - 0.03)
    assert torch.allclose(hue[crown].median(dim=0).values, target(HAIR), atol=0.03)
