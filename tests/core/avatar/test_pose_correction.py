"""core/avatar/pose_correction.py: the stored pose correction, its evaluation, and how the
`.lca` file (torch and numpy readers) stores and checks it."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from core.avatar.lca_file import avatar_from_arrays, load_lca, read_lca_header, save_lca
from core.avatar.lca_numpy import load_lca_arrays
from core.avatar.pose_correction import PoseCorrection, correction_offsets
from core.errors import LcaError, LcaFileError
from tests.core.avatar.test_lca_file import edit_lca_header, edit_tensors, split
from tests.synthetic import random_correction, tiny_avatar

J, E, H, M, K = 3, 2, 5, 4, 2


def correction_for(count: int, seed: int = 0) -> PoseCorrection:
    """A random (non-zero) correction of J bones, E expressions for ``count`` Gaussians."""
    return random_correction(count, J, E, seed, hidden=H, anchors=M, neighbours=K)


@pytest.fixture
def corrected():
    avatar = tiny_avatar(n=20)
    return dataclasses.replace(avatar, correction=correction_for(avatar.count))


def test_the_correction_is_zero_at_the_canonical_pose_and_not_elsewhere(corrected):
    c = corrected.correction
    rest = correction_offsets(c, torch.zeros(2, J, 3), torch.zeros(2, E))
    assert rest.shape == (2, corrected.count, 3) and not rest.any()
    posed = correction_offsets(c, 0.3 * torch.ones(1, J, 3), torch.zeros(1, E))
    assert float(posed.abs().max()) > 1e-3


def test_wrong_shapes_are_refused_in_one_sentence(corrected):
    c = corrected.correction
    with pytest.raises(LcaError, match="fc1_weight"):
        dataclasses.replace(c, bones=J + 1)
    with pytest.raises(LcaError, match="integer"):
        dataclasses.replace(c, anchor_index=c.anchor_index.float())
    with pytest.raises(LcaError, match="fc1_bias has dtype torch.bool; it must be a floating"):
        dataclasses.replace(c, fc1_bias=c.fc1_bias.bool())
    with pytest.raises(LcaError, match="one row per Gaussian"):
        dataclasses.replace(corrected, correction=correction_for(corrected.count + 1))
    with pytest.raises(ValueError, match="rotations"):
        correction_offsets(c, torch.zeros(1, J + 1, 3), torch.zeros(1, E))


def test_a_correction_round_trips_through_both_readers(tmp_path, corrected):
    path = tmp_path / "c.lca"
    save_lca(corrected, path)
    header = read_lca_header(path)
    assert header["schema_version"] == 4
    assert header["correction"] == {
        "anchors": M,
        "bones": J,
        "expressions": E,
        "hidden": H,
        "neighbours": K,
    }
    back = load_lca(path).correction
    for name, t in corrected.correction.tensors().items():
        assert torch.equal(back.tensors()[name], t), name
    arrays = load_lca_arrays(path)
    assert arrays.correction is not None and arrays.correction.anchor_index.dtype == np.int64
    from_numpy = avatar_from_arrays(arrays).correction
    for name, t in back.tensors().items():
        assert torch.equal(from_numpy.tensors()[name], t), name


def test_an_avatar_without_a_correction_has_none_in_its_file(tmp_path):
    save_lca(tiny_avatar(n=20), tmp_path / "plain.lca")
    assert "correction" not in read_lca_header(tmp_path / "plain.lca")
    assert load_lca(tmp_path / "plain.lca").correction is None
    assert load_lca_arrays(tmp_path / "plain.lca").correction is None


def _both_refuse(path, words: str) -> None:
    for read in (load_lca, load_lca_arrays):
        with pytest.raises(LcaFileError, match=words) as err:
            read(path)
        assert str(err.value).count(". ") == 0 and str(err.value).endswith(".")


def test_an_anchor_index_out_of_range_is_refused(tmp_path, corrected):
    save_lca(corrected, tmp_path / "c.lca")

    def edit(tensors):
        tensors["correction.anchor_index"][3, 1] = M

    bad = edit_tensors((tmp_path / "c.lca").read_bytes(), edit)
    (tmp_path / "bad.lca").write_bytes(bad)
    _both_refuse(tmp_path / "bad.lca", f"anchor index {M} in 'correction.anchor_index'")


def test_non_finite_weights_are_refused(tmp_path, corrected):
    save_lca(corrected, tmp_path / "c.lca")

    def edit(tensors):
        tensors["correction.fc2_weight"][0, 0] = float("nan")

    (tmp_path / "bad.lca").write_bytes(edit_tensors((tmp_path / "c.lca").read_bytes(), edit))
    _both_refuse(tmp_path / "bad.lca", "non-finite values")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"hidden": H + 1}, "correction.fc1_weight"),
        ({"hidden": 0}, "bad correction sizes"),
        ({"extra": 1}, "bad correction"),
    ],
)
def test_a_header_that_disagrees_with_the_tensors_is_refused(tmp_path, corrected, change, words):
    save_lca(corrected, tmp_path / "c.lca")
    data = (tmp_path / "c.lca").read_bytes()
    lca = json.loads(split(data)[0]["__metadata__"]["lca"])
    (tmp_path / "bad.lca").write_bytes(edit_lca_header(data, correction=lca["correction"] | change))
    _both_refuse(tmp_path / "bad.lca", words)


def test_a_correction_in_a_schema_3_file_is_refused(tmp_path, corrected):
    save_lca(corrected, tmp_path / "c.lca")
    data = edit_lca_header((tmp_path / "c.lca").read_bytes(), schema_version=3)
    (tmp_path / "old.lca").write_bytes(data)
    _both_refuse(tmp_path / "old.lca", "pose correction in a schema 3 file")


def test_lca_info_says_whether_an_avatar_carries_a_correction(tmp_path, corrected, capsys):
    from core.commands.main import main

    save_lca(corrected, tmp_path / "c.lca")
    save_lca(tiny_avatar(n=20), tmp_path / "plain.lca")
    assert main(["info", str(tmp_path / "c.lca")]) == 0
    shown = capsys.readouterr().out
    assert f"correction:    pose correction of the network ({M:,} anchors" in shown
    assert main(["info", str(tmp_path / "plain.lca")]) == 0
    assert "correction:    none" in capsys.readouterr().out
