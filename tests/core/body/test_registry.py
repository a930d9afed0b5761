import pytest

from core.body import load_body_model
from core.body.smplx_body import smplx_model_file
from core.errors import BodyModelError


def test_smplx_without_folder_names_the_option():
    with pytest.raises(BodyModelError, match="--smplx-dir"):
        load_body_model("smplx")


def test_missing_smplx_file_names_the_file_to_provide(tmp_path):
    with pytest.raises(BodyModelError) as info:
        load_body_model("smplx", smplx_dir=tmp_path)
    message = str(info.value)
    assert "SMPLX_NEUTRAL.npz" in message and str(tmp_path) in message
    assert message.count(". ") == 0 and message.endswith(".")


def test_smplx_file_is_found_in_the_usual_layouts(tmp_path):
    target = tmp_path / "smplx" / "SMPLX_NEUTRAL.npz"
    target.parent.mkdir()
    target.write_bytes(b"")
    assert smplx_model_file(tmp_path) == target
    assert smplx_model_file(tmp_path / "smplx") == target
    assert smplx_model_file(target) == target


def test_corrupt_smplx_file_is_one_sentence(tmp_path):
    target = tmp_path / "smplx" / "SMPLX_NEUTRAL.npz"
    target.parent.mkdir()
    target.write_bytes(b"not a zip archive")
    with pytest.raises(BodyModelError, match="could not be read"):
        load_body_model("smplx", smplx_dir=tmp_path)


def test_unknown_body_model():
    with pytest.raises(BodyModelError, match="Unknown body model 'mano'"):
        load_body_model("mano")
