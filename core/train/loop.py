"""The training loop of `lca train` (and of each rank under torchrun).

AdamW with a linear warm-up then a cosine to ``final_lr_share`` of the rate; gradient
clipping; gradient accumulation (``accumulate`` draws of ``batch`` subjects per optimiser
step); bf16 autocast of the network on CUDA only (the renderer stays in float32); data
parallel over ranks (core.train.distributed); TensorBoard logs and a progress line on rank 0.

Faults: a loss that turns NaN or infinite stops the run before the step is taken, keeping the
last good state and naming the step (LcaError); Ctrl-C saves a resumable state of the last
finished step and raises :class:`Interrupted` (the command exits 130); resuming a run with
another config is refused (core.train.state).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..body.model import BodyModel
from ..errors import PATH_LIMIT, LcaError, quoted
from ..fileio import atomic_write_bytes
from ..model.checkpoint import TrainingRecord, load_checkpoint, save_checkpoint
from ..model.config import ModelConfig, model_config
from ..model.network import LcaNet, new_network
from ..model.tensor_file import revision
from ..progress import Progress, no_progress
from ..recon.feedforward import base_colours
from . import distributed
from .config import TrainConfig
from .data.shards import list_shards
from .dataset import draw_samples, load_subject
from .losses import sample_loss
from .state import CHECKPOINT_FILE, STATE_FILE, TrainState, load_state, save_state


class Interrupted(LcaError):
    """Ctrl-C during training: a resumable state was saved (the sentence says where)."""


@dataclass(frozen=True)
class TrainResult:
    """state: where the run ended; checkpoint: the network written for `lca create`;
    seconds: wall time of the steps taken here."""

    state: TrainState
    checkpoint: Path
    seconds: float


def learning_rate(config: TrainConfig, step: int) -> float:
    """The rate of optimiser step ``step`` (0-based): warm-up, then cosine."""
    o = config.optim
    if step < o.warmup:
        return o.lr * (step + 1) / o.warmup
    t = (step - o.warmup) / max(o.steps - o.warmup, 1)
    return o.lr * (o.final_lr_share + (1 - o.final_lr_share) * 0.5 * (1 + math.cos(math.pi * t)))


def make_network(
    config: TrainConfig, body: BodyModel, init: Path | None, net_config: ModelConfig | None = None
) -> LcaNet:
    """A new network seeded by the run's seed, or the checkpoint ``init`` (its config must be
    the run's model); net_config: instead of the named size ``config.model`` (tests)."""
    net_config = net_config or model_config(config.model)
    if init is not None:
        return load_checkpoint(init, expect=net_config)[0].train()
    torch.manual_seed(config.run.seed)
    return new_network(net_config, body)


def accumulate_gradients(
    net: LcaNet, subjects: list, config: TrainConfig, step: int, device: torch.device
) -> tuple[float, int]:
    """The gradients of step ``step``'s loss on this rank's share of the samples, scaled so
    that their mean over the ranks is the gradient of the mean loss over all the samples:
    (mean loss over every rank's samples, samples this rank used)."""
    o = config.optim
    rank, world = distributed.rank(), distributed.world_size()
    backend = "torch" if device.type == "cpu" else "auto"
    total, used = 0.0, 0
    for micro in range(o.accumulate):
        draw = step * o.accumulate + micro
        samples = draw_samples(subjects, config.data, config.run.seed, draw, o.batch)
        for sample in samples[rank::world]:
            base = base_colours(sample.subject.template, sample.inputs)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
                prediction = net(sample.subject.template, sample.inputs, base)
            loss, _ = sample_loss(_float32(prediction), sample, config.loss, backend, net)
            (loss * world / (len(samples) * o.accumulate)).backward()
            total += float(loss.detach())
            used += 1
    return distributed.all_mean(total / max(used, 1)), used


def train_step(
    net: LcaNet,
    optimiser: torch.optim.Optimizer,
    subjects: list,
    config: TrainConfig,
    step: int,
    device: torch.device,
) -> tuple[float, float, int]:
    """One optimiser step (every rank calls it): (mean loss over the ranks' samples, gradient
    norm before clipping, samples this rank used). The step is not taken if the loss is not
    finite."""
    for group in optimiser.param_groups:
        group["lr"] = learning_rate(config, step)
    optimiser.zero_grad(set_to_none=True)
    mean, used = accumulate_gradients(net, subjects, config, step, device)
    if not math.isfinite(mean):
        return mean, float("nan"), used
    distributed.average_gradients(net)
    norm = float(torch.nn.utils.clip_grad_norm_(net.parameters(), config.optim.clip))
    optimiser.step()
    return mean, norm, used


def _float32(prediction):
    """The prediction with its binding in float32 (autocast leaves bf16 in it on CUDA)."""
    b = prediction.binding.to(dtype=torch.float32)
    return dataclasses.replace(prediction, binding=b)


