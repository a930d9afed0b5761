import pytest
from PIL import Image

from core.avatar.lca_file import load_lca
from core.avatar.ply import read_ply
from core.demo import animation_weights


def test_animation_schedule_covers_every_motion():
    start, end = animation_weights(0.0), animation_weights(1.0)
    assert all(v == 0 for v in start.values())
    assert end["arm-raise"] == 1 and end["finger-curl"] == 1
    peaks = {name: max(animation_weights(i / 100)[name] for i in range(101)) for name in start}
    assert all(p > 0.95 for p in peaks.values()), peaks


def test_small_demo_writes_everything(tmp_path):
    from core.body.anny_body import anny_cache_is_warm
    from core.demo import run_demo

    if not anny_cache_is_warm():
        pytest.skip("Anny's cache is cold; run `make test` (it builds the cache first).")
    result = run_demo(tmp_path, count=4_000, frames=3, size=64, seed=1)
    assert load_lca(result.avatar).count == 4_000
    assert read_ply(result.ply).count == 4_000
    assert len(result.turntable) == 8 and len(result.animation) == 3
    frame = Image.open(result.animation[-1])
    assert frame.size == (96, 64)
    for gif in ("turntable.gif", "animation.gif"):
        assert Image.open(tmp_path / gif).n_frames > 1
    # The avatar is drawn: the full-body panel is not just background.
    pixels = frame.crop((0, 0, 64, 64)).getcolors(64 * 64)
    assert len(pixels) > 10
