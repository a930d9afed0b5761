"""The `.lca` avatar file: safetensors tensors plus one JSON header (DESIGN.md sections 4, 6).

Layout (a standard safetensors file, readable by any safetensors reader):

    binding.triangle        (N,)       I32   (int64 in memory)
    binding.barycentric     (N, 3)     F32
    binding.offset          (N, 3)     F32
    binding.rotation        (N, 4)     F32   wxyz
    binding.log_scale       (N, 3)     F32
    binding.opacity_logit   (N,)       F32
    binding.sh              (N, K, 3)  F32
    binding.part            (N,)       I32   (int64 in memory)
    body.canonical_vertices (V, 3)     F32
    body.faces              (F, 3)     I32   (int64 in memory)

and, optionally (schema 3, ``lca_rig``), the rig: J bones, E expressions, K body-shape
keys, W the most skinning weights any vertex has

    rig.bone_matrices       (J, 4, 4)  F32   rest matrices in Blender's axes
    rig.bone_lengths        (J,)       F32
    rig.weight_bones        (V, W)     I32   each vertex's bones, ascending, then -1
    rig.weight_values       (V, W)     F32   their skinning weights, then 0
    rig.expression_deltas   (E, V, 3)  F32
    rig.shape_deltas        (K, V, 3)  F32
    rig.uvs                 (F, 3, 2)  F32   (only where the body has UVs)

and, optionally (schema 4, ``pose_correction``), the network's pose correction: J bones,
E expressions, H hidden units, M anchors, k anchors per Gaussian (the header's
``correction``: bones, expressions, hidden, anchors, neighbours)

    correction.fc1_weight    (H, 3J + E) F32   the MLP's hidden layer (then GELU)
    correction.fc1_bias      (H,)        F32
    correction.fc2_weight    (3M, H)     F32   its output layer: M anchors' offsets
    correction.fc2_bias      (3M,)       F32
    correction.anchor_index  (N, k)      I32   each Gaussian's anchors, 0..M-1
    correction.anchor_weight (N, k)      F32   their weights

``__metadata__["lca"]`` is compact JSON with sorted keys: format, schema_version, units,
canonical_frame, up_axis, quaternion_order, color, sh_degree, count, body, part_names,
metadata, data_checksum, ``rig`` where the file holds one (bone_names, bone_parents,
expression_names, shape_keys, uvs) and ``correction`` where it holds one (anchors, bones,
expressions, hidden, neighbours). There are no timestamps, so the same avatar gives the same
bytes.

``data_checksum`` (schema 2) is ``"blake2b-128:"`` and the hex BLAKE2b digest (16 bytes,
``hashlib``, so every reader has it, Blender too) of the data section: every byte after the
header, in file order. Schema 1 files have none and still load.

The reader checks the whole layout (sizes, dtypes, shapes, offsets, schema version) from the
header alone (``lca_header``) before it reads tensor data, then verifies the checksum while
streaming the data (no allocation), then reads each tensor straight into its own buffer and
checks its values (``values``) before reading the next: a hostile file costs at most the
memory of the tensors it declares up to its first bad one, never a copy of the whole file.
Nothing in a file is ever executed (no pickle).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import safetensors.torch
import torch
from torch import Tensor

from ..errors import OutputError
from ..fileio import atomic_path, check_output_file
from .avatar import BINDING_FIELDS, SCHEMA_VERSION, Avatar, BodyIdentity, GaussianBinding
from .lca_header import (
    CHECKSUM_PREFIX,
    COLOR,
    FORMAT,
    MAX_CORRECTION_SIZE,
    NOT_LCA,
    QUATERNION_ORDER,
    RIG_SCHEMA_VERSION,
    UNITS,
    UP_AXES,
    LcaLayout,
    TensorSpan,
    correction_tensor_names,
    fail,
    read_layout,
    tensor_names,
    verify_checksum,
)
from .lca_rig import RigArrays, rig_array_problem, rig_from_section, rig_section, weights_problem
from .pose_correction import CORRECTION_FIELDS, PoseCorrection
from .values import IndexRanges, avatar_problem, avatar_tensors, tensor_problem

_INT_FIELDS = frozenset({"triangle", "part"})
_INT32_MAX = 2**31 - 1

# ----------------------------------------------------------------------------- checks


def _check_avatar(avatar: Avatar) -> None:
    """Raise ValueError if ``avatar`` cannot be written as a valid `.lca` file."""
    b = avatar.binding
    n = b.count
    k = int(b.sh.shape[1])
    v = int(avatar.canonical_vertices.shape[0])
    f = int(avatar.faces.shape[0])
    tensors = avatar_tensors(avatar)
    for name, (_, sym) in tensor_names(k).items():
        if name.startswith("binding."):
            continue  # GaussianBinding checked its shapes and dtypes when it was built
        t = tensors[name]
        want = tuple({"N": n, "V": v, "F": f}.get(s, s) for s in sym)
        if tuple(t.shape) != want:
            raise ValueError(f"{name} must have shape {want}, got {tuple(t.shape)}.")
        if name == "body.faces" and (t.is_floating_point() or t.is_complex()):
            raise ValueError(f"{name} must be an integer tensor, got {t.dtype}.")
    if max(n, v, f, len(avatar.part_names)) > _INT32_MAX:
        raise ValueError("avatar is too large for 32-bit indices.")
    if avatar.up_axis not in UP_AXES:
        raise ValueError(f"up_axis must be one of {UP_AXES}, got {avatar.up_axis!r}.")
    if not all(isinstance(p, str) for p in avatar.part_names):
        raise ValueError("part_names must be strings.")
    if not all(isinstance(a, str) and isinstance(c, str) for a, c in avatar.metadata.items()):
        raise ValueError("metadata must map str -> str.")
    for key, value in avatar.body.shape.items():
        if not isinstance(key, str) or not math.isfinite(float(value)):
            raise ValueError(f"body.shape[{key!r}] must be a finite number under a str key.")
    texts = [*avatar.part_names, *avatar.metadata, *avatar.metadata.values(), *avatar.body.shape]
    texts += [avatar.body.model, avatar.body.model_version]
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{text!r} is not valid Unicode text.") from None
    if avatar.correction is not None and (
        max(correction_header(avatar.correction).values()) > MAX_CORRECTION_SIZE
    ):
        raise ValueError(f"the pose correction has a size over {MAX_CORRECTION_SIZE}.")
    problem = avatar_problem(avatar)
    if problem is not None:
        raise ValueError(f"avatar {problem}.")


# ----------------------------------------------------------------------------- writing


def header_json(avatar: Avatar, data_checksum: str, rig: dict | None = None) -> str:
    """The `lca` header of ``avatar`` as compact JSON with sorted keys.

    data_checksum: ``CHECKSUM_PREFIX`` and the hex digest of the file's data section.
    rig: the header's ``rig`` object (``lca_rig.rig_header``), or None for a file without one.
    """
    header = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "units": UNITS,
        "canonical_frame": f"{avatar.body.model}-canonical",
        "up_axis": avatar.up_axis,
        "quaternion_order": QUATERNION_ORDER,
        "color": COLOR,
        "sh_degree": avatar.binding.sh_degree,
        "count": avatar.count,
        "body": {
            "model": avatar.body.model,
            "model_version": avatar.body.model_version,
            "shape": {k: float(v) for k, v in avatar.body.shape.items()},
        },
        "part_names": list(avatar.part_names),
        "metadata": dict(avatar.metadata),
        "data_checksum": data_checksum,
    }
    if rig is not None:
        header["rig"] = rig
    if avatar.correction is not None:
        header["correction"] = correction_header(avatar.correction)
    return json.dumps(header, sort_keys=True, separators=(",", ":"), allow_nan=False)


def correction_header(correction: PoseCorrection) -> dict[str, int]:
    """The header's ``correction`` object: the sizes of ``correction``'s tensors."""
    return {
        "anchors": correction.anchors,
        "bones": correction.bones,
        "expressions": correction.expressions,
        "hidden": correction.hidden,
        "neighbours": correction.neighbours,
    }


def _checksum(tensors: dict[str, Tensor], order: list[str]) -> str:
    """The checksum of the data section that holds ``tensors`` (contiguous, CPU) in ``order``."""
    digest = hashlib.blake2b(digest_size=16)
    for name in order:
        if tensors[name].numel():
            digest.update(memoryview(tensors[name].numpy()).cast("B"))
    return CHECKSUM_PREFIX + digest.hexdigest()


def _file_order(data: bytes) -> list[str]:
    """The tensor names of a safetensors file's bytes, in the order of their data."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    spans = [(e["data_offsets"], name) for name, e in header.items() if name != "__metadata__"]
    return [name for _, name in sorted(spans)]


