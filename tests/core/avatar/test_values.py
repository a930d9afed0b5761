"""Avatar values: one check of finite, renderable values, shared by load, save and Blender;
avatars with no Gaussians are refused by render and export-ply in one sentence."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from core.avatar.lca_file import load_lca, save_lca
from core.avatar.values import (
    MAX_ABS_LOG_SCALE,
    MAX_ABS_VALUE,
    avatar_problem,
    require_gaussians,
)
from core.commands.main import main
from core.errors import LcaError, LcaFileError
from core.posing import avatar_scene, export_avatar_ply
from core.render import render
from core.render.named_views import camera_for
from tests.core.avatar.test_lca_file import edit_tensors
from tests.synthetic import tiny_avatar


def with_values(avatar, vertices=1.0, offset=None, log_scale=None):
    """``avatar`` with its vertices scaled and offsets/log-scales set to +-value."""
    b = avatar.binding
    b = dataclasses.replace(
        b,
        offset=b.offset if offset is None else b.offset.sign() * offset,
        log_scale=b.log_scale if log_scale is None else torch.full_like(b.log_scale, log_scale),
    )
    return dataclasses.replace(
        avatar, binding=b, canonical_vertices=avatar.canonical_vertices * vertices
    )


@pytest.mark.parametrize(
    ("name", "value", "word"),
    [
        ("binding.log_scale", 100.0, "beyond +-20"),
        ("body.canonical_vertices", 1e30, "beyond +-10000"),
        ("binding.offset", 3e38, "beyond +-10000"),
        ("binding.sh", float("nan"), "non-finite"),
    ],
)
def test_load_refuses_values_too_large_to_render(tmp_path, one_sentence, name, value, word):
    path = tmp_path / "a.lca"
    save_lca(tiny_avatar(n=16), path)

    def edit(tensors):
        tensors[name][0] = value

    path.write_bytes(edit_tensors(path.read_bytes(), edit))
    with pytest.raises(LcaFileError) as info:
        load_lca(path)
    one_sentence(info.value, path)
    assert word in str(info.value) and name in str(info.value)


def test_the_same_check_refuses_saving(tmp_path):
    avatar = with_values(tiny_avatar(n=8), log_scale=MAX_ABS_LOG_SCALE * 2)
    assert "binding.log_scale" in avatar_problem(avatar)
    with pytest.raises(ValueError, match="too large to render"):
        save_lca(avatar, tmp_path / "a.lca")


def test_values_at_the_bounds_load_pose_render_and_export(tmp_path):
    """The bounds are safe: the largest allowed values still render finite passes."""
    for log_scale in (MAX_ABS_LOG_SCALE, -MAX_ABS_LOG_SCALE):
        avatar = with_values(
            tiny_avatar(n=32), vertices=MAX_ABS_VALUE, offset=MAX_ABS_VALUE, log_scale=log_scale
        )
        save_lca(avatar, tmp_path / "big.lca")
        avatar = load_lca(tmp_path / "big.lca")
        scene = avatar_scene(avatar)
        for spec in ("front", "orbit:30:20"):
            camera = camera_for(spec, scene.means, avatar.binding.part, avatar.part_names, 32, 32)
            result = render(scene, camera, background=(0.0, 0.0, 0.0), backend="torch")
            assert bool(torch.isfinite(result.rgb).all() and torch.isfinite(result.depth).all())
        export_avatar_ply(avatar, tmp_path / "big.ply")


def test_real_avatar_values_lie_far_inside_the_bounds():
    avatar = tiny_avatar(n=256)
    assert avatar_problem(avatar) is None
    assert float(avatar.binding.log_scale.abs().max()) < MAX_ABS_LOG_SCALE / 4


def empty_avatar(path):
    avatar = tiny_avatar(n=0)
    save_lca(avatar, path)
    return path


def test_an_empty_avatar_loads_but_cannot_be_rendered(tmp_path, one_sentence):
    path = empty_avatar(tmp_path / "empty.lca")
    avatar = load_lca(path)
    assert avatar.count == 0
    with pytest.raises(LcaError) as info:
        require_gaussians(avatar, str(path))
    one_sentence(info.value, path)
    assert "no Gaussians" in str(info.value)


@pytest.mark.parametrize("command", ["render", "export-ply", "info"])
def test_commands_on_an_empty_avatar(tmp_path, capsys, command):
    path = empty_avatar(tmp_path / "empty.lca")
    argv = {
        "render": ["render", str(path), "--out", str(tmp_path / "frames"), "--size", "16x16"],
        "export-ply": ["export-ply", str(path), "-o", str(tmp_path / "e.ply")],
        "info": ["info", str(path)],
    }[command]
    code = main(argv)
    err = capsys.readouterr().err
    if command == "info":
        assert code == 0
    else:
        assert code == 2 and "no Gaussians" in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "e.ply").exists()
