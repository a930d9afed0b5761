"""Training on CPU with the micro network of tests/core/model (all in well under a minute)."""

import dataclasses
import math
from pathlib import Path

import pytest
import torch

from core.errors import LcaError
from core.model.checkpoint import load_checkpoint
from core.train import loop
from core.train.dataset import load_subject
from core.train.loop import Interrupted, accumulate_gradients, train, train_step
from tests.core.model.micro import MICRO, micro_anchors, micro_net
from tests.core.train.conftest import small_config


@pytest.fixture(scope="module")
def subjects(anny_body, shard_dir):
    from core.train.data.shards import list_shards

    config = small_config(shard_dir)
    return [
        load_subject(anny_body, p, config.data, config.run.seed) for p in list_shards(shard_dir)
    ]


@pytest.fixture(scope="module")
def anchors(anny_body):
    return micro_anchors(anny_body)


def _net(anny_body, anchors):
    return micro_net(anny_body, anchors)


def test_one_step_lowers_the_loss(anny_body, anchors, subjects, shard_dir):
    config = small_config(shard_dir, lr=1e-2, warmup=0)
    net = _net(anny_body, anchors)
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-2)
    cpu = torch.device("cpu")
    before, norm, used = train_step(net, optimiser, subjects, config, 0, cpu)
    assert used == 2 and norm > 0
    net.zero_grad()
    after, _ = accumulate_gradients(net, subjects, config, 0, cpu)  # the same samples again
    assert after < before


def test_resume_after_ctrl_c_reproduces_the_loss_sequence(anny_body, shard_dir, tmp_path):
    config = small_config(shard_dir, steps=2, batch=1)
    config = dataclasses.replace(config, run=dataclasses.replace(config.run, save_every=1))
    whole = train(config, tmp_path / "whole", anny_body, net_config=MICRO)
    assert [s for s, _ in whole.state.losses] == [1, 2]

    def ctrl_c_after_one(stage, fraction):
        if stage == "training" and fraction >= 0.5:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted, match="after step 1"):
        train(config, tmp_path / "cut", anny_body, net_config=MICRO, progress=ctrl_c_after_one)
    resumed = train(config, tmp_path / "cut", anny_body, resume=True, net_config=MICRO)
    assert resumed.state.losses == whole.state.losses  # exactly the same numbers
    a = load_checkpoint(whole.checkpoint)[0].state_dict()
    b = load_checkpoint(resumed.checkpoint)[0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    header = load_checkpoint(resumed.checkpoint)[1]
    assert header.training.steps == 2 and header.training.samples == 2

    other = small_config(shard_dir, steps=2, batch=1, lr=1e-4)
    with pytest.raises(LcaError, match="another config"):
        train(other, tmp_path / "cut", anny_body, resume=True, net_config=MICRO)
    with pytest.raises(LcaError, match="already holds a run"):
        train(config, tmp_path / "cut", anny_body, net_config=MICRO)


def test_a_nan_loss_stops_and_keeps_the_last_good_state(
    anny_body, shard_dir, tmp_path, monkeypatch
):
    config = small_config(shard_dir, steps=3, batch=1)
    config = dataclasses.replace(config, run=dataclasses.replace(config.run, save_every=1))
    real = loop.sample_loss
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        loss, parts = real(*args, **kwargs)
        calls["n"] += 1
        return (loss * math.nan if calls["n"] > 1 else loss), parts  # NaN from step 2

    monkeypatch.setattr(loop, "sample_loss", poisoned)
    with pytest.raises(LcaError, match="NaN at step 2") as err:
        train(config, tmp_path / "run", anny_body, net_config=MICRO)
    assert "(step 1)" in str(err.value)
    header = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")[1]
    assert header.training.steps == 1


def test_one_step_trains_the_pose_correction_of_a_posed_subject(anny_body, anchors, subjects):
    """The correction MLP starts at zero (its last layer); the subjects are posed, so the
    loss reaches it and one step moves that layer's weights off zero."""
    assert all(bool(s.shard.rotations.any()) for s in subjects)
    config = small_config(Path("unused"), lr=1e-2, warmup=0)
    net = _net(anny_body, anchors)
    last = net.correction.mlp.fc2
    assert not last.weight.any() and not last.bias.any()
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-2)
    train_step(net, optimiser, subjects, config, 0, torch.device("cpu"))
    assert float(last.weight.detach().abs().max()) > 0  # (its bias cancels: zero at rest)
