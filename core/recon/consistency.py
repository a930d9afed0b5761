"""Do several photos show the same person? Compare the colours they give the same body.

After body fitting, Gaussians are seeded on the fitted body and each photo colours the ones
it sees (as appearance fitting does: facing the camera, unoccluded, inside the person mask).
Where two photos see the same Gaussians, photos of one person agree on their colours (the
same clothes, skin and hair); photos of different people mostly do not. The score of a pair
is the median over the Gaussians both see of the mean absolute RGB difference (sRGB, 0..1).

Measured (150 body steps, 6,000 Gaussians, crops of 192 px; docs/recon.md):
    same person: the sample person front + three-quarter 0.013, front + left side 0.043 (50
    Gaussians seen by both), a photo and its mirror image 0.027;
    different people: t-shirt man + hoodie man 0.139, + suit man 0.129, + side-view woman
    0.147, suit man + baseball batter 0.601, sample person + 3D-render woman 0.201.
Body shape fitted one photo at a time did not separate them (the same sample person from
the front and the left differed by 0.16 of a shape range, two different men by 0.03).
Normalising each photo's brightness first made it worse (the hoodie man fell to 0.064).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from ..body.model import BodyModel
from ..deform.template import make_starter_avatar
from .fit_types import BodyFit
from .views import ViewTarget, sample_image, visibility

COLOUR_DISAGREEMENT = 0.09
"""Pairs of photos scoring above this are taken to show different people."""
MIN_COMMON = 100
"""Pairs that see fewer Gaussians in common (a front and a back photo) are not judged."""
COUNT = 6_000
SIZE = 192
"""Longer side in pixels of the crops the photos are compared in (the views handed to
:func:`colour_disagreement`)."""
FACING = 0.4
"""A photo colours the Gaussians facing it at least this much (cos), as measured above."""


@dataclass(frozen=True)
class Disagreement:
    """score: the largest pair score (0 when no pair could be judged); pair: the indices of
    the photos of that pair, or None; common: how many Gaussians both of them see."""

    score: float
    pair: tuple[int, int] | None
    common: int


def colour_disagreement(
    body: BodyModel, fit: BodyFit, views: Sequence[ViewTarget], backend: str = "torch"
) -> Disagreement:
    """The most disagreeing pair of the fit's photos (module docstring).

    views: the fit's photos cropped to SIZE pixels, one per view in view order
    (``core.recon.views.prepare_views(body, fit, SIZE)``, or ``crop_views``)."""
    seeded = make_starter_avatar(body, count=COUNT, seed=0, shape=fit.shape)
    colours, seen = [], []
    for view in views:
        device = view.vertices.device
        binding = seeded.binding.to(device=device)
        vis = visibility(binding, seeded.faces.to(device), view, backend)
        seen.append((vis.unoccluded & (vis.facing >= FACING) & vis.in_mask).cpu())
        colours.append(sample_image(view.rgb, vis.pixels).cpu())
    worst = Disagreement(0.0, None, 0)
    for a, b in combinations(range(len(colours)), 2):
        both = seen[a] & seen[b]
        common = int(both.sum())
        if common < MIN_COMMON:
            continue
        score = float((colours[a][both] - colours[b][both]).abs().mean(-1).median())
        if score > worst.score:
            worst = Disagreement(score, (a, b), common)
    return worst


def disagrees(result: Disagreement) -> bool:
    """True if the photos seem to show different people."""
    return result.score > COLOUR_DISAGREEMENT
