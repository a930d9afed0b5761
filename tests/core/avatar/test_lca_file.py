"""The `.lca` file: round trips, byte-for-byte determinism, and every bad input."""

from __future__ import annotations

import errno
import hashlib
import json
import struct
from pathlib import Path

import pytest
import safetensors
import safetensors.torch
import torch

from core.avatar import SCHEMA_VERSION, lca_file
from core.avatar.benchmark import bench_io
from core.avatar.lca_file import load_lca, read_lca_header, save_lca
from core.avatar.ply import export_ply
from core.errors import LcaError, LcaFileError, OutputError

# ----------------------------------------------------------------------------- helpers

_load_tensors = safetensors.torch.load  # kept before `no_tensor_load` replaces it


def split(data: bytes) -> tuple[dict, bytes]:
    """A valid file's bytes -> (safetensors JSON header, tensor data)."""
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def pack(header: dict, body: bytes) -> bytes:
    """(header, tensor data) -> bytes with a correct length prefix, padded like safetensors."""
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + body


def edit_lca_header(data: bytes, **changes) -> bytes:
    """Rewrite keys of the `lca` JSON header inside ``__metadata__``."""
    header, body = split(data)
    lca = json.loads(header["__metadata__"]["lca"])
    lca.update(changes)
    header["__metadata__"]["lca"] = json.dumps(lca, sort_keys=True, separators=(",", ":"))
    return pack(header, body)


def with_checksum(data: bytes) -> bytes:
    """``data`` with the header's checksum made to match its tensor data again."""
    header, body = split(data)
    checksum = "blake2b-128:" + hashlib.blake2b(body, digest_size=16).hexdigest()
    return edit_lca_header(data, data_checksum=checksum)


def edit_tensors(data: bytes, edit) -> bytes:
    """Re-pack a valid file after ``edit(tensors)`` changes tensor values (same metadata, a
    matching checksum: these files test the value checks behind it)."""
    header, _ = split(data)
    tensors = _load_tensors(data)
    edit(tensors)
    return with_checksum(safetensors.torch.save(tensors, metadata=header["__metadata__"]))


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def no_tensor_load(monkeypatch):
    """Fail the test if the reader reaches tensor data (layout errors must stop it earlier)."""

    def refuse(*args, **kwargs):
        raise AssertionError("tensor data was read before the layout was rejected")

    monkeypatch.setattr(lca_file, "_read_tensors", refuse)


def expect_bad(path: Path, one_sentence, *words: str) -> str:
    with pytest.raises(LcaFileError) as info:
        load_lca(path)
    one_sentence(info.value, path)
    for word in words:
        assert word.lower() in str(info.value).lower(), str(info.value)
    return str(info.value)


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("sh_degree", [0, 1, 2, 3])
def test_round_trip_restores_every_field(tmp_path, make_avatar, sh_degree):
    avatar = make_avatar(n=50, sh_degree=sh_degree, seed=1)
    save_lca(avatar, tmp_path / "a.lca")
    back = load_lca(tmp_path / "a.lca")
    for name in ("triangle", "barycentric", "offset", "rotation", "log_scale", "opacity_logit"):
        a, b = getattr(avatar.binding, name), getattr(back.binding, name)
        assert b.dtype == a.dtype and torch.equal(a, b), name
    assert torch.equal(back.binding.sh, avatar.binding.sh)
    assert torch.equal(back.binding.part, avatar.binding.part)
    assert back.binding.triangle.dtype == torch.int64 and back.binding.part.dtype == torch.int64
    assert back.faces.dtype == torch.int64 and torch.equal(back.faces, avatar.faces)
    assert back.canonical_vertices.dtype == torch.float32
    assert torch.equal(back.canonical_vertices, avatar.canonical_vertices)
    assert back.body == avatar.body
    assert back.part_names == avatar.part_names and isinstance(back.part_names, tuple)
    assert back.up_axis == avatar.up_axis and back.metadata == avatar.metadata
    assert back.binding.sh_degree == sh_degree


