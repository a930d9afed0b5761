"""core/avatar/avatar.py: a GaussianBinding checks its shapes and dtypes when it is built."""

import dataclasses

import numpy as np
import pytest
import torch

from core.avatar.avatar import GaussianBinding
from core.errors import LcaError
from tests.synthetic import tiny_avatar


@pytest.fixture
def binding() -> GaussianBinding:
    return tiny_avatar(n=12, sh_degree=2).binding


def _one_sentence(err: LcaError) -> None:
    message = str(err)
    assert "\n" not in message and message.endswith(".") and ". " not in message, message


def test_a_valid_binding_builds_and_knows_its_degree(binding):
    assert binding.count == 12 and binding.sh_degree == 2
    for k, degree in ((1, 0), (4, 1), (9, 2), (16, 3)):
        assert dataclasses.replace(binding, sh=torch.zeros(12, k, 3)).sh_degree == degree
    empty = {name: getattr(binding, name)[:0] for name in ("triangle", "barycentric", "offset")}
    rest = ("rotation", "log_scale", "opacity_logit", "sh", "part")
    assert GaussianBinding(**empty, **{n: getattr(binding, n)[:0] for n in rest}).count == 0


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("barycentric", torch.zeros(11, 3), "barycentric has shape (11, 3), not (N, 3)"),
        ("offset", torch.zeros(12, 2), "offset has shape (12, 2), not (N, 3)"),
        ("rotation", torch.zeros(12, 3), "not (N, 4)"),
        ("opacity_logit", torch.zeros(12, 1), "not (N,)"),
        ("part", torch.zeros(13, dtype=torch.int64), "part has shape (13,)"),
        ("sh", torch.zeros(12, 5, 3), "K in 1, 4, 9, 16"),
        ("sh", torch.zeros(12, 4), "K in 1, 4, 9, 16"),
        ("triangle", torch.zeros(12, 1, dtype=torch.int64), "triangle has shape (12, 1)"),
    ],
)
def test_inconsistent_shapes_are_refused(binding, name, value, words):
    with pytest.raises(LcaError) as info:
        dataclasses.replace(binding, **{name: value})
    assert words in str(info.value)
    _one_sentence(info.value)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("triangle", torch.zeros(12), "triangle has dtype torch.float32; it must be an integer"),
        ("part", torch.zeros(12, dtype=torch.bool), "must be an integer"),
        ("offset", torch.zeros(12, 3, dtype=torch.int64), "must be a floating-point"),
        ("sh", torch.zeros(12, 1, 3, dtype=torch.int32), "must be a floating-point"),
    ],
)
def test_wrong_dtypes_are_refused(binding, name, value, words):
    with pytest.raises(LcaError) as info:
        dataclasses.replace(binding, **{name: value})
    assert words in str(info.value)
    _one_sentence(info.value)


def test_arrays_that_are_not_tensors_are_refused(binding):
    with pytest.raises(LcaError, match="offset is a ndarray; pass a torch tensor"):
        dataclasses.replace(binding, offset=np.zeros((12, 3), np.float32))
