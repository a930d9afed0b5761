import pytest
from PIL import Image

from core.avatar.lca_file import load_lca
from core.avatar.ply import read_ply
from core.create_settings import CreateSettings
from core.demo import animation_weights


def test_animation_schedule_covers_every_motion():
    start, end = animation_weights(0.0), animation_weights(1.0)
    assert all(v == 0 for v in start.values())
    assert end["arm-raise"] == 1 and end["finger-curl"] == 1
    peaks = {name: max(animation_weights(i / 100)[name] for i in range(101)) for name in start}
    assert all(p > 0.95 for p in peaks.values()), peaks


def test_small_demo_creates_from_the_sample_photo_and_writes_everything(tmp_path, monkeypatch):
    from core.body.anny_body import anny_cache_is_warm
    from core.demo import run_demo
    from core.recon import create

    if not anny_cache_is_warm():
        pytest.skip("Anny's cache is cold; run `make test` (it builds the cache first).")
    tiny = create.Quality(count=3_000, appearance_steps=5, body_steps=40, size=128)
    monkeypatch.setitem(create.QUALITIES, "draft", tiny)
    stages = []
    settings = CreateSettings(quality="draft", seed=1)
    result = run_demo(
        tmp_path, settings=settings, frames=3, size=64, progress=lambda s, f: stages.append(s)
    )
    # The default input is the project's own sample photo, run through the whole pipeline.
    assert result.photo == tmp_path / "input" / "sample_front.png"
    assert {"sample photo", "perceive", "fitting body", "appearance"} <= set(stages)
    avatar = load_lca(result.avatar)
    assert avatar.count == 3_000 and avatar.metadata["made_by"] == "lca create"
    assert read_ply(result.ply).count == 3_000
    assert [p.name for p in result.posed] == [
        "front.png",
        "three-quarter.png",
        "face.png",
        "hand_L.png",
    ]
    assert len(result.turntable) == 8 and len(result.animation) == 3
    frame = Image.open(result.animation[-1])
    assert frame.size == (96, 64)
    for gif in ("turntable.gif", "animation.gif"):
        assert Image.open(tmp_path / gif).n_frames > 1
    # The avatar is drawn: the full-body panel is not just background.
    pixels = frame.crop((0, 0, 64, 64)).getcolors(64 * 64)
    assert len(pixels) > 10
    comparison = Image.open(result.comparison)
    assert comparison.height == 64 and comparison.width > 64
    assert result.psnr > 12


def test_demo_takes_your_photo(tmp_path, monkeypatch):
    from core.commands.main import main
    from core.demo import run_demo  # noqa: F401 (the import the command makes)

    calls = {}

    def fake_run_demo(out_dir, photo=None, **kwargs):
        calls["photo"] = photo
        raise KeyboardInterrupt  # stop before any work

    monkeypatch.setattr("core.demo.run_demo", fake_run_demo)
    photo = tmp_path / "me.jpg"  # read before the demo starts: it must be a photo
    Image.new("RGB", (300, 400), (200, 180, 160)).save(photo)
    assert main(["demo", "--out", str(tmp_path / "out"), "--photo", str(photo)]) == 130
    assert calls["photo"] == photo


def test_demo_checks_its_photo_before_it_writes(tmp_path, capsys):
    from core.commands.main import main

    assert main(["demo", "--out", str(tmp_path / "out"), "--photo", "me.jpg"]) == 2
    assert "'me.jpg' does not exist" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
