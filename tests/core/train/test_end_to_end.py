"""The whole loop through the commands: `lca data synth` makes subjects, `lca train` trains
the tiny network a few steps and writes a checkpoint, and the checkpoint predicts an avatar
from one photo that the .lca file takes (creating through `lca create` with a checkpoint is
tests/core/recon/test_create.py)."""

import pytest

from core.avatar.lca_file import load_lca, save_lca
from core.commands.main import main
from core.model.checkpoint import load_checkpoint
from core.recon.feedforward import feedforward_avatar, view_target
from core.train.data.shards import list_shards, read_shard
from core.train.dataset import load_subject
from tests.core.train.conftest import small_config

CONFIG = """
model = "tiny"
[data]
train = "{train}"
target_views = 1
template_gaussians = 300
[optim]
steps = 2
batch = 1
warmup = 1
[run]
log_every = 1
save_every = 2
device = "cpu"
"""


@pytest.mark.slow
def test_synth_train_and_predict(tmp_path, anny_body, capsys):
    data = tmp_path / "data"
    args = ["--out", str(data), "--subjects", "2", "--views", "2", "--size", "32"]
    args += ["--gaussians", "2000"]
    assert main(["data", "synth", *args, "--seed", "40"]) == 0
    assert len(list_shards(data)) == 2
    config = tmp_path / "tiny.toml"
    config.write_text(CONFIG.format(train=data))
    run = tmp_path / "run"
    assert main(["train", "--config", str(config), "--out", str(run)]) == 0
    assert "Trained 2 steps" in capsys.readouterr().out
    assert (run / "logs").is_dir() and (run / "losses.csv").read_text().count("\n") == 3
    net, header = load_checkpoint(run / "checkpoint.safetensors")
    assert header.config.name == "tiny" and header.training.steps == 2

    path = list_shards(data)[0]
    subject = load_subject(anny_body, path, small_config(data).data, 0)
    photo = view_target(read_shard(path).view(0, subject.vertices))
    avatar = feedforward_avatar(net, subject.template, [photo])
    save_lca(avatar, tmp_path / "me.lca")
    assert load_lca(tmp_path / "me.lca").count == 300

    # Resuming the finished run with another config is refused in one sentence.
    config.write_text(CONFIG.format(train=data).replace("steps = 2", "steps = 3"))
    assert main(["train", "--config", str(config), "--resume", str(run)]) == 2
    assert "another config" in capsys.readouterr().err
