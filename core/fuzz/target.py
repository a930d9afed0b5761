"""What every fuzz target provides: seeded cases and a reader to try them on."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class FuzzTarget(Protocol):
    """One reader of user input under fuzzing.

    name: the target's name in tables and in ``out/fuzz/<name>-<case>.bin``.
    suffix: the file suffix the reader expects (".lca", ".ply", ".json").
    """

    name: str
    suffix: str

    def make_case(self, rng: random.Random) -> bytes:
        """A mutated input, from ``rng`` alone (one seed, one case)."""
        ...

    def check(self, path: Path) -> None:
        """Read ``path`` as a user's input would be read, and use the result.

        Returns for a valid input; raises the project's LcaError for a refused one; anything
        else raised (including AssertionError from a broken promise about a valid result)
        is a bug the harness reports.
        """
        ...


@dataclass(frozen=True)
class Outcomes:
    """Counts of cases per outcome for one target."""

    target: str
    valid: int = 0
    refused: int = 0
    other: int = 0

    @property
    def cases(self) -> int:
        return self.valid + self.refused + self.other
