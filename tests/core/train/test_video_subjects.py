"""Training from video folders (core.train.video_subjects): the cross-frame samples, the
[data] video key, and a training step that lowers the loss (micro network, CPU)."""

import dataclasses
import json
import shutil

import pytest
import torch

from core.errors import LcaError
from core.render.camera import project_points
from core.train.config import DataConfig, config_from_dict
from core.train.dataset import draw_samples
from core.train.loop import accumulate_gradients, load_subjects, train, train_step
from core.train.state import load_state
from core.train.video_subjects import load_video_subject
from tests.core.model.micro import MICRO, micro_anchors, micro_net
from tests.core.train.conftest import small_config


def video_config(video_dir, **optim):
    config = small_config(video_dir, **optim)
    data = dataclasses.replace(config.data, train="", video=(str(video_dir),))
    return dataclasses.replace(config, data=data)


@pytest.fixture(scope="module")
def subject(anny_body, video_dir):
    return load_video_subject(anny_body, video_dir, video_config(video_dir).data)


def test_a_sample_predicts_from_one_frame_and_scores_in_others(subject, video_dir):
    assert tuple(subject.vertices.shape[:1]) == (3,)  # the three labelled frames
    config = DataConfig(train="", video=(str(video_dir),), input_views=1, target_views=5)
    sample = draw_samples([subject], config, seed=0, step=0, batch=1)[0]
    assert len(sample.inputs) == 1 and len(sample.targets) == 2  # all the other frames
    photo = sample.inputs[0]
    assert all(t.weight is not None and t.vertices is not photo.vertices for t in sample.targets)
    for view in (photo, *sample.targets):
        # each frame's body, posed as fitted there and seen by its camera, lies in its mask
        pixels = project_points(view.camera, view.vertices[::20], min_depth=1e-6)[0]
        x, y = pixels.round().long().unbind(-1)
        inside = (x >= 0) & (x < 128) & (y >= 0) & (y < 192)
        assert float(view.mask[y[inside], x[inside]].mean()) > 0.6
    assert float((photo.rgb * (1 - photo.mask[..., None])).mean()) > 0.2  # background kept


def test_one_step_lowers_the_cross_frame_loss(anny_body, subject, video_dir):
    config = video_config(video_dir, lr=1e-2, warmup=0, batch=1)
    net = micro_net(anny_body, micro_anchors(anny_body))
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-2)
    cpu = torch.device("cpu")
    before, norm, used = train_step(net, optimiser, [subject], config, 0, cpu)
    assert used == 1 and norm > 0
    net.zero_grad()
    after, _ = accumulate_gradients(net, [subject], config, 0, cpu)  # the same sample again
    assert after < before


def test_mixed_runs_and_resumes(anny_body, shard_dir, video_dir, tmp_path):
    config = small_config(shard_dir, steps=1, batch=3)  # every subject in the one step
    config = dataclasses.replace(
        config, data=dataclasses.replace(config.data, video=(str(video_dir),))
    )
    subjects = load_subjects(config, anny_body)
    assert [type(s).__name__ for s in subjects] == ["Subject", "Subject", "VideoSubject"]
    result = train(config, tmp_path / "run", anny_body, net_config=MICRO)
    assert [s for s, _ in result.state.losses] == [1] and result.state.samples == 3
    net = micro_net(anny_body, micro_anchors(anny_body))
    optimiser = torch.optim.AdamW(net.parameters())
    assert load_state(tmp_path / "run", net, optimiser, config).step == 1  # same config


def test_the_video_key(video_dir):
    config = config_from_dict({"data": {"train": "", "video": [str(video_dir)]}})
    assert config.data.video == (str(video_dir),)
    assert json.loads(json.dumps(config.to_dict())) == config.to_dict()
    assert config_from_dict(config.to_dict()) == config
    older = config_from_dict({"data": {"train": "data/synth"}}).to_dict()
    del older["data"]["video"]  # a state saved before the key existed
    assert config_from_dict(older).data.video == ()
    with pytest.raises(LcaError, match="data.train or data.video"):
        config_from_dict({"data": {"train": ""}})
    with pytest.raises(LcaError, match="data.video must be a list of strings"):
        config_from_dict({"data": {"video": "one/folder"}})


def test_a_folder_with_one_fitted_frame_is_refused(anny_body, video_dir, tmp_path):
    copy = tmp_path / "clip"
    shutil.copytree(video_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    for frame in (1, 2):
        (copy / "labels" / f"{frame:06d}.safetensors").unlink()
    skipped = manifest["skipped"] + [{"frame": f, "reason": "test"} for f in (1, 2)]
    manifest.update(labelled=[0], skipped=skipped)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(LcaError, match="needs at least 2"):
        load_video_subject(anny_body, copy, DataConfig(template_gaussians=300))