def test_header_names_conventions(tmp_path, make_avatar):
    save_lca(make_avatar(n=10, sh_degree=3), tmp_path / "a.lca")
    h = read_lca_header(tmp_path / "a.lca")
    assert h["format"] == "lca" and h["schema_version"] == SCHEMA_VERSION
    assert (h["units"], h["quaternion_order"], h["color"]) == ("m", "wxyz", "3dgs-sh-srgb")
    assert h["canonical_frame"] == "anny-canonical" and h["up_axis"] == "Z"
    assert (h["sh_degree"], h["count"]) == (3, 10)
    assert h["body"] == {
        "model": "anny",
        "model_version": "0.6.2",
        "shape": {"age": 0.5, "mass": 0.25},
    }


def test_file_is_plain_safetensors_with_int32_indices(tmp_path, make_avatar):
    save_lca(make_avatar(n=8), tmp_path / "a.lca")
    with safetensors.safe_open(str(tmp_path / "a.lca"), framework="pt") as f:
        assert f.get_tensor("binding.triangle").dtype == torch.int32
        assert f.get_tensor("body.faces").dtype == torch.int32
        assert f.get_tensor("binding.sh").dtype == torch.float32
        assert json.loads(f.metadata()["lca"])["format"] == "lca"


def test_same_avatar_gives_identical_bytes(tmp_path, make_avatar):
    save_lca(make_avatar(seed=7), tmp_path / "a.lca")
    save_lca(make_avatar(seed=7), tmp_path / "b.lca")
    assert (tmp_path / "a.lca").read_bytes() == (tmp_path / "b.lca").read_bytes()
    # Re-saving what was loaded gives the same bytes too.
    save_lca(load_lca(tmp_path / "a.lca"), tmp_path / "c.lca")
    assert (tmp_path / "c.lca").read_bytes() == (tmp_path / "a.lca").read_bytes()


def test_different_seed_gives_different_bytes(tmp_path, make_avatar):
    save_lca(make_avatar(seed=1), tmp_path / "a.lca")
    save_lca(make_avatar(seed=2), tmp_path / "b.lca")
    assert (tmp_path / "a.lca").read_bytes() != (tmp_path / "b.lca").read_bytes()


def test_overwrite_replaces_file_and_leaves_no_temp(tmp_path, make_avatar):
    save_lca(make_avatar(seed=1), tmp_path / "a.lca")
    save_lca(make_avatar(seed=2), tmp_path / "a.lca")
    assert load_lca(tmp_path / "a.lca").metadata["seed"] == "2"
    assert files_in(tmp_path) == ["a.lca"]


def test_bench_io_small():
    bench = bench_io(count=2000, repeats=1)
    assert bench.count == 2000 and bench.file_bytes > 2000 * 62 * 4
    assert bench.write_s > 0 and bench.read_s > 0


# ----------------------------------------------------------------------------- not a file


def test_missing_file(tmp_path, one_sentence):
    expect_bad(tmp_path / "nope.lca", one_sentence, "does not exist")


def test_directory_as_path(tmp_path, one_sentence):
    (tmp_path / "folder.lca").mkdir()
    expect_bad(tmp_path / "folder.lca", one_sentence, "folder")


def test_empty_file(tmp_path, one_sentence):
    (tmp_path / "empty.lca").write_bytes(b"")
    expect_bad(tmp_path / "empty.lca", one_sentence, "empty")


def test_ply_renamed_to_lca(tmp_path, one_sentence):
    n = 4
    export_ply(
        tmp_path / "cloud.lca",
        torch.zeros(n, 3),
        torch.tensor([[1.0, 0, 0, 0]]).repeat(n, 1),
        torch.ones(n, 3),
        torch.full((n,), 0.5),
        torch.zeros(n, 1, 3),
    )
    expect_bad(tmp_path / "cloud.lca", one_sentence, "PLY", ".lca file written by")


@pytest.mark.parametrize(
    ("magic", "kind"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "JPEG"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
    ],
)
def test_image_renamed_to_lca(tmp_path, one_sentence, magic, kind):
    (tmp_path / "photo.lca").write_bytes(magic + bytes(200))
    expect_bad(tmp_path / "photo.lca", one_sentence, kind, "not an LCA avatar file")


