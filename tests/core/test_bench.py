"""`lca bench create` prints seconds per stage (no timing is asserted)."""

from __future__ import annotations

from core.commands.main import main
from core.recon import create


def test_bench_create_prints_every_stage(anny_body, monkeypatch, tmp_path, capsys):
    tiny = create.Quality(count=1_000, appearance_steps=2, body_steps=10, size=96)
    monkeypatch.setitem(create.QUALITIES, "draft", tiny)
    monkeypatch.setattr(create, "_body_model", lambda device: anny_body)
    monkeypatch.chdir(tmp_path)  # the sample photo goes to out/bench here
    assert main(["bench", "create", "--quality", "draft", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("create draft"))
    for stage in ("load", "perceive", "body", "appearance", "score", "self view"):
        assert stage in line, line
    assert (tmp_path / "out" / "bench" / "sample_front.png").exists()