def train(
    config: TrainConfig,
    run: Path,
    body: BodyModel,
    *,
    init: Path | None = None,
    resume: bool = False,
    device: torch.device | None = None,
    progress: Progress = no_progress,
    report: Callable[[str], None] | None = None,
    net_config: ModelConfig | None = None,
) -> TrainResult:
    """Train per ``config`` into the run folder ``run`` (module docstring). progress: the
    share of steps done ("training"); report: called on rank 0 with a line per logged step."""
    device = device or torch.device("cpu")
    main = distributed.is_main()
    if not resume and (run / STATE_FILE).exists():
        raise LcaError(
            f"Run folder {quoted(run, PATH_LIMIT)} already holds a run; resume it with --resume "
            "or choose another --out."
        )
    subjects = load_subjects(config, body, progress)
    net = make_network(config, body, init, net_config).to(device).train()
    optimiser = torch.optim.AdamW(
        net.parameters(), lr=config.optim.lr, weight_decay=config.optim.weight_decay
    )
    state = TrainState(step=0, samples=0, losses=())
    if resume:
        state = load_state(run, net, optimiser, config)
    run.mkdir(parents=True, exist_ok=True)
    writer = _writer(run) if main else None
    losses = list(state.losses)
    step, samples = state.step, state.samples
    record = _record(config, len(subjects))
    code = revision()  # the code this process runs, not the checkout's when it saves
    start = time.perf_counter()
    try:
        while step < config.optim.steps:
            loss, norm, used = train_step(net, optimiser, subjects, config, step, device)
            if not math.isfinite(loss):
                raise LcaError(
                    f"The loss turned {'NaN' if math.isnan(loss) else 'infinite'} at step "
                    f"{step + 1}, so training stopped; the last good state (step {state.step}) "
                    f"is kept in {quoted(run, PATH_LIMIT)}: lower optim.lr and resume."
                )
            step += 1
            samples += used * distributed.world_size()
            if step % config.run.log_every == 0 or step == config.optim.steps:
                losses.append((step, loss))
                if writer is not None:
                    writer.add_scalar("loss/total", loss, step)
                    writer.add_scalar("optim/lr", learning_rate(config, step - 1), step)
                    writer.add_scalar("optim/grad_norm", norm, step)
                if report is not None and main:
                    seconds = time.perf_counter() - start
                    report(f"step {step}: loss {loss:.4f}, grad norm {norm:.3f}, {seconds:.0f} s")
            progress("training", step / config.optim.steps)
            if step % config.run.save_every == 0 or step == config.optim.steps:
                state = TrainState(step, samples, tuple(losses))
                _save(run, net, optimiser, config, state, record, code)
    except KeyboardInterrupt:
        state = TrainState(step, samples, tuple(losses))
        _save(run, net, optimiser, config, state, record, code)
        raise Interrupted(
            f"Training was interrupted after step {step}; a resumable state is in "
            f"{quoted(run, PATH_LIMIT)} (resume with --resume)."
        ) from None
    finally:
        if writer is not None:
            writer.close()
    return TrainResult(state, run / CHECKPOINT_FILE, time.perf_counter() - start)


def load_subjects(config: TrainConfig, body: BodyModel, progress: Progress = no_progress) -> list:
    """The run's subjects: the shards of ``data.train`` (none for "") and then the video
    folders of ``data.video`` (core.train.video_subjects), in that order."""
    from .video_subjects import load_video_subject

    d = config.data
    paths = list_shards(d.train) if d.train else []
    total = len(paths) + len(d.video)
    subjects: list = []
    for i, path in enumerate(paths):
        progress("loading subjects", i / total)
        subjects.append(load_subject(body, path, d, config.run.seed))
    for i, folder in enumerate(d.video):
        progress("loading subjects", (len(paths) + i) / total)
        subjects.append(load_video_subject(body, folder, d))
    progress("loading subjects", 1.0)
    return subjects


def _record(config: TrainConfig, subjects: int) -> TrainingRecord:
    d = config.data
    parts = ([f"shards in {d.train}"] if d.train else []) + [f"video folder {v}" for v in d.video]
    return TrainingRecord(data=", ".join(parts), subjects=subjects, stage=config.run.stage)


def _save(
    run: Path,
    net: LcaNet,
    optimiser,
    config: TrainConfig,
    state: TrainState,
    record: TrainingRecord,
    code: str,
) -> None:
    """Rank 0 writes the resumable state and the checkpoint; every rank waits for it."""
    if distributed.is_main():
        save_state(run, net, optimiser, config, state)
        done = dataclasses.replace(record, samples=state.samples, steps=state.step)
        save_checkpoint(run / CHECKPOINT_FILE, net, done, code)
        rows = "".join(f"{s},{v:.6f}\n" for s, v in state.losses)
        atomic_write_bytes(run / "losses.csv", ("step,loss\n" + rows).encode())
    distributed.barrier()


def _writer(run: Path):
    """A TensorBoard writer into ``run/logs``."""
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(run / "logs"))
