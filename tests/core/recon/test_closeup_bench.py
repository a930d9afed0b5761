"""The close-up benchmark's scores (core.recon.closeup_bench): the face close-up is also
scored over the head alone, so a shirt that differs below the chin does not count there."""

import dataclasses
import math

import torch

from core.body.parts import in_parts
from core.recon.closeup_bench import HEAD_PARTS, close_up_scores
from core.render.sh import SH_C0


def _recoloured(avatar, parts, colour):
    """``avatar`` with the Gaussians of ``parts`` painted ``colour``."""
    which = in_parts(avatar.binding.part, avatar.part_names, parts)
    sh = avatar.binding.sh.clone()
    sh[which, 0] = (torch.tensor(colour) - 0.5) / SH_C0
    return dataclasses.replace(avatar, binding=dataclasses.replace(avatar.binding, sh=sh))


def test_the_head_score_leaves_out_the_shirt_and_sees_the_face(subject):
    same = {s.view: s.psnr for s in close_up_scores(subject, subject, size=128)}
    assert set(same) == {"face", "face.head", "hand.L", "hand.R"}
    assert all(math.isinf(v) for v in same.values())

    shirt = {
        s.view: s
        for s in close_up_scores(
            subject, _recoloured(subject, ("torso",), (0.1, 0.9, 0.1)), size=128
        )
    }
    assert shirt["face"].psnr < 20.0  # the shirt fills the bottom of the face close-up
    assert shirt["face.head"].psnr > shirt["face"].psnr + 10.0

    head = {
        s.view: s
        for s in close_up_scores(
            subject, _recoloured(subject, HEAD_PARTS, (0.1, 0.9, 0.1)), size=128
        )
    }
    assert head["face.head"].psnr < head["face"].psnr < 20.0
