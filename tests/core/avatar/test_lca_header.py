"""The `.lca` header: read within memory bounds, every string valid Unicode."""

from __future__ import annotations

import dataclasses
import struct

import pytest

from core.avatar.lca_file import save_lca
from core.commands.main import main
from tests.core.avatar.test_lca_file import edit_lca_header, expect_bad


def test_lone_surrogates_in_the_header_are_refused(tmp_path, good, one_sentence):
    for changes in ({"metadata": {"name": "\ud800"}}, {"part_names": ["\udfff"] * 4}):
        (tmp_path / "s.lca").write_bytes(edit_lca_header(good[1], **changes))
        expect_bad(tmp_path / "s.lca", one_sentence, "corrupt")
    avatar = dataclasses.replace(good[0], metadata={"name": "\ud800"})
    with pytest.raises(ValueError, match="not valid Unicode"):
        save_lca(avatar, tmp_path / "t.lca")


def test_info_of_a_surrogate_name_is_one_sentence(tmp_path, good, capsys):
    (tmp_path / "s.lca").write_bytes(edit_lca_header(good[1], metadata={"name": "\ud800"}))
    assert main(["info", str(tmp_path / "s.lca")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_large_header_is_refused_before_it_is_parsed(tmp_path, monkeypatch, one_sentence):
    from core.avatar import lca_header

    raw = b"[" + b"[]," * ((lca_header.MAX_HEADER_BYTES + 8) // 3) + b"[]]"
    (tmp_path / "big.lca").write_bytes(struct.pack("<Q", len(raw)) + raw)
    monkeypatch.setattr(lca_header, "_parse_json", None)  # calling it would raise TypeError
    expect_bad(tmp_path / "big.lca", one_sentence, "header size")
