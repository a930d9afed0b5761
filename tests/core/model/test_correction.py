"""core/model/correction.py: the correction MLP as the avatar stores it
(core.avatar.pose_correction) gives the network's own offsets."""

import torch

from core.avatar.lca_file import load_lca, save_lca
from core.avatar.pose_correction import correction_offsets
from core.model.correction import stored_correction
from core.model.network import predict_avatar


def test_the_stored_correction_gives_the_networks_offsets(net, template, views, anny_body):
    torch.manual_seed(1)
    with torch.no_grad():
        for p in net.correction.parameters():  # a trained-looking MLP, not the zero start
            p.add_(0.5 * torch.randn_like(p))
        prediction = net(template, views[:1])
        J, E = len(anny_body.bone_names), len(anny_body.expression_names)
        rotations = 0.4 * torch.randn(3, J, 3)
        expression = torch.rand(3, E)
        want = net.pose_correction(prediction, rotations, expression)
    stored = stored_correction(net.correction, prediction.anchor_index, prediction.anchor_weight)
    got = correction_offsets(stored, rotations, expression)
    assert float(want.abs().max()) > 1e-3
    torch.testing.assert_close(got, want, atol=1e-6, rtol=0)


def test_the_predicted_avatar_carries_it_through_the_lca_file(net, template, views, tmp_path):
    with torch.no_grad():
        for p in net.correction.parameters():
            p.add_(0.5 * torch.randn_like(p))
    avatar = predict_avatar(net, template, views[:1])
    c = avatar.correction
    assert c is not None and c.count == template.count
    assert (c.bones, c.expressions, c.anchors) == (
        net.correction.bones,
        net.correction.expressions,
        net.config.anchors,
    )
    save_lca(avatar, tmp_path / "a.lca")
    back = load_lca(tmp_path / "a.lca").correction
    for name, t in c.tensors().items():
        assert torch.equal(back.tensors()[name], t.float() if t.is_floating_point() else t)
