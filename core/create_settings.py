"""The settings of one avatar creation, as every caller hands them over.

``lca create``, ``lca eval``, ``lca demo``, ``blender -c lca create`` (``lca blender create``)
and the Blender extension's Create Avatar job all make one :class:`CreateSettings` and hand
it to ``core.recon.create.create_avatar`` (or ``core.recon.evaluate.evaluate``,
``core.demo.run_demo``). Importing this module imports neither torch nor bpy, so Blender can
make the settings before torch is installed.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from .errors import LcaError

QUALITIES = ("draft", "standard", "high")
"""The names of the quality presets, ``core.recon.create.QUALITIES`` (a test checks that they
agree)."""

DEVICES = ("auto", "cpu", "cuda")
"""The devices a creation can run on ("auto": the CUDA GPU where there is one, else the CPU)."""

METHODS = ("fit", "feedforward", "auto")
"""How the avatar is made: "fit" fits the body and then the Gaussians to the photos
(``core.recon``); "feedforward" predicts the Gaussians on the fitted body with the LCA
network in one pass (``core.model``); "auto" refines the network's prediction with a third
of the preset's appearance steps. Without a usable checkpoint the network methods fall back
to "fit" and say so."""


def check_threads(threads: int | None) -> None:
    """Refuse a thread count below 1 (None: torch's choice)."""
    if threads is not None and threads < 1:
        raise LcaError(f"--threads must be 1 or more, not {threads}.")


@dataclass(frozen=True)
class CreateSettings:
    """How to make an avatar from photos.

    quality: one of QUALITIES ("draft", "standard", "high"); device: one of DEVICES; seed:
    seeds the Gaussians and the fitting; person: which person to take in photos showing
    several (0 = leftmost; None: a photo must show one person); allow_partial: accept a person
    whose head or feet are cut off; allow_mixed: skip the check that several photos show one
    person; threads: torch's CPU threads for the job (None: torch's choice), set by the caller
    (the command, or the Blender job for its own duration); method: one of METHODS;
    checkpoint: the trained network a network method reads (None for "fit", which needs none).

    Bad values are refused when the settings are made (LcaError, one sentence).
    """

    quality: str = "standard"
    device: str = "auto"
    seed: int = 0
    person: int | None = None
    allow_partial: bool = False
    allow_mixed: bool = False
    threads: int | None = None
    method: str = "fit"
    checkpoint: Path | None = None

    def __post_init__(self) -> None:
        if self.quality not in QUALITIES:
            raise LcaError(f"Unknown quality '{self.quality}'; choose {', '.join(QUALITIES)}.")
        if self.device not in DEVICES:
            raise LcaError(f"Unknown device '{self.device}'; choose auto, cpu or cuda.")
        check_threads(self.threads)
        if self.method not in METHODS:
            raise LcaError(f"Unknown method '{self.method}'; choose {', '.join(METHODS)}.")
        if self.checkpoint is not None and self.method == "fit":
            raise LcaError(
                f"The method 'fit' takes no checkpoint (given '{self.checkpoint}'); leave the "
                "checkpoint out."
            )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CreateSettings:
        """The settings among a command's parsed options (``--quality`` -> quality, and so
        on); a setting the command has no option for keeps its default here (``lca eval``
        has no --allow-mixed, ``lca demo`` only --quality, --seed and --threads)."""
        given = vars(args)
        return cls(**{f.name: given[f.name] for f in dataclasses.fields(cls) if f.name in given})
