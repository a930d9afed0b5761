"""Resumable training state: weights, optimiser state, step and config, as safetensors with
a JSON header (no pickle), in ``<run>/state.safetensors``; the network alone goes to
``<run>/checkpoint.safetensors`` (core.model.checkpoint) for ``lca create``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..errors import PATH_LIMIT, LcaError, quoted
from ..model.network import LcaNet
from ..model.tensor_file import read_tensor_file, revision, write_tensor_file
from .config import TrainConfig, config_from_dict

STATE_SCHEMA = 1
KIND = "lca-train-state"
STATE_FILE = "state.safetensors"
CHECKPOINT_FILE = "checkpoint.safetensors"


@dataclass(frozen=True)
class TrainState:
    """step: optimiser steps done; samples: subject-samples seen; losses: (step, loss) of
    every logged step."""

    step: int
    samples: int
    losses: tuple[tuple[int, float], ...]


def save_state(
    run: Path, net: LcaNet, optimiser: torch.optim.Optimizer, config: TrainConfig, state: TrainState
) -> Path:
    """Write the resumable state of the run folder ``run``, atomically; returns its path."""
    tensors: dict[str, Tensor] = {f"model.{k}": v for k, v in net.state_dict().items()}
    saved = optimiser.state_dict()
    for index, values in saved["state"].items():
        for key, value in values.items():
            tensors[f"optim.{index}.{key}"] = torch.as_tensor(value)
    header = {
        "kind": KIND,
        "schema": STATE_SCHEMA,
        "config": config.to_dict(),
        "step": state.step,
        "samples": state.samples,
        "losses": [list(x) for x in state.losses],
        "param_groups": saved["param_groups"],
        "code_revision": revision(),
    }
    path = run / STATE_FILE
    write_tensor_file(path, tensors, header)
    return path


def load_state(
    run: Path, net: LcaNet, optimiser: torch.optim.Optimizer, config: TrainConfig
) -> TrainState:
    """Restore ``net`` and ``optimiser`` from the run folder ``run``; a run made with another
    config, or a broken state file, raises LcaError."""
    path = run / STATE_FILE
    shown = f"Run {quoted(run, PATH_LIMIT)}"
    if not path.is_file():
        raise LcaError(f"{shown} has no {STATE_FILE} to resume from; start it without --resume.")
    tensors, header = read_tensor_file(path, "Training state")
    if header.get("kind") != KIND or header.get("schema") != STATE_SCHEMA:
        raise LcaError(f"{shown} holds a training state of another version; start a new run.")
    if not _same_config(header.get("config"), config):
        raise LcaError(
            f"{shown} was trained with another config; resume it with its own config, or "
            "start a new run."
        )
    model = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    try:
        net.load_state_dict(model)
        state: dict = {}
        for name, value in tensors.items():
            if name.startswith("optim."):
                _, index, key = name.split(".", 2)
                state.setdefault(int(index), {})[key] = value
        optimiser.load_state_dict({"state": state, "param_groups": header["param_groups"]})
        return TrainState(
            step=int(header["step"]),
            samples=int(header["samples"]),
            losses=tuple((int(s), float(v)) for s, v in header["losses"]),
        )
    except (KeyError, RuntimeError, ValueError, TypeError):
        raise LcaError(f"{shown} has a damaged training state; start a new run.") from None


def _same_config(stored: object, config: TrainConfig) -> bool:
    """Whether the config a state was saved with is ``config`` (keys added since count at
    their defaults)."""
    try:
        return isinstance(stored, dict) and config_from_dict(stored) == config
    except (LcaError, TypeError):
        return False