def lca_bytes(avatar: Avatar, rig=None) -> bytes:
    """The complete `.lca` file of ``avatar`` (deterministic: same avatar, same bytes).

    rig: the avatar's rig (``core.rig.Rig`` or ``lca_rig.RigArrays``), stored in the rig
    section, or None for a file without one (Blender then needs torch and the body model).
    """
    _check_avatar(avatar)
    tensors = {}
    for name, (dtype, _) in tensor_names(int(avatar.binding.sh.shape[1])).items():
        t = avatar_tensors(avatar)[name].detach().to("cpu")
        t = t.to(torch.int32 if dtype == "I32" else torch.float32).contiguous()
        tensors[name] = t
    if avatar.correction is not None:
        names = correction_tensor_names(correction_header(avatar.correction))
        for name, t in avatar.correction.tensors().items():
            dtype = torch.int32 if names[name][0] == "I32" else torch.float32
            tensors[name] = t.detach().to("cpu").to(dtype).contiguous()
    rig_json = None
    if rig is not None:
        rig_json, arrays = rig_section(rig, avatar)
        tensors |= {name: torch.from_numpy(a).contiguous() for name, a in arrays.items()}
    # safetensors lays the data out by dtype (F32 before I32), then by name; the order is
    # read back from what it wrote and the file written again in the (never seen) case
    # that a safetensors version orders it differently.
    order = sorted(tensors, key=lambda name: (tensors[name].dtype == torch.int32, name))
    while True:
        meta = {"lca": header_json(avatar, _checksum(tensors, order), rig_json)}
        data = safetensors.torch.save(tensors, metadata=meta)
        if _file_order(data) == order:
            return data
        order = _file_order(data)


