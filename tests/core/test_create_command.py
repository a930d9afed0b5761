"""core/create_command.py: the options ``lca create`` and ``blender -c lca create`` share, the
output and thread checks, and the preview both commands write."""

import argparse
from pathlib import Path

import pytest
import torch

from core import create_command
from core.errors import LcaError
from core.recon import create
from tests.synthetic import tiny_avatar


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    create_command.add_create_options(parser)
    return parser.parse_args(list(argv))


def test_options_and_their_defaults():
    args = parse("a.jpg", "b.jpg", "-o", "me.lca")
    assert args.photos == ["a.jpg", "b.jpg"] and args.output == "me.lca"
    assert (args.quality, args.device, args.seed, args.person) == ("standard", "auto", 0, None)
    assert not args.allow_partial and not args.allow_mixed and args.threads is None
    options = "--allow-mixed --allow-partial --threads 2 --quality draft --device cpu --seed 4"
    args = parse("a.jpg", "-o", "me.lca", *options.split(), "--person", "1")
    assert args.allow_mixed and args.allow_partial and args.threads == 2
    assert (args.quality, args.device, args.seed, args.person) == ("draft", "cpu", 4, 1)


def test_choices_are_those_of_create_avatar():
    assert create_command.QUALITIES == tuple(create.QUALITIES)
    assert create_command.DEVICES == create.DEVICES


def test_output_and_threads_are_checked_in_one_sentence(tmp_path):
    with pytest.raises(LcaError, match=r"must be a \.lca file"):
        create_command.check_output(tmp_path / "me.ply")
    folder = tmp_path / "folder.lca"
    folder.mkdir()
    with pytest.raises(LcaError, match="is a folder"):
        create_command.check_output(folder)
    create_command.check_output(tmp_path / "me.lca")
    with pytest.raises(LcaError, match="--threads must be 1 or more, not 0"):
        create_command.check_threads(0)
    create_command.check_threads(None)


def test_torch_threads_are_set_back_after_the_block():
    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    with pytest.raises(RuntimeError, match="inside"):
        with create_command.torch_threads(target):
            assert torch.get_num_threads() == target
            raise RuntimeError("inside")
    assert torch.get_num_threads() == before
    with create_command.torch_threads(None):
        assert torch.get_num_threads() == before


def test_preview_is_the_avatar_from_the_front():
    assert create_command.preview_path(Path("/d/me.lca")) == Path("/d/me.preview.png")
    image = create_command.render_preview(tiny_avatar(n=300, sh_degree=0))
    assert image.mode == "RGBA" and image.size == create_command.PREVIEW_SIZE
    alpha = image.getchannel("A")
    assert alpha.getextrema()[1] > 0 and alpha.getpixel((0, 0)) == 0  # framed, not cropped


def test_the_settings_handed_over_are_create_avatars_keywords_and_options():
    """CREATE_SETTINGS are keyword parameters of create_avatar, and each is an option of the
    shared parser (so both commands and the Blender job hand over the same ones)."""
    import inspect

    from core.create_command import CREATE_SETTINGS, create_settings
    from core.recon.create import create_avatar

    parameters = inspect.signature(create_avatar).parameters
    assert all(parameters[name].kind is inspect.Parameter.KEYWORD_ONLY for name in CREATE_SETTINGS)
    parser = argparse.ArgumentParser()
    create_command.add_create_options(parser)
    args = parser.parse_args(["a.jpg", "-o", "a.lca", "--allow-mixed", "--seed", "3"])
    settings = create_settings(args)
    assert set(settings) == set(CREATE_SETTINGS)
    assert settings["allow_mixed"] is True and settings["seed"] == 3
