from pathlib import Path

import pytest

from core.train.config import DataConfig, LossConfig, OptimConfig, RunConfig, TrainConfig


@pytest.fixture(scope="session")
def shard_dir(anny_body, tmp_path_factory) -> Path:
    """Two synthetic subjects, two body views and a face close-up each, 32 pixels."""
    from core.train.data.synth import SynthSettings, synthesize

    out = tmp_path_factory.mktemp("shards")
    synthesize(anny_body, out, SynthSettings(subjects=2, views=2, size=32, seed=5, gaussians=2000))
    return out


def small_config(train: Path, **optim) -> TrainConfig:
    """A config for tests: 2 subjects a step, 1 photo in, 1 view scored, 300 Gaussians."""
    values = {"steps": 4, "batch": 2, "lr": 3e-3, "warmup": 1, **optim}
    return TrainConfig(
        model="tiny",
        data=DataConfig(train=str(train), target_views=1, template_gaussians=300),
        optim=OptimConfig(**values),
        loss=LossConfig(),
        run=RunConfig(seed=3, log_every=1, save_every=2, device="cpu"),
    )


@pytest.fixture(scope="session")
def video_dir(anny_body, tmp_path_factory) -> Path:
    """The folder `lca data video` makes of tests/core/train/video_clip.py's clip (three
    frames with the person, one without), 20 body-fitting steps on the first frame and 4 on
    each later one."""
    import torch

    from core.commands.main import main
    from tests.core.train.video_clip import write_clip

    root = tmp_path_factory.mktemp("video")
    clip = write_clip(anny_body, root / "clip.mp4")
    threads = torch.get_num_threads()
    try:
        args = ["data", "video", str(clip), "--out", str(root / "folders"), "--size", "192"]
        assert main([*args, "--fit-steps", "20", "--threads", "1"]) == 0
    finally:
        torch.set_num_threads(threads)
    return root / "folders" / "clip"
