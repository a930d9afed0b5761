"""core/commands/create_options.py: the options ``lca create`` and ``blender -c lca create``
share, the output check, torch's threads for a job, and the preview both commands write."""

import argparse
from pathlib import Path

import pytest
import torch

from core.commands import create_options as create_command
from core.create_settings import CreateSettings
from core.errors import LcaError
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


def test_output_is_checked_in_one_sentence(tmp_path):
    with pytest.raises(LcaError, match=r"must be a \.lca file"):
        create_command.check_output(tmp_path / "me.ply")
    folder = tmp_path / "folder.lca"
    folder.mkdir()
    with pytest.raises(LcaError, match="is a folder"):
        create_command.check_output(folder)
    create_command.check_output(tmp_path / "me.lca")


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


def test_the_options_are_the_settings_both_commands_hand_over():
    """Every option of the shared parser but the photos and the output is a CreateSettings
    field, and every field is an option, so both commands and the Blender job hand over the
    same settings."""
    import dataclasses

    args = parse("a.jpg", "-o", "a.lca", "--allow-mixed", "--seed", "3", "--threads", "2")
    fields = {f.name for f in dataclasses.fields(CreateSettings)}
    assert set(vars(args)) - {"photos", "output"} == fields
    settings = CreateSettings.from_args(args)
    assert settings == CreateSettings(seed=3, allow_mixed=True, threads=2)
    assert CreateSettings.from_args(parse("a.jpg", "-o", "a.lca")) == CreateSettings()
    network = parse("a.jpg", "-o", "a.lca", "--method", "auto", "--checkpoint", "m.safetensors")
    assert CreateSettings.from_args(network) == CreateSettings(
        method="auto", checkpoint=Path("m.safetensors")
    )


def test_check_output_refuses_a_preview_name_the_file_system_cannot_take(tmp_path):
    """NAME.preview.png is 8 bytes longer than NAME.lca: a 250-byte NAME.lca is legal, its
    preview is not, and that is said before the long work (the Blender job may skip the
    preview)."""
    output = tmp_path / ("p" * 246 + ".lca")
    with pytest.raises(LcaError, match="shorter name"):
        create_command.check_output(output)
    create_command.check_output(output, preview=False)
    create_command.check_output(tmp_path / ("p" * 239 + ".lca"))
    assert list(tmp_path.iterdir()) == []