def _write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (a temporary file) and flush it to disk."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def save_lca(avatar: Avatar, path: Path | str, rig=None) -> None:
    """Write ``avatar`` (and its ``rig``, see :func:`lca_bytes`) to ``path`` atomically: a
    failure leaves no file and no temp file.

    Raises ValueError for an inconsistent avatar or rig and OutputError where ``path`` cannot
    be written.
    """
    path = Path(path)
    data = lca_bytes(avatar, rig)
    check_output_file(path)  # a folder, a name too long, no writable folder: one sentence
    try:
        with atomic_path(path) as tmp:
            _write_file(tmp, data)
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise OutputError(
            f"Cannot write '{path}' ({reason}); choose a writable folder with free space."
        ) from None


# ----------------------------------------------------------------------------- reading


def _read_tensor(path: Path, f, span: TensorSpan, data_start: int) -> Tensor:
    """The tensor ``span`` read from open file ``f`` into a buffer of its own.

    The data is little-endian, as is every machine torch runs on that this project supports.
    """
    t = torch.empty(span.shape, dtype=torch.int32 if span.dtype == "I32" else torch.float32)
    if t.numel():
        f.seek(data_start + span.begin)
        if f.readinto(memoryview(t.numpy()).cast("B")) != span.end - span.begin:
            raise fail(path, "changed while it was being read", "try again")
    return t


def _read_tensors(path: Path, layout: LcaLayout) -> dict[str, Tensor]:
    """Every tensor of ``path``, each value-checked as soon as it is read, in file order."""
    h = layout.lca
    shapes = {span.name: span.shape for span in layout.spans}
    ranges = IndexRanges(
        faces=shapes["body.faces"][0],
        vertices=shapes["body.canonical_vertices"][0],
        parts=len(h["part_names"]),
        anchors=h["correction"]["anchors"] if "correction" in h else 0,
    )
    bones = len(h["rig"]["bone_names"]) if "rig" in h else 0
    tensors = {}
    try:
        with open(path, "rb") as f:
            if h["schema_version"] >= 2:
                verify_checksum(path, f, layout)
            for span in layout.spans:
                t = _read_tensor(path, f, span, layout.data_start)
                if span.name.startswith("rig."):
                    problem = rig_array_problem(span.name, t.numpy(), bones)
                else:
                    problem = tensor_problem(span.name, t, ranges)
                if problem is not None:
                    raise fail(path, problem)
                tensors[span.name] = t
            if "rig" in h:
                problem = weights_problem(
                    tensors["rig.weight_bones"].numpy(), tensors["rig.weight_values"].numpy()
                )
                if problem is not None:
                    raise fail(path, problem)
            if f.read(1):
                raise fail(path, "changed while it was being read", "try again")
    except OSError as err:
        raise fail(path, f"cannot be read ({err.strerror})", NOT_LCA) from None
    return tensors


