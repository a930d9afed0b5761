"""The `.lca` reader on numpy (``core.avatar.lca_numpy``, what Blender runs without torch)
against ``lca_file.load_lca``: identical arrays where a file loads, the same sentence where it
does not (seeded mutations of the fuzz target's seeds), and no torch import."""

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from core.avatar.lca_file import avatar_from_arrays, load_lca, load_lca_with_rig, save_lca
from core.avatar.lca_numpy import load_lca_arrays
from core.errors import LcaFileError
from core.fuzz.lca_target import LcaTarget

ROOT = Path(__file__).resolve().parents[3]
FIELDS = ("triangle", "barycentric", "offset", "rotation", "log_scale", "opacity_logit", "sh")


def assert_same(arrays, avatar) -> None:
    """Every array of ``arrays`` equals the tensor of ``avatar`` bit for bit, dtype included."""
    pairs = [(getattr(arrays.binding, f), getattr(avatar.binding, f)) for f in (*FIELDS, "part")]
    pairs += [(arrays.canonical_vertices, avatar.canonical_vertices)]
    pairs += [(arrays.faces, avatar.faces)]
    for a, t in pairs:
        assert a.dtype == t.numpy().dtype and a.shape == tuple(t.shape)
        assert np.array_equal(a.view(np.uint8), t.numpy().view(np.uint8))
    assert arrays.body.model == avatar.body.model
    assert arrays.body.model_version == avatar.body.model_version
    assert arrays.body.shape == avatar.body.shape
    assert arrays.part_names == avatar.part_names and arrays.up_axis == avatar.up_axis
    assert arrays.metadata == avatar.metadata and arrays.count == avatar.count


def assert_same_rig(a, b) -> None:
    """Two rigs (``lca_rig.RigArrays``) equal field by field, arrays bit for bit."""
    assert (a is None) == (b is None)
    if a is None:
        return
    for field in a.__dataclass_fields__:
        x, y = getattr(a, field), getattr(b, field)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape, field
            assert np.array_equal(x.view(np.uint8), y.view(np.uint8)), field
        else:
            assert x == y, field


@pytest.mark.parametrize("sh_degree", [0, 1, 2, 3])
def test_tiny_avatars_read_identically(tmp_path, make_avatar, sh_degree):
    path = tmp_path / "tiny.lca"
    save_lca(make_avatar(n=37, sh_degree=sh_degree, seed=sh_degree), path)
    arrays = load_lca_arrays(path)
    assert_same(arrays, load_lca(path))
    assert arrays.binding.sh_degree == sh_degree
    assert_same(arrays, avatar_from_arrays(arrays))


def test_a_starter_avatar_on_anny_reads_identically(tmp_path):
    """The avatar `lca demo` and the Blender tests start from (Anny's body, 2,000 Gaussians)."""
    from core.body.anny_body import AnnyBody, anny_cache_is_warm
    from core.deform.template import make_starter_avatar

    if not anny_cache_is_warm():
        pytest.skip("Anny's cache is cold; run `make test` (it builds the cache first).")
    path = tmp_path / "starter.lca"
    save_lca(make_starter_avatar(AnnyBody(), count=2000, name="starter"), path)
    assert_same(load_lca_arrays(path), load_lca(path))


def test_mutated_files_get_the_same_answer_from_both_readers(tmp_path):
    """Byte, header, value and schema-1 mutations: both load (equal arrays) or both refuse
    with the same sentence."""
    target, rng = LcaTarget(), random.Random(14)
    outcomes = {"loaded": 0, "refused": 0, "rigged": 0}
    path = tmp_path / "case.lca"
    for _ in range(400):
        path.write_bytes(target.make_case(rng))
        try:
            avatar, rig = load_lca_with_rig(path)
        except LcaFileError as err:
            with pytest.raises(LcaFileError) as raised:
                load_lca_arrays(path)
            assert str(raised.value) == str(err)
            outcomes["refused"] += 1
        else:
            arrays = load_lca_arrays(path)
            assert_same(arrays, avatar)
            assert_same_rig(arrays.rig, rig)
            outcomes["loaded"] += 1
            outcomes["rigged"] += rig is not None
    assert min(outcomes["loaded"], outcomes["refused"]) > 20 and outcomes["rigged"] > 5, outcomes


def test_importing_the_reader_imports_no_torch():
    code = "import sys, core.avatar.lca_numpy; sys.exit('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
    assert torch is not None  # the reference side of these tests does use it
