"""core/progress.py: the Progress callback and StageLine, which closes its line on exit."""

import io

import pytest

from core.progress import StageLine, no_progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_progress_shows_nothing():
    assert no_progress("load", 0.5) is None


def test_a_line_per_quarter_off_a_terminal():
    stream = io.StringIO()
    with StageLine(stream) as progress:
        for i in range(11):
            progress("fitting body", i / 10)
        progress("appearance", 0.0)
    assert stream.getvalue().splitlines() == [
        "fitting body         0%",
        "fitting body        30%",
        "fitting body        50%",
        "fitting body        80%",
        "fitting body       100%",
        "appearance           0%",
    ]


def test_on_a_terminal_the_line_is_ended_on_exit_also_on_an_error():
    stream = Terminal()
    with pytest.raises(KeyboardInterrupt):
        with StageLine(stream) as progress:
            progress("load", 0.5)
            raise KeyboardInterrupt
    assert stream.getvalue() == "\rload                50%\n"
    with StageLine(stream):  # nothing shown: nothing to end
        pass
    assert stream.getvalue().endswith("50%\n")
