"""Face close-up photos as extra views (issue 13): perception of a face with no body, the
refusals (alone, several faces, too small, another person), and body fitting of the head
and camera in a close-up beside a full-body photo."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.commands.main import main
from core.recon import load_photo
from core.recon.errors import PersonTooSmallError, SeveralPeopleError
from core.recon.geometry import Box
from core.recon.perception import MIN_FACE_PIXELS, close_up_mask, face_mask, perceive
from tests.photos import shared_photo

FACE = "face_closeup_woman_facepaint_01.jpg"
CHILDREN = "face_closeup_two_children_01.jpg"


def test_a_face_close_up_is_a_face_only_view():
    seen = perceive(load_photo(shared_photo(FACE)), allow_close_up=True)
    assert seen.close_up and seen.face is not None and seen.left_hand is None
    assert seen.body.visibility.max() == 0
    assert seen.box.width > MIN_FACE_PIXELS
    # The mask is the person's head, hair, neck and shoulders, not the face mesh's hull
    # alone (the hair and ears then took their colours from the full-body photo's few
    # pixels) and not the dark wooden door behind her.
    mask, box = seen.mask, seen.box
    x, y = seen.face.pixels.round().astype(int).T
    assert mask[y, x].min() >= 0.5
    hull = face_mask(seen.face.pixels, mask.shape)
    assert float((mask >= 0.5).sum()) > 2.0 * float(hull.sum())
    top, middle = int(box.y0), int(box.center[0])
    assert mask[max(0, top - int(0.1 * box.height)), middle] >= 0.5  # the hair above
    assert mask[: int(box.y0) // 2, :].mean() < 0.2 and mask[:, :20].mean() < 0.2


def test_the_close_up_mask_keeps_the_person_whose_face_it_is():
    person = np.zeros((60, 80), np.float32)
    person[5:50, 5:35] = 0.9  # this person: head and shoulders
    person[10:40, 50:75] = 0.8  # someone else, apart
    person[4, 5:35] = 0.3  # this person's soft edge
    face = np.zeros_like(person)
    face[15:30, 12:28] = 1.0
    face[14, 12] = 1.0  # a face point the segmentation missed
    person[14, 12] = 0.0
    mask = close_up_mask(person, face)
    assert np.all(mask[5:50, 5:35][person[5:50, 5:35] > 0] >= 0.9)
    assert np.all(mask[:, 45:] == 0)
    assert mask[4, 20] == pytest.approx(0.3) and mask[14, 12] == 1.0
    person[10:40, 35:50] = 0.8  # the other person now touches this one
    assert mask_sum(close_up_mask(person, face)[:, 45:]) > 0
    beside = close_up_mask(person, face, [Box(55.0, 15.0, 70.0, 30.0)])  # their face's box
    assert mask_sum(beside[15:30, 55:70]) == 0 and mask_sum(beside[15:30, 12:28]) == 15 * 16


def mask_sum(mask):
    return float((mask >= 0.5).sum())


def test_two_faces_need_a_person_number():
    photo = load_photo(shared_photo(CHILDREN))
    with pytest.raises(SeveralPeopleError, match=r"several faces \(2\); choose one"):
        perceive(photo, allow_close_up=True)
    right = perceive(photo, person=1, allow_close_up=True)
    left = perceive(photo, person=0, allow_close_up=True)
    assert right.close_up and right.person == 1
    assert left.box.center[0] < right.box.center[0]
    for seen, other in ((left, right), (right, left)):  # each mask leaves the other face out
        x, y = (round(c) for c in seen.box.center)
        assert seen.mask[y, x] >= 0.5
        x, y = (round(c) for c in other.box.center)
        assert seen.mask[y, x] == 0.0


def test_a_face_under_64_pixels_is_too_small(tmp_path):
    face = Image.open(shared_photo(FACE)).convert("RGB")
    small = face.resize((face.width * 150 // face.height, 150), Image.LANCZOS)  # a 62 px face
    canvas = Image.new("RGB", (300, 300), (128, 128, 128))
    canvas.paste(small, ((300 - small.width) // 2, 75))
    path = tmp_path / "small_face.png"
    canvas.save(path)
    with pytest.raises(PersonTooSmallError, match="face .* too small"):
        perceive(load_photo(path), allow_close_up=True)


def test_a_face_close_up_alone_is_refused_in_one_sentence(tmp_path, capsys):
    out = tmp_path / "face.lca"
    assert main(["create", str(shared_photo(FACE)), "-o", str(out), "--threads", "1"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and "add a full-body photo" in errors[0]
    assert not out.exists()


def test_a_face_close_up_of_another_person_is_refused_in_one_sentence(tmp_path, capsys):
    """A man's full-body photo with a woman's face close-up: their colours disagree where
    both see the face (measured 0.19 against the 0.09 limit), so create refuses them."""
    out = tmp_path / "mixed.lca"
    body = shared_photo("fullbody_front_man_tshirt_apose_01.jpg")
    argv = ["create", str(body), str(shared_photo(FACE)), "-o", str(out), "--threads", "1"]
    assert main([*argv, "--quality", "draft"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and "different people" in errors[0]
    assert "--allow-mixed" in errors[0] and FACE in errors[0]
    assert not out.exists()


def test_close_ups_are_fitted_after_the_full_body_photos_with_their_shape(anny_body):
    """A close-up fitted together with the full-body photos bent the shared shape and their
    head and expression towards the body model's face (the sample person's head lost 2.9 dB
    in a face close-up); the full-body fit must be the same with or without close-ups."""
    import torch

    from core.recon.body_fit import fit_body

    full = perceive(load_photo(shared_photo("fullbody_front_man_tshirt_apose_01.jpg")))
    close = perceive(load_photo(shared_photo(FACE)), allow_close_up=True)
    alone = fit_body(anny_body, [full], steps=20)
    both = fit_body(anny_body, [close, full], steps=20)
    assert torch.equal(both.shape, alone.shape)
    assert both.views[0].perception is close and both.views[1].perception is full
    for name in ("rotations", "expression"):
        assert torch.equal(getattr(both.views[1].pose, name), getattr(alone.views[0].pose, name))
    assert torch.equal(both.views[1].camera.world_to_camera, alone.views[0].camera.world_to_camera)
    camera = both.views[0].camera
    assert (camera.height, camera.width) == close.photo.rgb.shape[:2]
    head = anny_body.bone_names.index("head")
    assert float(both.views[0].pose.rotations[head].norm()) > 0  # the close-up's head is fitted

    # The close-up is cropped to its face (the mask's shoulders would shrink the face), and
    # its mask says where the person is not only above the chin.
    from core.recon.views import prepare_views

    views = prepare_views(anny_body, both, 200)
    assert views[1].outside is None and views[0].outside is not None
    x0, y0, x1, y1 = views[0].box
    box = close.box
    assert x0 <= box.x0 and box.x1 <= x1 and y0 <= box.y0 and box.y1 <= y1
    assert (x1 - x0) < 1.6 * max(box.width, box.height) + 2
    chin = (float(close.face.pixels[:, 1].max()) - y0) * views[0].rgb.shape[0] / (y1 - y0)
    assert bool(views[0].outside[: int(chin) - 1].all())
    assert not bool(views[0].outside[int(chin) + 1 :].any())
