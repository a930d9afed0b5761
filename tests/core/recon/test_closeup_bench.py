"""The close-up benchmark's scores (core.recon.closeup_bench): the face close-up is also
scored over the head alone, so a shirt that differs below the chin does not count there."""

import dataclasses
import math

import pytest
import torch

from core.body.parts import in_parts
from core.recon.closeup_bench import HEAD_PARTS, close_up_scores, face_error_by_part
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


def test_the_face_error_by_part_finds_the_part_that_differs(subject):
    same = face_error_by_part(subject, subject, size=128)
    assert all(row.share == 0.0 and math.isinf(row.psnr) for row in same)
    shirt = face_error_by_part(subject, _recoloured(subject, ("torso",), (0.1, 0.9, 0.1)), 128)
    assert shirt[0].part == "torso" and shirt[0].share > 0.9
    assert sum(row.share for row in shirt) == pytest.approx(1.0)
    assert {row.part for row in shirt} >= {"torso", "head"}
    assert next(r for r in shirt if r.part == "head").psnr > shirt[0].psnr + 10.0
