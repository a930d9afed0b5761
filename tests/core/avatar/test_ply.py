"""3DGS PLY export: the exact header, round trips, channel order, posed export, bad input."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest
import torch

from core.avatar import ply
from core.avatar.ply import export_ply, ply_property_names, read_ply
from core.errors import LcaFileError, OutputError
from core.render.sh import SH_COUNTS


def random_gaussians(n: int, k: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    quats = torch.randn(n, 4, generator=g)
    return {
        "means": torch.randn(n, 3, generator=g),
        "quats": quats / quats.norm(dim=-1, keepdim=True),
        "scales": torch.exp(torch.randn(n, 3, generator=g) - 3.0),
        "opacities": torch.rand(n, generator=g) * 0.98 + 0.01,
        "sh": torch.randn(n, k, 3, generator=g),
    }


def header_lines(path: Path) -> list[str]:
    data = path.read_bytes()
    return data[: data.index(b"end_header\n")].decode("ascii").splitlines()


def data_table(path: Path) -> np.ndarray:
    """The raw float32 table (N, P) of a PLY written by export_ply."""
    data = path.read_bytes()
    start = data.index(b"end_header\n") + len(b"end_header\n")
    lines = header_lines(path)
    n = int(lines[2].split()[2])
    return np.frombuffer(data, dtype="<f4", offset=start).reshape(n, -1)


@pytest.mark.parametrize("k", SH_COUNTS)
def test_header_lists_3dgs_properties_in_order(tmp_path, k):
    export_ply(tmp_path / "a.ply", **random_gaussians(5, k))
    lines = header_lines(tmp_path / "a.ply")
    rest = [f"f_rest_{i}" for i in range(3 * (k - 1))]
    names = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2", *rest, "opacity"]
    names += ["scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    assert lines[:3] == ["ply", "format binary_little_endian 1.0", "element vertex 5"]
    assert lines[3:] == [f"property float {name}" for name in names]
    assert ply_property_names(k) == names
    assert (tmp_path / "a.ply").stat().st_size == len("\n".join(lines)) + 12 + 5 * len(names) * 4


@pytest.mark.parametrize("k", [1, 4, 16])
def test_round_trip_values(tmp_path, k):
    g = random_gaussians(40, k, seed=k)
    export_ply(tmp_path / "a.ply", **g)
    back = read_ply(tmp_path / "a.ply")
    assert back.count == 40
    np.testing.assert_array_equal(back.means, g["means"].numpy())
    np.testing.assert_allclose(back.quats, g["quats"].numpy(), atol=1e-6)
    np.testing.assert_allclose(back.scales, g["scales"].numpy(), rtol=1e-5)
    np.testing.assert_allclose(back.opacities, g["opacities"].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(back.sh, g["sh"].numpy())
    assert all(a.dtype == np.float32 for a in (back.means, back.quats, back.sh))


def test_stored_forms_logit_log_normalised_zero_normals(tmp_path):
    g = random_gaussians(10, 4)
    quats = g["quats"] * 3.0  # not unit: the file holds the normalised quaternion
    export_ply(tmp_path / "a.ply", **{**g, "quats": quats})
    table = data_table(tmp_path / "a.ply").astype(np.float64)
    p = g["opacities"].double().numpy()
    assert np.all(table[:, 3:6] == 0.0)
    np.testing.assert_allclose(table[:, 18], np.log(p / (1 - p)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(table[:, 19:22], np.log(g["scales"].double().numpy()), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(table[:, 22:26], axis=1), 1.0, atol=1e-6)


def test_f_rest_is_channel_major(tmp_path):
    k = 4
    sh = torch.zeros(1, k, 3)
    for c in range(k):
        for ch in range(3):
            sh[0, c, ch] = 10 * ch + c  # R: 0..3, G: 10..13, B: 20..23
    g = {**random_gaussians(1, k), "sh": sh}
    export_ply(tmp_path / "a.ply", **g)
    row = data_table(tmp_path / "a.ply")[0]
    assert row[6:9].tolist() == [0.0, 10.0, 20.0]  # f_dc_0..2 = DC of R, G, B
    assert row[9:18].tolist() == [1.0, 2.0, 3.0, 11.0, 12.0, 13.0, 21.0, 22.0, 23.0]


def test_same_input_same_bytes(tmp_path):
    export_ply(tmp_path / "a.ply", **random_gaussians(20, 9, seed=1))
    export_ply(tmp_path / "b.ply", **random_gaussians(20, 9, seed=1))
    assert (tmp_path / "a.ply").read_bytes() == (tmp_path / "b.ply").read_bytes()


# ----------------------------------------------------------------------------- bad input


def test_read_missing_ply(tmp_path, one_sentence):
    with pytest.raises(LcaFileError) as info:
        read_ply(tmp_path / "none.ply")
    one_sentence(info.value, tmp_path / "none.ply")


def test_read_ascii_ply(tmp_path, one_sentence):
    path = tmp_path / "mesh.ply"
    path.write_bytes(
        b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n0.0\n"
    )
    with pytest.raises(LcaFileError) as info:
        read_ply(path)
    one_sentence(info.value, path)
    assert "ascii" in str(info.value)


def test_read_point_cloud_ply(tmp_path, one_sentence):
    """A binary PLY with only positions and colours is not a 3DGS PLY."""
    header = b"ply\nformat binary_little_endian 1.0\nelement vertex 2\n"
    header += b"".join(b"property float %s\n" % n for n in (b"x", b"y", b"z"))
    path = tmp_path / "points.ply"
    path.write_bytes(header + b"end_header\n" + bytes(24))
    with pytest.raises(LcaFileError) as info:
        read_ply(path)
    one_sentence(info.value, path)
    assert "f_dc_0" in str(info.value)


def test_read_truncated_ply(tmp_path, one_sentence):
    export_ply(tmp_path / "a.ply", **random_gaussians(10, 4))
    data = (tmp_path / "a.ply").read_bytes()
    (tmp_path / "a.ply").write_bytes(data[:-7])
    with pytest.raises(LcaFileError) as info:
        read_ply(tmp_path / "a.ply")
    one_sentence(info.value, tmp_path / "a.ply")


def test_read_non_ply(tmp_path, one_sentence):
    (tmp_path / "photo.ply").write_bytes(b"\xff\xd8\xff\xe0" + bytes(64))
    with pytest.raises(LcaFileError) as info:
        read_ply(tmp_path / "photo.ply")
    one_sentence(info.value, tmp_path / "photo.ply")


def test_bad_shapes_and_values_are_rejected(tmp_path):
    g = random_gaussians(4, 4)
    with pytest.raises(ValueError, match="sh"):
        export_ply(tmp_path / "a.ply", **{**g, "sh": torch.zeros(4, 5, 3)})
    with pytest.raises(ValueError, match="opacities"):
        export_ply(tmp_path / "a.ply", **{**g, "opacities": torch.full((4,), 1.5)})
    with pytest.raises(ValueError, match="non-finite"):
        export_ply(tmp_path / "a.ply", **{**g, "means": torch.full((4, 3), float("nan"))})
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder(tmp_path):
    (tmp_path / "blocker").write_bytes(b"x")
    with pytest.raises(OutputError):
        export_ply(tmp_path / "blocker" / "a.ply", **random_gaussians(4, 1))
    assert [p.name for p in tmp_path.iterdir()] == ["blocker"]


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ply.os, "fsync", fail)  # fails after the bytes were written
    with pytest.raises(OutputError, match="No space left"):
        export_ply(tmp_path / "a.ply", **random_gaussians(4, 1))
    assert list(tmp_path.iterdir()) == []


def _edit_property(path: Path, name: str, row: int, value: float) -> None:
    """Overwrite one float32 property of one Gaussian in a written PLY."""
    data = bytearray(path.read_bytes())
    start = data.index(b"end_header\n") + len(b"end_header\n")
    names = [line.split()[2] for line in header_lines(path) if line.startswith("property")]
    at = start + 4 * (row * len(names) + names.index(name))
    data[at : at + 4] = np.float32(value).tobytes()
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("names", "value", "word"),
    [
        (("x",), float("nan"), "non-finite"),
        (("f_dc_1",), float("inf"), "non-finite"),
        (("scale_0",), 1000.0, "log-scales"),
        (("scale_2",), -1000.0, "log-scales"),
        (("y",), 3e38, "too large"),
        (("rot_0", "rot_1", "rot_2", "rot_3"), 0.0, "zero-length rotation"),
    ],
)
def test_read_refuses_values_that_cannot_be_rendered(tmp_path, one_sentence, names, value, word):
    path = tmp_path / "a.ply"
    export_ply(path, **random_gaussians(6, 4))
    for name in names:
        _edit_property(path, name, 3, value)
    with pytest.raises(LcaFileError) as info:
        read_ply(path)
    one_sentence(info.value, path)
    assert word in str(info.value)


def test_a_name_longer_than_the_file_system_allows(tmp_path):
    """A 296-byte name is one sentence (was the OS error of Path.is_dir); a 250-byte one writes."""
    with pytest.raises(OutputError, match="longer than"):
        export_ply(tmp_path / ("a" * 292 + ".ply"), **random_gaussians(4, 1))
    assert list(tmp_path.iterdir()) == []
    legal = tmp_path / ("b" * 246 + ".ply")
    export_ply(legal, **random_gaussians(4, 1))
    assert [p.name for p in tmp_path.iterdir()] == [legal.name]
