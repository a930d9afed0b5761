import dataclasses

import pytest
import torch

from core.avatar.lca_file import load_lca, save_lca
from core.avatar.values import avatar_problem
from core.errors import LcaError
from core.model.anchors import anchor_weights, farthest_points
from core.model.config import SIZES, ModelConfig, model_config
from core.model.network import predict_avatar
from core.render.sh import SH_C0


def test_the_prediction_is_a_valid_avatar_through_the_lca_file(net, template, views, tmp_path):
    with torch.no_grad():
        for p in net.decoder.parameters():  # a trained-looking decoder, not the zero start
            p.add_(0.3 * torch.randn_like(p))
    avatar = predict_avatar(net, template, views[:1])
    assert avatar_problem(avatar) is None
    assert avatar.count == template.count
    save_lca(avatar, tmp_path / "a.lca")
    loaded = load_lca(tmp_path / "a.lca")
    for field in dataclasses.fields(avatar.binding):
        torch.testing.assert_close(
            getattr(loaded.binding, field.name), getattr(avatar.binding, field.name)
        )


def test_untrained_it_keeps_the_template_with_the_photo_colours(net, template, views):
    with torch.no_grad():
        prediction = net(template, views[:1])
    b, t = prediction.binding, template.binding
    torch.testing.assert_close(b.offset, t.offset)
    torch.testing.assert_close(b.log_scale, t.log_scale)
    torch.testing.assert_close(b.opacity_logit, t.opacity_logit)
    seen = prediction.seen > 0
    assert 0.2 < float(seen.float().mean()) < 0.8  # a front view sees the front only
    unseen = ~seen
    torch.testing.assert_close(b.sh[unseen], t.sh[unseen])
    # The photo is a render of the template, so where seen, the colours are near its own.
    error = ((b.sh[seen, 0] - t.sh[seen, 0]) * SH_C0).abs().mean()
    assert float(error) < 0.08


def test_any_number_of_photos(net, template, views):
    with torch.no_grad():
        for p in net.decoder.parameters():
            p.add_(0.3 * torch.randn_like(p))
        one = net(template, views[:1]).binding
        three = net(template, views).binding
    assert not torch.allclose(one.sh, three.sh)
    with pytest.raises(ValueError, match="at least one"):
        net(template, [])


def test_gradients_reach_every_part(net, template, views):
    with torch.no_grad():
        for p in net.decoder.mlp.fc2.parameters():
            p.add_(0.1 * torch.randn_like(p))
    prediction = net(template, views[:2])
    loss = prediction.binding.sh.square().mean() + prediction.binding.offset.square().mean()
    loss.backward()
    for name in ("encoder.embed.weight", "anchor_embed", "cross_blocks.0.attn.q.weight"):
        grad = dict(net.named_parameters())[name].grad
        assert grad is not None and float(grad.abs().sum()) > 0, name


def test_the_pose_correction_is_zero_at_the_canonical_pose(net, template, views, anny_body):
    with torch.no_grad():
        for p in net.correction.parameters():
            p.add_(0.5 * torch.randn_like(p))
        prediction = net(template, views[:1])
        J, E = len(anny_body.bone_names), len(anny_body.expression_names)
        rest = net.pose_correction(prediction, torch.zeros(1, J, 3), torch.zeros(1, E))
        posed = net.pose_correction(prediction, 0.3 * torch.ones(2, J, 3), torch.zeros(2, E))
    assert tuple(rest.shape) == (1, template.count, 3)
    assert float(rest.abs().max()) == 0.0
    assert float(posed.abs().max()) > 0.0


def test_anchors_are_deterministic_and_spread(template):
    points = template.canonical_vertices
    a, b = farthest_points(points, 64), farthest_points(points, 64)
    assert torch.equal(a, b) and len(set(a.tolist())) == 64
    spacing = torch.cdist(points[a], points[a]) + 10 * torch.eye(64)
    assert float(spacing.min()) > 0.05  # metres: no two anchors bunch up on a 1.7 m body
    index, weight = anchor_weights(points[:10], points[a], 4)
    assert index.shape == (10, 4)
    torch.testing.assert_close(weight.sum(-1), torch.ones(10))


def test_named_sizes():
    assert list(SIZES) == ["tiny", "small", "base", "large"]
    widths = [model_config(n).width for n in SIZES]
    assert widths == sorted(widths)
    config = model_config("tiny")
    assert ModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(LcaError, match="Unknown model size"):
        model_config("huge")
    with pytest.raises(ValueError, match="divide"):
        dataclasses.replace(config, heads=5)
