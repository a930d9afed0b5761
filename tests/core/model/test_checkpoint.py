import dataclasses
import json

import pytest
import torch

from core.errors import LcaError
from core.model.checkpoint import (
    TrainingRecord,
    load_checkpoint,
    save_checkpoint,
)
from core.model.tensor_file import HEADER_KEY, equal_tensors, read_tensor_file, write_tensor_file

RECORD = TrainingRecord(data="synthetic", subjects=2, samples=8, steps=3, stage="pretrain")


def test_round_trip_is_exact(net, tmp_path):
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p))
    save_checkpoint(tmp_path / "c.safetensors", net, RECORD)
    loaded, header = load_checkpoint(tmp_path / "c.safetensors", expect=net.config)
    assert equal_tensors(dict(loaded.state_dict()), dict(net.state_dict()))
    assert header.config == net.config
    assert header.training == RECORD
    assert header.vertex_count == net.vertex_count
    assert header.code_revision  # a git revision, or "unknown" outside a checkout
    assert list(tmp_path.iterdir()) == [tmp_path / "c.safetensors"]  # nothing half-written


def _rewrite(path, change):
    tensors, header = read_tensor_file(path, "Checkpoint")
    change(tensors, header)
    path.unlink()
    write_tensor_file(path, tensors, header)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t, h: h.update(schema=99), "version '99'"),
        (lambda t, h: h.update(kind="other"), "not an LCA network checkpoint"),
        (lambda t, h: h["config"].update(width=64), "do not fit"),
        (lambda t, h: h["config"].pop("width"), "damaged header"),
        (lambda t, h: t.pop("anchor_embed"), "do not fit"),
        (lambda t, h: t["anchor_embed"].fill_(float("nan")), "NaN"),
    ],
)
def test_bad_checkpoints_are_refused_in_one_sentence(net, tmp_path, change, message):
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, net, RECORD)
    _rewrite(path, change)
    with pytest.raises(LcaError, match=message) as err:
        load_checkpoint(path)
    assert "\n" not in str(err.value)


def test_missing_corrupt_and_mismatched(net, tmp_path):
    with pytest.raises(LcaError, match="does not exist"):
        load_checkpoint(tmp_path / "none.safetensors")
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, net, RECORD)
    data = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(LcaError, match="corrupt"):
        load_checkpoint(tmp_path / "cut.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint at all")
    with pytest.raises(LcaError, match="corrupt"):
        load_checkpoint(tmp_path / "junk.safetensors")
    other = dataclasses.replace(net.config, name="other", depth=2)
    with pytest.raises(LcaError, match="another config"):
        load_checkpoint(path, expect=other)
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, str(tmp_path / "plain.safetensors"), metadata={"a": "b"})
    with pytest.raises(LcaError, match="no LCA header"):
        load_checkpoint(tmp_path / "plain.safetensors")
    assert HEADER_KEY == "lca" and json.loads(json.dumps(RECORD.__dict__))
