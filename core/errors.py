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