def test_safetensors_without_lca_header(tmp_path, one_sentence):
    data = safetensors.torch.save({"weight": torch.zeros(3)}, metadata={"name": "model"})
    (tmp_path / "model.lca").write_bytes(data)
    expect_bad(tmp_path / "model.lca", one_sentence, "not an LCA avatar")


# ----------------------------------------------------------------------------- damaged layout


@pytest.mark.parametrize("cut", [1, 7, 8, 20, "header", "data", -1])
def test_truncated_file(tmp_path, good, one_sentence, no_tensor_load, cut):
    _, data = good
    (n,) = struct.unpack("<Q", data[:8])
    at = {"header": 8 + n // 2, "data": 8 + n + (len(data) - 8 - n) // 2}.get(cut, cut)
    (tmp_path / "cut.lca").write_bytes(data[:at])
    expect_bad(tmp_path / "cut.lca", one_sentence)


def test_header_length_larger_than_file(tmp_path, good, one_sentence, no_tensor_load):
    _, data = good
    lie = struct.pack("<Q", len(data)) + data[8:]
    (tmp_path / "lie.lca").write_bytes(lie)
    expect_bad(tmp_path / "lie.lca", one_sentence, "header length")


def test_header_length_implausibly_large(tmp_path, good, one_sentence, no_tensor_load):
    _, data = good
    (tmp_path / "huge.lca").write_bytes(struct.pack("<Q", 2**62) + data[8:])
    expect_bad(tmp_path / "huge.lca", one_sentence, "header")


def test_header_not_json(tmp_path, good, one_sentence, no_tensor_load):
    _, data = good
    (n,) = struct.unpack("<Q", data[:8])
    broken = data[:8] + b"#" * n + data[8 + n :]
    (tmp_path / "garbled.lca").write_bytes(broken)
    expect_bad(tmp_path / "garbled.lca", one_sentence, "not valid JSON")


def test_lca_header_not_json(tmp_path, good, one_sentence, no_tensor_load):
    header, body = split(good[1])
    header["__metadata__"]["lca"] = "{not json"
    (tmp_path / "bad.lca").write_bytes(pack(header, body))
    expect_bad(tmp_path / "bad.lca", one_sentence, "corrupt LCA header")


def test_wrong_dtype_of_triangle(tmp_path, good, one_sentence, no_tensor_load):
    def as_float(t):
        t["binding.triangle"] = t["binding.triangle"].to(torch.float32)

    data = edit_tensors(good[1], as_float)
    (tmp_path / "dtype.lca").write_bytes(data)
    expect_bad(tmp_path / "dtype.lca", one_sentence, "binding.triangle", "'F32' instead of 'I32'")


def test_unknown_schema_version(tmp_path, good, one_sentence, no_tensor_load):
    (tmp_path / "future.lca").write_bytes(
        edit_lca_header(good[1], schema_version=SCHEMA_VERSION + 1)
    )
    message = expect_bad(tmp_path / "future.lca", one_sentence, "update")
    assert f"version {SCHEMA_VERSION + 1}," in message and f"to {SCHEMA_VERSION};" in message


def test_not_lca_format(tmp_path, good, one_sentence, no_tensor_load):
    (tmp_path / "other.lca").write_bytes(edit_lca_header(good[1], format="something"))
    expect_bad(tmp_path / "other.lca", one_sentence, "not an LCA avatar")


def test_count_inconsistent_with_shapes(tmp_path, good, one_sentence, no_tensor_load):
    (tmp_path / "count.lca").write_bytes(edit_lca_header(good[1], count=65))
    expect_bad(tmp_path / "count.lca", one_sentence, "shape")


def test_sh_degree_inconsistent_with_shapes(tmp_path, good, one_sentence, no_tensor_load):
    (tmp_path / "sh.lca").write_bytes(edit_lca_header(good[1], sh_degree=3))
    expect_bad(tmp_path / "sh.lca", one_sentence, "binding.sh")


def test_missing_tensor(tmp_path, good, one_sentence, no_tensor_load):
    header, body = split(good[1])
    del header["binding.part"]  # leaves a gap in the data too; the missing name is found first
    (tmp_path / "missing.lca").write_bytes(pack(header, body))
    expect_bad(tmp_path / "missing.lca", one_sentence, "missing the tensor 'binding.part'")


def test_unexpected_tensor(tmp_path, good, one_sentence, no_tensor_load):
    header, body = split(good[1])
    end = max(entry["data_offsets"][1] for k, entry in header.items() if k != "__metadata__")
    header["extra"] = {"dtype": "F32", "shape": [1], "data_offsets": [end, end + 4]}
    (tmp_path / "extra.lca").write_bytes(pack(header, body + bytes(4)))
    expect_bad(tmp_path / "extra.lca", one_sentence, "unexpected tensor 'extra'")


def test_overlapping_data_offsets(tmp_path, good, one_sentence, no_tensor_load):
    header, body = split(good[1])
    begin, end = header["binding.offset"]["data_offsets"]
    header["binding.log_scale"]["data_offsets"] = [begin, end]
    (tmp_path / "overlap.lca").write_bytes(pack(header, body))
    expect_bad(tmp_path / "overlap.lca", one_sentence)


def test_offsets_not_matching_shape(tmp_path, good, one_sentence, no_tensor_load):
    header, body = split(good[1])
    begin, end = header["binding.offset"]["data_offsets"]
    header["binding.offset"]["data_offsets"] = [begin, end - 4]
    (tmp_path / "size.lca").write_bytes(pack(header, body))
    expect_bad(tmp_path / "size.lca", one_sentence, "binding.offset")


def test_extra_bytes_after_data(tmp_path, good, one_sentence, no_tensor_load):
    (tmp_path / "long.lca").write_bytes(good[1] + bytes(16))
    expect_bad(tmp_path / "long.lca", one_sentence, "16 unexpected bytes")


# ----------------------------------------------------------------------------- bad values


def test_out_of_range_triangle_index(tmp_path, good, one_sentence):
    def bad(t):
        t["binding.triangle"][5] = 8  # the octahedron has triangles 0..7

    (tmp_path / "tri.lca").write_bytes(edit_tensors(good[1], bad))
    expect_bad(tmp_path / "tri.lca", one_sentence, "triangle index 8", "0..7")


def test_negative_triangle_index(tmp_path, good, one_sentence):
    def bad(t):
        t["binding.triangle"][0] = -1

    (tmp_path / "neg.lca").write_bytes(edit_tensors(good[1], bad))
    expect_bad(tmp_path / "neg.lca", one_sentence, "triangle index -1")


def test_out_of_range_face_index(tmp_path, good, one_sentence):
    def bad(t):
        t["body.faces"][2, 1] = 6  # the octahedron has vertices 0..5

    (tmp_path / "face.lca").write_bytes(edit_tensors(good[1], bad))
    expect_bad(tmp_path / "face.lca", one_sentence, "face vertex index 6", "0..5")


def test_out_of_range_part_index(tmp_path, good, one_sentence):
    def bad(t):
        t["binding.part"][3] = 4

    (tmp_path / "part.lca").write_bytes(edit_tensors(good[1], bad))
    expect_bad(tmp_path / "part.lca", one_sentence, "body-part index 4")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize(
    "name", ["binding.offset", "binding.sh", "binding.opacity_logit", "body.canonical_vertices"]
)
def test_non_finite_values(tmp_path, good, one_sentence, value, name):
    def bad(t):
        t[name].view(-1)[1] = value

    (tmp_path / "nan.lca").write_bytes(edit_tensors(good[1], bad))
    expect_bad(tmp_path / "nan.lca", one_sentence, "non-finite", name)


def test_barycentric_not_summing_to_one(tmp_path, good, one_sentence):
    def bad(t):
        t["binding.barycentric"][0] = torch.tensor([0.5, 0.5, 0.5])

    (tmp_path / "bary.lca").write_bytes(edit_tensors(good[1], bad))
    expect_bad(tmp_path / "bary.lca", one_sentence, "barycentric")


def test_negative_barycentric(tmp_path, good, one_sentence):
    def bad(t):
        t["binding.barycentric"][0] = torch.tensor([1.5, -0.5, 0.0])

    (tmp_path / "bary.lca").write_bytes(edit_tensors(good[1], bad))
    expect_bad(tmp_path / "bary.lca", one_sentence, "negative barycentric")


# ----------------------------------------------------------------------------- failed writes


def test_unwritable_folder_under_a_regular_file(tmp_path, make_avatar, one_sentence):
    (tmp_path / "blocker").write_bytes(b"x")
    target = tmp_path / "blocker" / "sub" / "a.lca"
    with pytest.raises(OutputError) as info:
        save_lca(make_avatar(), target)
    one_sentence(info.value, target.parent)
    assert files_in(tmp_path) == ["blocker"]


def test_unwritable_folder_in_proc(make_avatar):
    target = Path("/proc/lca-test-no-such-dir.lca")
    with pytest.raises(LcaError) as info:
        save_lca(make_avatar(), target)
    assert "/proc" in str(info.value)
    assert not target.exists()


def test_save_to_a_directory(tmp_path, make_avatar, one_sentence):
    (tmp_path / "out.lca").mkdir()
    with pytest.raises(OutputError) as info:
        save_lca(make_avatar(), tmp_path / "out.lca")
    one_sentence(info.value, tmp_path / "out.lca")
    assert files_in(tmp_path) == ["out.lca"] and not any((tmp_path / "out.lca").iterdir())


def half_then(exc: BaseException):
    """A replacement for the writer that writes half the bytes, then fails with ``exc``."""

    def write(path, data):
        Path(path).write_bytes(data[: len(data) // 2])
        raise exc

    return write


def test_disk_full_mid_write_leaves_nothing(tmp_path, make_avatar, monkeypatch, one_sentence):
    monkeypatch.setattr(lca_file, "_write_file", half_then(OSError(errno.ENOSPC, "No space left")))
    with pytest.raises(OutputError) as info:
        save_lca(make_avatar(), tmp_path / "a.lca")
    one_sentence(info.value, tmp_path / "a.lca")
    assert files_in(tmp_path) == []


def test_interrupt_mid_write_leaves_nothing(tmp_path, make_avatar, monkeypatch):
    monkeypatch.setattr(lca_file, "_write_file", half_then(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        save_lca(make_avatar(), tmp_path / "a.lca")
    assert files_in(tmp_path) == []


def test_failed_overwrite_keeps_the_old_file(tmp_path, make_avatar, monkeypatch):
    save_lca(make_avatar(seed=1), tmp_path / "a.lca")
    before = (tmp_path / "a.lca").read_bytes()
    monkeypatch.setattr(lca_file, "_write_file", half_then(RuntimeError("crash")))
    with pytest.raises(RuntimeError):
        save_lca(make_avatar(seed=2), tmp_path / "a.lca")
    assert files_in(tmp_path) == ["a.lca"] and (tmp_path / "a.lca").read_bytes() == before


def test_invalid_avatar_is_not_written(tmp_path, make_avatar):
    avatar = make_avatar(n=8)
    avatar.binding.triangle[0] = 99
    with pytest.raises(ValueError, match="triangle index 99"):
        save_lca(avatar, tmp_path / "a.lca")
    assert files_in(tmp_path) == []


# ----------------------------------------------------------------------------- fuzzing

_ODD_VALUES = [None, True, -1, 10**400, 1.5, "x", [], [1, 2], {}, {"a": [1]}, "y. z\nw"]


def _loads_or_lca_error(path: Path) -> None:
    try:
        load_lca(path)
    except LcaFileError as err:
        assert "\n" not in str(err) and str(path) in str(err)


@pytest.mark.parametrize("value", _ODD_VALUES)
def test_odd_header_values_give_lca_errors(tmp_path, good, value):
    """Every `lca` header key and every tensor-entry field set to odd JSON values."""
    header, body = split(good[1])
    lca = json.loads(header["__metadata__"]["lca"])
    for key in lca:
        (tmp_path / "odd.lca").write_bytes(edit_lca_header(good[1], **{key: value}))
        _loads_or_lca_error(tmp_path / "odd.lca")
    for name in (k for k in header if k != "__metadata__"):
        for field in ("dtype", "shape", "data_offsets"):
            edited = json.loads(json.dumps(header))
            edited[name][field] = value
            (tmp_path / "odd.lca").write_bytes(pack(edited, body))
            _loads_or_lca_error(tmp_path / "odd.lca")


def test_random_byte_flips_give_lca_errors(tmp_path, good):
    data = bytearray(good[1])
    g = torch.Generator().manual_seed(0)
    for _ in range(300):
        mutated = bytearray(data)
        for at in torch.randint(0, len(data), (3,), generator=g).tolist():
            mutated[at] = int(torch.randint(0, 256, (1,), generator=g))
        (tmp_path / "flip.lca").write_bytes(bytes(mutated))
        _loads_or_lca_error(tmp_path / "flip.lca")


# ----------------------------------------------------------------------------- integrity


def test_header_holds_the_checksum_of_the_data(good):
    header, body = split(good[1])
    lca = json.loads(header["__metadata__"]["lca"])
    assert lca["schema_version"] == SCHEMA_VERSION == 4
    assert (
        lca["data_checksum"] == "blake2b-128:" + hashlib.blake2b(body, digest_size=16).hexdigest()
    )


def test_every_flipped_data_byte_is_refused_as_damaged(tmp_path, good, one_sentence):
    data = good[1]
    start = len(data) - len(split(data)[1])
    for at in range(start, len(data), 97):
        damaged = bytearray(data)
        damaged[at] ^= 0x10
        (tmp_path / "d.lca").write_bytes(bytes(damaged))
        message = expect_bad(tmp_path / "d.lca", one_sentence, "damaged", "re-export")
        assert "create the avatar again" in message


def test_schema_1_files_without_a_checksum_still_load(tmp_path, good):
    header, body = split(good[1])
    lca = json.loads(header["__metadata__"]["lca"])
    del lca["data_checksum"]
    lca["schema_version"] = 1
    header["__metadata__"]["lca"] = json.dumps(lca, sort_keys=True, separators=(",", ":"))
    (tmp_path / "old.lca").write_bytes(pack(header, body))
    back = load_lca(tmp_path / "old.lca")
    assert torch.equal(back.binding.sh, good[0].binding.sh)


@pytest.mark.parametrize("checksum", [None, "", "blake2b-128:xyz", 5, "md5:" + "0" * 32])
def test_schema_2_needs_a_well_formed_checksum(tmp_path, good, one_sentence, checksum):
    (tmp_path / "c.lca").write_bytes(edit_lca_header(good[1], data_checksum=checksum))
    expect_bad(tmp_path / "c.lca", one_sentence, "data_checksum")


# ----------------------------------------------------------------------------- bounds


def test_values_are_checked_tensor_by_tensor_as_they_are_read(tmp_path, good, monkeypatch):
    """A file of zeros with a valid layout is refused at its first tensor (the barycentrics),
    before the larger ones are read: a hostile file never costs its whole declared size."""
    header, body = split(good[1])
    (tmp_path / "zeros.lca").write_bytes(pack(header, bytes(len(body))))
    data = edit_lca_header((tmp_path / "zeros.lca").read_bytes(), schema_version=1)
    (tmp_path / "zeros.lca").write_bytes(data)
    read = []
    real = lca_file._read_tensor
    monkeypatch.setattr(
        lca_file,
        "_read_tensor",
        lambda path, f, span, start: read.append(span.name) or real(path, f, span, start),
    )
    with pytest.raises(LcaFileError, match="barycentric"):
        load_lca(tmp_path / "zeros.lca")
    assert read == ["binding.barycentric"]


def test_save_to_a_name_longer_than_the_file_system_allows(tmp_path, make_avatar, one_sentence):
    path = tmp_path / ("a" * 292 + ".lca")
    with pytest.raises(OutputError) as info:
        save_lca(make_avatar(), path)
    assert "longer than" in str(info.value) and "\n" not in str(info.value)
    assert files_in(tmp_path) == []
