"""Face identity (core/recon/identity.py): dlib's descriptor with its 5-point aligner tells
the same face from another person's, on the shared photos."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import LcaError
from core.recon import load_photo, perceive
from core.recon.identity import (
    SAME_PERSON,
    crop_window,
    descriptor,
    distance,
    face_box,
    load_identity_model,
)
from tests.photos import shared_photo


@pytest.fixture(scope="module")
def model():
    try:
        return load_identity_model()
    except LcaError as error:
        pytest.skip(str(error))


def _face(name: str):
    photo = load_photo(shared_photo(name))
    return photo.rgb, perceive(photo).face.pixels


def test_face_box_is_square_around_the_points_and_a_little_lower():
    points = np.array([[10.0, 20.0], [50.0, 20.0], [30.0, 80.0]])
    cx, cy, side = face_box(points)
    assert (cx, side) == (30.0, 60.0) and cy > 50.0
    assert crop_window((cx, cy, side), 100, 100) == (0, 0, 100, 100)


def test_mirror_image_is_the_same_person_and_another_man_is_not(model):
    rgb, points = _face("fullbody_front_man_tshirt_apose_01.jpg")
    mirrored = np.ascontiguousarray(rgb[:, ::-1])
    flipped = points.copy()
    flipped[:, 0] = rgb.shape[1] - flipped[:, 0]
    own = descriptor(model, rgb, face_box(points))
    assert own.shape == (128,)
    assert distance(own, descriptor(model, mirrored, face_box(flipped))) < SAME_PERSON
    other_rgb, other_points = _face("fullbody_front_man_suit_01.jpg")
    assert distance(own, descriptor(model, other_rgb, face_box(other_points))) > SAME_PERSON


def test_missing_dlib_is_one_sentence(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_dlib(name, *args, **kwargs):
        if name == "dlib":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dlib)
    with pytest.raises(LcaError, match="dlib") as caught:
        load_identity_model()
    assert str(caught.value).count(".") >= 1 and "\n" not in str(caught.value)


def test_create_does_not_import_the_identity_model():
    import subprocess
    import sys

    code = (
        "import sys, core.recon.create, core.commands.create, core.demo; "
        "print('dlib' in sys.modules, 'core.recon.identity' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
