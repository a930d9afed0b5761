"""``core.errors``: what an error sentence may echo of a user's input."""

from core.errors import PATH_LIMIT, one_line, quoted


def test_quoted_bounds_and_quotes():
    assert quoted("front") == "'front'"
    long = quoted("9" * 4000)
    assert len(long) == 42 and long.endswith("...'")
    assert len(quoted("p" * 4000, PATH_LIMIT)) == PATH_LIMIT + 2


def test_quoted_escapes_control_characters_and_surrogates():
    text = quoted("a\nb\x1b[31m\ud800")
    assert text == "'a\\nb\\x1b[31m\\ud800'"
    assert text.isprintable()


def test_one_line_keeps_a_sentence_whole_but_on_one_line():
    assert one_line("A sentence.") == "A sentence."
    assert "\n" not in one_line("two\nlines") and len(one_line("x" * 10_000)) == 600
