"""Training from video folders (core.train.video_subjects): the cross-frame samples, the
[data] video key, and a training step that lowers the loss (micro network, CPU)."""

import dataclasses
import json
import math
import shutil

import pytest
import torch

from core.errors import LcaError
from core.render.camera import project_points
from core.train.config import DataConfig, config_from_dict
from core.train.dataset import draw_samples
from core.train.loop import accumulate_gradients, load_subjects, train_step
from core.train.video_subjects import load_video_subject
from tests.core.model.micro import micro_anchors, micro_net
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


def test_shards_and_videos_mix_in_one_step(anny_body, shard_dir, video_dir):
    config = small_config(shard_dir, batch=3)  # every subject in the one step
    config = dataclasses.replace(
        config, data=dataclasses.replace(config.data, video=(str(video_dir),))
    )
    subjects = load_subjects(config, anny_body)
    assert [type(s).__name__ for s in subjects] == ["Subject", "Subject", "VideoSubject"]
    net = micro_net(anny_body, micro_anchors(anny_body))
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-3)
    loss, norm, used = train_step(net, optimiser, subjects, config, 0, torch.device("cpu"))
    assert used == 3 and math.isfinite(loss) and norm > 0


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


def test_video_frames_are_scored_inside_the_person_mask(subject, video_dir):
    from core.model.network import Prediction
    from core.train.config import LossConfig
    from core.train.dataset import Sample
    from core.train.losses import sample_loss

    config = DataConfig(train="", video=(str(video_dir),), target_views=2)
    sample = draw_samples([subject], config, seed=1, step=0, batch=1)[0]
    n = subject.template.binding.sh.shape[0]
    prediction = Prediction(subject.template.binding, torch.zeros(n, 1), torch.ones(n, 1), None)
    loss, parts = sample_loss(prediction, sample, LossConfig())
    # another background outside the mask changes nothing; a change on the person does
    outside = [
        dataclasses.replace(t, rgb=torch.where(t.weight[..., None] > 0, t.rgb, 1 - t.rgb))
        for t in sample.targets
    ]
    moved, _ = sample_loss(
        prediction, dataclasses.replace(sample, targets=tuple(outside)), LossConfig()
    )
    assert float(moved) == pytest.approx(float(loss), abs=1e-6)
    inside = [dataclasses.replace(t, rgb=1 - t.rgb) for t in sample.targets]
    changed, _ = sample_loss(
        prediction, Sample(subject, sample.inputs, tuple(inside)), LossConfig()
    )
    assert abs(float(changed) - float(loss)) > 0.01
