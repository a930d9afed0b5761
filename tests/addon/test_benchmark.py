"""lca_addon/benchmark.py: the live-link benchmark runs (a smoke test at a tiny count; the
figures come from `lca bench blender`, never asserted here)."""

import pytest

from tests.addon.util import BPY_MISSING

bpy = pytest.importorskip("bpy", reason=BPY_MISSING)


def test_bench_live_link_times_every_part(addon, anny_body):
    benchmark = addon.module("lca_addon.benchmark")
    lines = []
    [result] = benchmark.bench_live_link(counts=(300,), repeats=1, echo=lines.append)
    assert result.count == 300
    names = [part.name for part in result.parts]
    assert names == ["evaluate", "read", "deform", "pack", "upload", "sort", "order"]
    assert all(part.ms > 0 for part in result.parts) and result.frame_ms > 0
    assert result.budget_ratio == pytest.approx(result.frame_ms / 16.0)
    assert lines[0].startswith("machine: ") and "300 Gaussians" in lines[1]
    assert "x of the 16 ms frame" in lines[1]
