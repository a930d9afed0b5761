"""perceive on the shared photos, by category (file-name prefix, see SOURCES.md).

Every MediaPipe run is cached for the module, so each photo is perceived once per set of
arguments. Outcomes that differ from a photo's category are listed, with the reason, in
EXCEPTIONS below and in docs/recon.md.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import LcaError
from core.recon import (
    BODY_LANDMARK_NAMES,
    FEET,
    HEAD,
    NoPersonError,
    Perception,
    PerceptionError,
    PersonCutOffError,
    PersonTooSmallError,
    SeveralPeopleError,
    load_photo,
    perceive,
)
from tests.photos import PHOTOS, photo_names, shared_photo

ROOT = Path(__file__).resolve().parents[3]

pytestmark = [
    pytest.mark.skipif(not PHOTOS.is_dir(), reason=f"shared test photos not found at {PHOTOS}"),
]
pytest.importorskip("mediapipe", reason="perception needs mediapipe (the 'photos' extras)")
pytest.importorskip("cv2", reason="perception needs OpenCV (the 'photos' extras)")

# Photos whose outcome is not what their category suggests, and why (docs/recon.md).
EXCEPTIONS = {
    # The visor hides the face and MediaPipe's person detector keys on faces: not found,
    # whole photo or tiles.
    "fullbody_front_astronaut_spacesuit_01.jpg": NoPersonError,
    # Only legs and an arm: Pose finds no body, Hands finds the hand.
    "cut_off_legs_only_tennis_01.jpg": PersonCutOffError,
    # Two faces (FaceDetection) but Pose separates only one child.
    "face_closeup_two_children_01.jpg": SeveralPeopleError,
    # Pose finds no body in a head-and-shoulders close-up (also padded or shrunk).
    "face_closeup_woman_facepaint_01.jpg": PersonCutOffError,
}


def usual(prefix: str) -> list[str]:
    return [name for name in photo_names(prefix) if name not in EXCEPTIONS]


@pytest.fixture(scope="module")
def outcome():
    """outcome(name, person=None, allow_partial=False) -> Perception or the PerceptionError."""
    loaded, results = {}, {}

    def run(name: str, person: int | None = None, allow_partial: bool = False):
        key = (name, person, allow_partial)
        if key not in results:
            if name not in loaded:
                loaded[name] = load_photo(PHOTOS / name)
            try:
                results[key] = perceive(loaded[name], person=person, allow_partial=allow_partial)
            except PerceptionError as err:
                results[key] = err
        return results[key]

    return run


def assert_whole_person(result) -> Perception:
    assert isinstance(result, Perception), f"refused: {result}"
    assert result.people == 1 and result.person == 0
    assert result.missing == ()
    return result


def assert_refused(result, kind: type, name: str, *words: str) -> None:
    assert isinstance(result, kind), f"expected {kind.__name__}, got {result!r}"
    message = str(result)
    assert isinstance(result, LcaError)
    assert name in message and "\n" not in message and message.endswith(".")
    for word in words:
        assert word in message


# --- categories --------------------------------------------------------------------------


def test_every_category_has_photos():
    for prefix in ("fullbody_front_", "back_view_", "multi_person_", "cut_off_", "no_person_"):
        assert photo_names(prefix), f"no {prefix}* photo in {PHOTOS}"


@pytest.mark.parametrize("name", [name for name in EXCEPTIONS if name in photo_names("")])
def test_documented_exceptions(outcome, name):
    assert isinstance(outcome(name), EXCEPTIONS[name]), outcome(name)


@pytest.mark.parametrize("name", usual("fullbody_front_") + photo_names("stylized_3d_render_"))
def test_full_body_front_is_one_whole_person(outcome, name):
    result = assert_whole_person(outcome(name))
    assert result.face is not None
    assert result.box.height > 0.5 * result.photo.height


def test_astronaut_in_a_visored_helmet_is_refused_as_no_person(outcome):
    name = "fullbody_front_astronaut_spacesuit_01.jpg"
    shared_photo(name)
    for allow_partial in (False, True):
        result = outcome(name, allow_partial=allow_partial)
        assert_refused(result, NoPersonError, name, "No person was found")


@pytest.mark.parametrize("name", usual("back_view_"))
def test_back_view_is_one_whole_person_without_a_face(outcome, name):
    result = assert_whole_person(outcome(name))
    assert result.face is None  # no face mesh from behind


@pytest.mark.parametrize(
    "name", usual("side_view_") + usual("loose_garment_") + usual("unusual_pose_")
)
def test_other_single_person_photos_are_one_whole_person(outcome, name):
    assert_whole_person(outcome(name))


@pytest.mark.parametrize(
    "name", photo_names("no_person_") + ["stylized_drawing_girl_in_dress_01.png"]
)
def test_no_person(outcome, name):
    shared_photo(name)
    for allow_partial in (False, True):
        assert_refused(outcome(name, allow_partial=allow_partial), NoPersonError, name)


@pytest.mark.parametrize("name", usual("multi_person_"))
def test_several_people_are_refused_unless_one_is_chosen(outcome, name):
    result = outcome(name)
    assert_refused(result, SeveralPeopleError, name, "several people", "left to right")
    count = int(str(result).split("several people (")[1].split(")")[0])
    assert count >= 2
    chosen = [outcome(name, person=index, allow_partial=True) for index in range(count)]
    for index, person in enumerate(chosen):
        assert isinstance(person, Perception), f"person {index}: {person}"
        assert (person.person, person.people) == (index, count)
    centres = [person.box.center[0] for person in chosen]
    assert centres == sorted(centres), "people are not numbered left to right"
    assert min(np.diff(centres)) > 0.03 * chosen[0].photo.width, "one person chosen twice"
    assert_refused(outcome(name, person=count), PerceptionError, name, f"no person {count}")


def test_soccer_players_are_each_whole(outcome):
    name = "multi_person_soccer_players_01.jpg"
    shared_photo(name)
    for index in range(3):
        result = outcome(name, person=index)
        assert isinstance(result, Perception), result
        assert result.missing == ()


@pytest.mark.parametrize("name", usual("cut_off_") + photo_names("upper_body_"))
def test_cut_off_is_refused_unless_partial_is_allowed(outcome, name):
    assert_refused(outcome(name), PersonCutOffError, name, "cut off", "head to feet")
    partial = outcome(name, allow_partial=True)
    assert isinstance(partial, Perception), partial
    assert partial.missing == ("feet",)


def test_legs_only_is_refused_even_when_partial(outcome):
    name = "cut_off_legs_only_tennis_01.jpg"
    shared_photo(name)
    for allow_partial in (False, True):
        result = outcome(name, allow_partial=allow_partial)
        assert_refused(result, PersonCutOffError, name, "Only part of a person", "a hand")


@pytest.mark.parametrize("name", usual("face_closeup_") + photo_names("stylized_painting_"))
def test_face_close_up_is_cut_off_unless_partial(outcome, name):
    assert_refused(outcome(name), PersonCutOffError, name, "feet")
    partial = outcome(name, allow_partial=True)
    assert isinstance(partial, Perception) and "feet" in partial.missing
    assert partial.face is not None


def test_face_paint_close_up_has_no_body_even_when_partial(outcome):
    name = "face_closeup_woman_facepaint_01.jpg"
    shared_photo(name)
    for allow_partial in (False, True):
        result = outcome(name, allow_partial=allow_partial)
        assert_refused(result, PersonCutOffError, name, "Only part of a person (a face)")


def test_two_children_are_several_people_who_cannot_be_told_apart(outcome):
    name = "face_closeup_two_children_01.jpg"
    shared_photo(name)
    assert_refused(outcome(name), SeveralPeopleError, name, "several people (2)")
    chosen = outcome(name, person=0, allow_partial=True)
    assert_refused(chosen, SeveralPeopleError, name, "cannot be told apart")


@pytest.mark.parametrize("name", photo_names("hands_"))
def test_hands_only_is_cut_off(outcome, name):
    assert_refused(outcome(name, allow_partial=True), PersonCutOffError, name, "hand")


def test_person_number_on_a_single_person_photo(outcome):
    name = "fullbody_front_man_tshirt_apose_01.jpg"
    assert_whole_person(outcome(name, person=0))
    assert_refused(outcome(name, person=1), PerceptionError, name, "no person 1", "0 to 0")


# --- what a perception holds -------------------------------------------------------------


def test_shapes_dtypes_and_read_only_arrays(outcome):
    result = assert_whole_person(outcome("fullbody_front_man_tshirt_apose_01.jpg"))
    height, width = result.photo.height, result.photo.width
    body = result.body
    expected = {
        "body.pixels": (body.pixels, (33, 2)),
        "body.depth": (body.depth, (33,)),
        "body.visibility": (body.visibility, (33,)),
        "body.world": (body.world, (33, 3)),
        "left_hand.pixels": (result.left_hand.pixels, (21, 2)),
        "right_hand.depth": (result.right_hand.depth, (21,)),
        "face.pixels": (result.face.pixels, (478, 2)),
        "face.depth": (result.face.depth, (478,)),
        "mask": (result.mask, (height, width)),
    }
    for label, (array, shape) in expected.items():
        assert array.shape == shape, label
        assert array.dtype == np.float32, label
        assert not array.flags.writeable, label
    assert 0.0 <= result.mask.min() and result.mask.max() <= 1.0
    assert 0 <= result.box.x0 < result.box.x1 <= width
    assert 0 <= result.box.y0 < result.box.y1 <= height


def test_landmarks_agree_with_each_other(outcome):
    result = assert_whole_person(outcome("fullbody_front_man_tshirt_apose_01.jpg"))
    pixels = result.body.pixels
    # The person's own left hand is found at the body's left wrist (landmark 15), the
    # right at 16, and the face mesh around the nose (0).
    for hand, wrist in ((result.left_hand, 15), (result.right_hand, 16)):
        assert np.linalg.norm(hand.pixels[0] - pixels[wrist]) < 0.03 * result.photo.height
    face_centre = result.face.pixels.mean(axis=0)
    assert np.linalg.norm(face_centre - pixels[0]) < 0.03 * result.photo.height
    # The silhouette covers the hips and not the photo's corner.
    hip = pixels[[23, 24]].mean(axis=0).astype(int)
    assert result.mask[hip[1], hip[0]] > 0.8 and result.mask[0, 0] < 0.2
    # World landmarks: metres, origin between the hips, y down.
    world = result.body.world
    assert np.abs(world[[23, 24]].mean(axis=0)).max() < 0.05
    assert world[0, 1] < -0.4 and world[[27, 28], 1].min() > 0.5


def test_landmarks_scale_with_the_photo(outcome, tmp_path):
    # The small person in the back view goes through the crop-and-retry window; landmarks
    # must come back in the pixels of the whole photo at any photo size.
    name = "back_view_person_surfboard_beach_01.jpg"
    full = assert_whole_person(outcome(name))
    small_photo = load_photo(PHOTOS / name, max_side=720)
    small = assert_whole_person(perceive(small_photo))
    ratio = small_photo.width / full.photo.width
    seen = (full.body.visibility > 0.9) & (small.body.visibility > 0.9)
    error = np.abs(small.body.pixels[seen] - full.body.pixels[seen] * ratio)
    assert np.median(error) < 0.01 * small_photo.height
    # At 720 px Pose on the whole photo puts the ankles at knee height (0.56 of the photo's
    # height instead of 0.72); the crop around the person's mask finds them where they are.
    ankles = small.body.pixels[[27, 28], 1] / small_photo.height
    assert np.abs(ankles - full.body.pixels[[27, 28], 1] / full.photo.height).max() < 0.03


# --- cut off, made from a whole person ---------------------------------------------------


def _edited(tmp_path, name: str, edit) -> Path:
    image = Image.open(PHOTOS / name).convert("RGB")
    path = tmp_path / f"edited_{name}.png"
    edit(image).save(path)
    return path


def test_head_outside_the_photo_is_cut_off(tmp_path):
    # The A-pose man's head spans 0.10 to 0.20 of the photo's height: cut the top 15% away.
    path = _edited(
        tmp_path,
        "fullbody_front_man_tshirt_apose_01.jpg",
        lambda im: im.crop((0, int(0.15 * im.height), im.width, im.height)),
    )
    photo = load_photo(path)
    with pytest.raises(PersonCutOffError) as err:
        perceive(photo)
    assert_refused(err.value, PersonCutOffError, str(path), "cut off (head outside")
    assert perceive(photo, allow_partial=True).missing == ("head",)


def test_hidden_feet_are_cut_off(tmp_path):
    # Everything below the knees painted gray: MediaPipe still places the feet inside the
    # photo, but sees them with visibility under 0.1.
    def hide_legs(image):
        pixels = np.asarray(image).copy()
        pixels[int(0.6 * image.height) :] = 128
        return Image.fromarray(pixels)

    path = _edited(tmp_path, "fullbody_front_man_tshirt_apose_01.jpg", hide_legs)
    photo = load_photo(path)
    with pytest.raises(PersonCutOffError) as err:
        perceive(photo)
    assert_refused(err.value, PersonCutOffError, str(path), "cut off (feet outside")
    partial = perceive(photo, allow_partial=True)
    assert partial.missing == ("feet",)
    assert (partial.body.pixels[list(range(27, 31)), 1] < photo.height).all()


# --- small people (crop-and-retry, then refusal) -----------------------------------------


def _pasted(tmp_path, fraction: float) -> Path:
    """The suit photo pasted so that it spans ``fraction`` of a 2000 x 1500 gray photo."""
    source = Image.open(PHOTOS / "fullbody_front_man_suit_01.jpg").convert("RGB")
    canvas = Image.new("RGB", (2000, 1500), (200, 200, 200))
    height = int(fraction * 1500 / 0.81)  # the man spans 0.81 of his own photo
    width = int(source.width * height / source.height)
    canvas.paste(source.resize((width, height), Image.Resampling.LANCZOS), (1100, 450))
    path = tmp_path / f"small_{fraction}.png"
    canvas.save(path)
    return path


def test_small_person_is_found_by_crop_and_retry(tmp_path):
    result = perceive(load_photo(_pasted(tmp_path, 0.25)))
    assert_whole_person(result)
    assert result.face is not None
    assert 0.2 < result.box.height / result.photo.height < 0.3


def test_tiny_person_is_refused(tmp_path):
    path = _pasted(tmp_path, 0.12)
    with pytest.raises(PersonTooSmallError) as err:
        perceive(load_photo(path))
    assert_refused(err.value, PersonTooSmallError, str(path), "too small", "15% needed")


def test_body_landmark_names_follow_mediapipe():
    from mediapipe.python.solutions.pose import PoseLandmark

    assert BODY_LANDMARK_NAMES == tuple(mark.name.lower() for mark in PoseLandmark)
    assert [BODY_LANDMARK_NAMES[i] for i in FEET] == [
        "left_ankle", "right_ankle", "left_heel", "right_heel"
    ]  # fmt: skip
    assert BODY_LANDMARK_NAMES[HEAD[-1]] == "mouth_right"


# --- cheap to import ---------------------------------------------------------------------


def test_importing_core_recon_loads_no_model_library():
    code = (
        "import sys, core.recon; print(sorted(m for m in ('mediapipe', 'cv2') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
