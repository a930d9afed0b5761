"""Errors a user sees.

Every exception raised for bad input carries one sentence that names the input and says
what to do. The CLI prints that sentence and exits with code 2; the add-on reports it.
"""


class LcaError(Exception):
    """A user-facing error; ``str(err)`` is one sentence naming the input and the fix."""


class LcaFileError(LcaError):
    """A `.lca` (or other avatar) file is missing, corrupt, tampered with or unsupported."""


class BodyModelError(LcaError):
    """A body model cannot be built (missing licensed file, unknown name, bad parameter)."""


class OutputError(LcaError):
    """An output location cannot be written."""


def one_line(text: str, limit: int = 600) -> str:
    """``text`` with control characters escaped and cut at ``limit`` characters: what the CLI
    prints of an error, so that it is one line whatever a message holds."""
    return quoted(text, limit)[1:-1]


def quoted(value: object, limit: int = 40) -> str:
    """``value`` as text fit to echo in an error sentence, in single quotes: control
    characters (and lone surrogates) escaped, and shortened with an ellipsis past ``limit``
    characters, so that a user's 4,000-digit number or a binary name cannot swamp the line.
    Paths may use a larger ``limit`` (such as :data:`PATH_LIMIT`)."""
    text = str(value)
    cleaned = "".join(
        ch
        if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF
        else ch.encode("unicode_escape", "backslashreplace").decode("ascii")
        for ch in text
    )
    if len(cleaned) > limit:
        head = max(limit - 3, 1)
        cleaned = cleaned[:head] + "..."
    return f"'{cleaned}'"


PATH_LIMIT = 120
"""How many characters of a path an error sentence echoes (:func:`quoted`)."""
