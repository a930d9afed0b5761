"""Rank helpers, in one place (after dinov2's ``distributed``): one process, or many under
``torchrun`` (gloo on the CPU, NCCL on CUDA).

Data parallel: every rank runs its share of the batch, then :func:`average_gradients`
all-reduces the gradients (their mean over ranks), so that every rank takes the same
optimiser step as one process on the whole batch would.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn


def launched() -> bool:
    """True inside torchrun (or another launcher that sets WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def start(device: torch.device) -> None:
    """Join the process group torchrun describes (nothing when not launched)."""
    if launched() and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    return rank() == 0


def local_device(device: torch.device) -> torch.device:
    """The CUDA device of this rank's LOCAL_RANK, or ``device`` unchanged."""
    if device.type == "cuda" and launched():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def average_gradients(model: nn.Module) -> None:
    """Replace every gradient by its mean over the ranks (nothing in one process)."""
    if world_size() == 1:
        return
    for p in model.parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
        p.grad /= world_size()


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def all_mean(value: float) -> float:
    """The mean of a number over the ranks."""
    if world_size() == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t) / world_size()