def load_lca(path: Path | str) -> Avatar:
    """Read and validate a `.lca` file; raise LcaFileError (one sentence) if it is unusable.

    Returns an Avatar with float32 tensors and int64 indices on the CPU. Values are bounded
    as ``core.avatar.values`` says; an avatar with no Gaussians loads (``info`` shows it;
    rendering and export refuse it through ``values.require_gaussians``). A rig section is
    checked too (:func:`load_lca_with_rig` returns it).
    """
    return load_lca_with_rig(path)[0]


def load_lca_with_rig(path: Path | str) -> tuple[Avatar, RigArrays | None]:
    """:func:`load_lca` and the file's stored rig (``lca_rig.RigArrays``; None where the file
    has none: schema 1 and 2, or saved without one). ``core.rig.rig_from_arrays`` makes a
    ``core.rig.Rig`` of it."""
    path = Path(path)
    layout = read_layout(path)
    tensors = _read_tensors(path, layout)
    h = layout.lca
    avatar = _avatar(h, tensors)
    rig = None
    if "rig" in h:
        arrays = {name: t.numpy() for name, t in tensors.items() if name.startswith("rig.")}
        rig = rig_from_section(
            h["rig"], arrays, avatar.canonical_vertices.numpy(), avatar.faces.numpy(), h["up_axis"]
        )
    return avatar, rig


def has_rig(header: dict) -> bool:
    """Whether a parsed `lca` header (:func:`read_lca_header`) declares a rig section."""
    return header.get("schema_version", 0) >= RIG_SCHEMA_VERSION and "rig" in header


def _avatar(h: dict, tensors: dict[str, Tensor]) -> Avatar:
    """The Avatar of a checked header ``h`` and its tensors."""

    def field(name: str) -> Tensor:
        t = tensors[f"binding.{name}"]
        return t.to(torch.int64) if name in _INT_FIELDS else t

    body = h["body"]
    correction = None
    if "correction" in h:
        c = h["correction"]
        fields = {name: tensors[f"correction.{name}"] for name in CORRECTION_FIELDS}
        fields["anchor_index"] = fields["anchor_index"].to(torch.int64)
        correction = PoseCorrection(c["bones"], c["expressions"], **fields)
    return Avatar(
        binding=GaussianBinding(**{name: field(name) for name in BINDING_FIELDS}),
        body=BodyIdentity(
            model=body["model"],
            model_version=body["model_version"],
            shape={k: float(v) for k, v in body["shape"].items()},
        ),
        canonical_vertices=tensors["body.canonical_vertices"],
        faces=tensors["body.faces"].to(torch.int64),
        part_names=tuple(h["part_names"]),
        up_axis=h["up_axis"],
        metadata=dict(h["metadata"]),
        correction=correction,
    )


def read_lca_header(path: Path | str) -> dict:
    """Validate the file layout of ``path`` without reading tensor data; return the header.

    Returns the parsed `lca` JSON header (see the module docstring). Raises LcaFileError.
    """
    return read_layout(Path(path)).lca


def avatar_from_arrays(arrays) -> Avatar:
    """The Avatar of ``arrays`` (``lca_numpy.AvatarArrays``, as ``lca_numpy.load_lca_arrays``
    reads a file): the same tensors ``load_lca`` gives for that file."""
    b = arrays.binding
    correction = None
    if arrays.correction is not None:
        c = arrays.correction
        correction = PoseCorrection(
            c.bones,
            c.expressions,
            **{name: torch.from_numpy(getattr(c, name).copy()) for name in CORRECTION_FIELDS},
        )
    return Avatar(
        binding=GaussianBinding(
            **{name: torch.from_numpy(getattr(b, name).copy()) for name in BINDING_FIELDS}
        ),
        body=BodyIdentity(
            model=arrays.body.model,
            model_version=arrays.body.model_version,
            shape=dict(arrays.body.shape),
        ),
        canonical_vertices=torch.from_numpy(arrays.canonical_vertices.copy()),
        faces=torch.from_numpy(arrays.faces.copy()),
        part_names=tuple(arrays.part_names),
        up_axis=arrays.up_axis,
        metadata=dict(arrays.metadata),
        correction=correction,
    )
