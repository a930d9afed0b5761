"""Checkpoints of the network: its weights as safetensors, with a JSON header.

Header: the schema version, the model config, the body topology it was made for (vertices,
bones, expressions), the training record (data, samples seen, steps) and the code revision
that wrote it. Loading refuses, in one sentence each: a missing or corrupt file, a file that
is not a checkpoint, another schema version, a config other than the one asked for, and
weights that do not fit the config.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from ..errors import PATH_LIMIT, LcaError, quoted
from .config import ModelConfig
from .network import LcaNet
from .tensor_file import read_tensor_file, revision, write_tensor_file

CHECKPOINT_SCHEMA = 1
"""Version of the checkpoint header this code writes and reads."""
KIND = "lca-checkpoint"


@dataclass(frozen=True)
class TrainingRecord:
    """How a checkpoint was trained: data (a description of the training set, e.g. "synthetic
    64 subjects x 8 views 96px, seeds 0-63"), subjects, samples (subject-views seen), steps
    (optimiser steps), stage ("pretrain", "posttrain" or "untrained")."""

    data: str = ""
    subjects: int = 0
    samples: int = 0
    steps: int = 0
    stage: str = "untrained"


@dataclass(frozen=True)
class CheckpointHeader:
    """What a checkpoint says about itself."""

    schema: int
    config: ModelConfig
    vertex_count: int
    bones: int
    expressions: int
    training: TrainingRecord
    code_revision: str


def save_checkpoint(
    path: Path | str, net: LcaNet, training: TrainingRecord, code_revision: str | None = None
) -> None:
    """Write ``net``'s weights and header (module docstring) to ``path``, atomically.
    code_revision: of the code that trained it (a training run reads it when it starts);
    None: the checkout's revision now."""
    header = {
        "kind": KIND,
        "schema": CHECKPOINT_SCHEMA,
        "config": net.config.to_dict(),
        "vertex_count": net.vertex_count,
        "bones": net.correction.bones,
        "expressions": net.correction.expressions,
        "training": dataclasses.asdict(training),
        "code_revision": revision() if code_revision is None else code_revision,
    }
    write_tensor_file(path, dict(net.state_dict()), header)


def read_header(header: dict, shown: str) -> CheckpointHeader:
    """The CheckpointHeader of a raw header; LcaError naming ``shown`` if it is not one."""
    if header.get("kind") != KIND:
        raise LcaError(f"{shown} is not an LCA network checkpoint; give one `lca train` wrote.")
    schema = header.get("schema")
    if schema != CHECKPOINT_SCHEMA:
        raise LcaError(
            f"{shown} has checkpoint version {quoted(schema)} but this code reads version "
            f"{CHECKPOINT_SCHEMA}; use a checkpoint made by this version of lca."
        )
    try:
        config = ModelConfig.from_dict(header["config"])
        training = TrainingRecord(**header["training"])
        return CheckpointHeader(
            schema=schema,
            config=config,
            vertex_count=int(header["vertex_count"]),
            bones=int(header["bones"]),
            expressions=int(header["expressions"]),
            training=training,
            code_revision=str(header["code_revision"]),
        )
    except (KeyError, TypeError, ValueError, LcaError):
        raise LcaError(f"{shown} has a damaged header; use another checkpoint.") from None


def load_checkpoint(
    path: Path | str, expect: ModelConfig | None = None
) -> tuple[LcaNet, CheckpointHeader]:
    """The network in ``path`` and its header, on the CPU in eval mode. expect: the config
    the caller needs (a different one is refused); None takes the file's."""
    shown = f"Checkpoint {quoted(Path(path), PATH_LIMIT)}"
    tensors, raw = read_tensor_file(path, "Checkpoint")
    header = read_header(raw, shown)
    if expect is not None and header.config != expect:
        raise LcaError(
            f"{shown} holds the model '{header.config.name}' with another config than the "
            f"'{expect.name}' asked for; give a checkpoint of that config."
        )
    anchors = tensors.get("anchor_vertices")
    if anchors is None or tuple(anchors.shape) != (header.config.anchors,):
        raise LcaError(f"{shown} has weights that do not fit its config; use another checkpoint.")
    net = LcaNet(header.config, anchors, header.vertex_count, header.bones, header.expressions)
    expected = net.state_dict()
    if tensors.keys() != expected.keys() or any(
        tensors[k].shape != expected[k].shape or tensors[k].dtype != expected[k].dtype
        for k in expected
    ):
        raise LcaError(f"{shown} has weights that do not fit its config; use another checkpoint.")
    if any(t.is_floating_point() and not bool(t.isfinite().all()) for t in tensors.values()):
        raise LcaError(f"{shown} has NaN or infinite weights; use an earlier checkpoint.")
    net.load_state_dict(tensors)
    return net.eval(), header
