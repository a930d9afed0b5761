"""`lca upgrade`: a file without a rig (schema 2) rewritten in schema 3 with its rig; `lca info`
says whether a file holds one."""

import json
import struct

import pytest

from core.avatar.lca_file import lca_bytes, load_lca_with_rig, read_lca_header
from core.commands.main import main
from tests.synthetic import tiny_avatar


def schema_2(data: bytes) -> bytes:
    """A schema 3 file without a rig, labelled schema 2 (the same bytes otherwise)."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    lca = json.loads(header["__metadata__"]["lca"])
    assert "rig" not in lca
    lca["schema_version"] = 2
    header["__metadata__"]["lca"] = json.dumps(lca, sort_keys=True, separators=(",", ":"))
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data[8 + n :]


def test_upgrade_stores_the_rig_of_a_schema_2_file(tmp_path, capsys):
    from core.body.anny_body import AnnyBody, anny_cache_is_warm
    from core.deform.template import make_starter_avatar
    from core.rig import build_rig, rig_to_arrays

    if not anny_cache_is_warm():
        pytest.skip("Anny's cache is cold; run `make test` (it builds the cache first).")
    body = AnnyBody()
    avatar = make_starter_avatar(body, count=300, name="old")
    old, new = tmp_path / "old.lca", tmp_path / "new.lca"
    old.write_bytes(schema_2(lca_bytes(avatar)))
    assert main(["info", str(old)]) == 0
    assert "rig:           none" in capsys.readouterr().out
    assert main(["upgrade", str(old), "-o", str(new)]) == 0
    assert "schema 4, from schema 2" in capsys.readouterr().out
    assert read_lca_header(new)["schema_version"] == 4
    loaded, rig = load_lca_with_rig(new)
    assert bool((loaded.binding.sh == avatar.binding.sh).all())
    expected = rig_to_arrays(build_rig(body, avatar))
    assert rig.bone_names == expected.bone_names
    assert (rig.expression_deltas == expected.expression_deltas).all()
    assert main(["info", str(new)]) == 0
    assert "104 bones, 52 expressions, 12 body-shape keys" in capsys.readouterr().out
    # A file that has its rig already keeps it; upgrading in place works.
    assert main(["upgrade", str(new), "-o", str(new)]) == 0
    assert "kept its stored rig" in capsys.readouterr().out


def test_upgrade_of_an_avatar_that_does_not_fit_its_body_model_is_one_sentence(tmp_path, capsys):
    from core.body.anny_body import anny_cache_is_warm

    if not anny_cache_is_warm():
        pytest.skip("Anny's cache is cold; run `make test` (it builds the cache first).")
    path = tmp_path / "tiny.lca"
    path.write_bytes(lca_bytes(tiny_avatar(n=10)))  # an octahedron, not Anny's mesh
    assert main(["upgrade", str(path), "-o", str(tmp_path / "out.lca")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lca: error: ") and "does not match" in err and err.count("\n") == 1
    assert not (tmp_path / "out.lca").exists()


def test_upgrade_needs_an_lca_output(tmp_path, capsys):
    assert main(["upgrade", str(tmp_path / "a.lca"), "-o", str(tmp_path / "a.ply")]) == 2
    assert "must end in .lca" in capsys.readouterr().err
