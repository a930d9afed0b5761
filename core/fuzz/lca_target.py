"""Fuzzing the `.lca` reader: mutated files made by the project's own writer.

Seeds are small synthetic avatars (``core.avatar.benchmark.synthetic_avatar`` on a torus,
0 to 64 Gaussians, SH degree 0 to 3) saved with ``lca_bytes``, two of them with a synthetic
rig section (``synthetic_rig``). A case is one of: byte
edits anywhere; an edit of the safetensors JSON header (tensor entries); an edit of the
`lca` JSON header; an edit of the tensor data with the checksum made to match again (to
reach the value checks behind it); or the same as a schema 1 file (no checksum).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import struct
from pathlib import Path

from ..avatar.benchmark import synthetic_avatar, synthetic_rig, torus_mesh
from ..avatar.lca_file import lca_bytes, load_lca_with_rig
from ..avatar.values import avatar_problem
from .mutate import dumps, json_text, mutate_bytes, mutate_json


def _split(data: bytes) -> tuple[dict, bytes]:
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def _pack(header_bytes: bytes, body: bytes) -> bytes:
    header_bytes += b" " * (-len(header_bytes) % 8)
    return struct.pack("<Q", len(header_bytes)) + header_bytes + body


def _with_lca(header: dict, lca: dict) -> dict:
    header = dict(header)
    header["__metadata__"] = {"lca": dumps(lca)}
    return header


class LcaTarget:
    """The `.lca` reader (``load_lca_with_rig``), and re-saving what it loaded."""

    name = "lca"
    suffix = ".lca"

    def __init__(self) -> None:
        vertices, faces = torus_mesh(rings=4, segments=6)
        self.seeds = []
        for count, degree in ((0, 0), (1, 1), (16, 3), (64, 2)):
            avatar = synthetic_avatar(vertices, faces, count, sh_degree=degree, seed=count)
            avatar = dataclasses.replace(avatar, metadata={"name": "fuzz", "photos": "a.png"})
            rig = synthetic_rig(avatar, bones=4, seed=count) if count in (1, 64) else None
            self.seeds.append(_split(lca_bytes(avatar, rig)))

    def make_case(self, rng: random.Random) -> bytes:
        header, body = rng.choice(self.seeds)
        lca = json.loads(header["__metadata__"]["lca"])
        kind = rng.randrange(6)
        if kind == 0:
            return mutate_bytes(_pack(json.dumps(header).encode(), body), rng)
        if kind == 1:
            return _pack(json_text(mutate_json(header, rng), rng), body)
        if kind == 2:
            return _pack(json_text(_with_lca(header, mutate_json(lca, rng)), rng), body)
        if kind in (3, 4):
            body = mutate_bytes(body, rng) if kind == 3 else _float_edit(body, rng)
            digest = hashlib.blake2b(body, digest_size=16).hexdigest()
            lca["data_checksum"] = "blake2b-128:" + digest
            return _pack(json.dumps(_with_lca(header, lca)).encode(), body)
        del lca["data_checksum"]
        lca.pop("rig", None)  # schema 1 has no rig: its tensors are then unexpected
        lca["schema_version"] = 1
        return _pack(json.dumps(_with_lca(header, lca)).encode(), _float_edit(body, rng))

    def check(self, path: Path) -> None:
        avatar, rig = load_lca_with_rig(path)
        assert avatar_problem(avatar) is None, "a loaded avatar fails the value check"
        lca_bytes(avatar, rig)  # what loads can be saved again (every field consistent)


def _float_edit(body: bytes, rng: random.Random) -> bytes:
    """``body`` with a few aligned 4-byte words set to odd float32 or int32 values."""
    out = bytearray(body)
    for _ in range(rng.choice((1, 2, 5))):
        if len(out) < 4:
            break
        at = 4 * rng.randrange(len(out) // 4)
        value = rng.choice((float("nan"), float("inf"), 1e30, -3e38, 100.0, 25.0, 0.0, -1.0))
        word = (
            struct.pack("<f", value)
            if rng.random() < 0.7
            else struct.pack("<i", rng.choice((-1, 2**31 - 1, 9999)))
        )
        out[at : at + 4] = word
    return bytes(out)
