"""Fuzzing the 3DGS PLY reader: mutated files made by the project's own PLY writer.

Seeds are 0 to 32 Gaussians at SH degree 0 to 3 (``ply_bytes``). A case is byte edits
anywhere, an edit of one header line, or aligned float32 words set to odd values.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import numpy as np
import torch

from ..avatar.ply import ply_bytes, read_ply
from ..render.sh import SH_COUNTS
from .mutate import mutate_bytes

_HEADER_EDITS = (
    b"element vertex 99999999999999999999",
    b"element vertex -1",
    b"element face 3",
    b"property double x",
    b"property float x",
    b"format ascii 1.0",
    b"format binary_big_endian 1.0",
    b"comment \xff\xfe",
    b"",
    b"property float " + b"f_rest_" * 2000,
)


class PlyTarget:
    """The PLY reader (``read_ply``), and the promises of what it returns."""

    name = "ply"
    suffix = ".ply"

    def __init__(self) -> None:
        self.seeds = []
        for n, degree in ((0, 0), (1, 3), (8, 1), (32, 2)):
            g = torch.Generator().manual_seed(n)
            quats = torch.randn(n, 4, generator=g)
            self.seeds.append(
                ply_bytes(
                    means=torch.randn(n, 3, generator=g),
                    quats=quats / quats.norm(dim=-1, keepdim=True).clamp_min(1e-6),
                    scales=torch.exp(torch.randn(n, 3, generator=g) - 3.0),
                    opacities=torch.rand(n, generator=g) * 0.9 + 0.05,
                    sh=torch.randn(n, SH_COUNTS[degree], 3, generator=g),
                )
            )

    def make_case(self, rng: random.Random) -> bytes:
        data = rng.choice(self.seeds)
        kind = rng.randrange(3)
        if kind == 0:
            return mutate_bytes(data, rng)
        end = data.index(b"end_header\n")
        if kind == 1:
            lines = data[:end].split(b"\n")
            at = rng.randrange(1, len(lines))
            lines[at] = rng.choice(_HEADER_EDITS)
            return b"\n".join(lines) + data[end:]
        out = bytearray(data)
        start = end + len(b"end_header\n")
        for _ in range(rng.choice((1, 3))):
            if len(out) - start < 4:
                break
            at = start + 4 * rng.randrange((len(out) - start) // 4)
            value = rng.choice((float("nan"), float("inf"), 1000.0, -1000.0, 3e38, 0.0))
            out[at : at + 4] = struct.pack("<f", value)
        return bytes(out)

    def check(self, path: Path) -> None:
        g = read_ply(path)
        n = g.count
        assert g.quats.shape == (n, 4) and g.scales.shape == (n, 3) and g.sh.shape[0] == n
        for values in (g.means, g.quats, g.scales, g.opacities, g.sh):
            assert np.isfinite(values).all(), "read_ply returned non-finite values"
        if n:
            assert np.linalg.norm(g.quats, axis=1).min() > 0, "read_ply returned a zero quaternion"
