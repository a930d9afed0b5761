"""core/create_settings.py: one CreateSettings for every creation, checked when made."""

import argparse
from pathlib import Path

import pytest

from core.create_settings import DEVICES, QUALITIES, CreateSettings, check_threads
from core.errors import LcaError
from core.recon import create


def test_names_are_those_of_create_avatar():
    assert QUALITIES == tuple(create.QUALITIES)
    assert DEVICES == create.DEVICES


def test_defaults():
    settings = CreateSettings()
    assert (settings.quality, settings.device, settings.seed, settings.person) == (
        "standard",
        "auto",
        0,
        None,
    )
    assert not settings.allow_partial and not settings.allow_mixed and settings.threads is None
    assert settings.method == "fit" and settings.checkpoint is None


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"quality": "ultra"}, "Unknown quality 'ultra'; choose draft, standard, high."),
        ({"device": "tpu"}, "Unknown device 'tpu'; choose auto, cpu or cuda."),
        ({"threads": 0}, "--threads must be 1 or more, not 0."),
        ({"method": "network"}, "Unknown method 'network'; choose fit, feedforward, auto."),
        ({"checkpoint": Path("lca.ckpt")}, "The method 'fit' takes no checkpoint"),
    ],
)
def test_bad_settings_are_refused_in_one_sentence(values, needle):
    with pytest.raises(LcaError) as info:
        CreateSettings(**values)
    message = str(info.value)
    assert message.startswith(needle) and message.count(". ") == 0 and message.endswith(".")


def test_check_threads():
    with pytest.raises(LcaError, match="--threads must be 1 or more, not 0"):
        check_threads(0)
    check_threads(None)
    check_threads(1)


def test_from_args_keeps_the_defaults_of_options_a_command_lacks():
    """`lca demo` has only --quality, --seed and --threads (and options of its own)."""
    args = argparse.Namespace(quality="draft", seed=2, threads=None, out="out/demo", frames=24)
    assert CreateSettings.from_args(args) == CreateSettings(quality="draft", seed=2)
    with pytest.raises(LcaError, match="quality"):
        CreateSettings.from_args(argparse.Namespace(quality="ultra"))
