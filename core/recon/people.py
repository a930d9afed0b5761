"""Finding every person in a photo, although MediaPipe Pose reports one person per call.

Three signals, each measured on ../shared/photos (see docs/recon.md):

1. Pose, then hide that person (their segmentation and a margin around their landmarks,
   painted gray) and run Pose again, until it finds nobody. A further find counts as a person
   only if its seen landmarks span at least ``OTHER_PERSON_MIN_RATIO`` of the tallest find's
   height: this drops the Great Dane standing up beside the woman (0.51 of her height), while
   the other soccer players and cyclists span 0.81 to 1.0 of the tallest one's.
2. Faces (FaceDetection, full-range model): two children in a close-up give two faces but
   Pose finds only one child; faces narrower than ``FACE_MIN_RATIO`` of the widest are
   ignored as background. Faces are never seen from behind, so they only add to the count.
3. Tiles: where Pose finds nobody in the whole photo, small people are searched for in
   overlapping square crops (crop-and-retry). A tile find must look like a whole person
   (``TILE_MIN_SEEN`` of 33 landmarks seen, mean visibility ``TILE_MIN_VISIBILITY``),
   because tiles of a legs-only photo produce a partial false find (27 seen, mean 0.79).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import Box, Window, tiles
from .landmarkers import Landmarkers, PoseHit

#: A landmark with at least this visibility counts as seen.
SEEN = 0.5
#: A further person must span this fraction of the tallest person's seen height.
OTHER_PERSON_MIN_RATIO = 0.6
#: Faces narrower than this fraction of the widest face are not counted.
FACE_MIN_RATIO = 0.35
#: Tiles are squares of this fraction of the photo's shorter side, overlapping by half.
TILE_FRACTION = 0.5
#: A find inside a tile counts only with this many landmarks seen inside the tile ...
TILE_MIN_SEEN = 30
#: ... and this mean visibility over all 33 landmarks.
TILE_MIN_VISIBILITY = 0.85
#: Pose is run at most this many times on one photo while hiding people.
MAX_PEOPLE = 6
_GRAY = 128


@dataclass(frozen=True)
class Candidate:
    """One person found by Pose.

    Attributes:
        hit: what Pose returned for them (landmarks in photo pixels, mask over the photo).
        box: box of their seen landmarks (visibility >= SEEN, inside the photo).
        extent: ``box`` joined with the box of their mask (> 0.5): on small people Pose may
            misplace the legs while the mask still reaches the feet.
    """

    hit: PoseHit
    box: Box
    extent: Box


def extent_box(box: Box, mask: np.ndarray) -> Box:
    """``box`` joined with the box of ``mask`` > 0.5 (mask: (H, W) float32)."""
    rows = np.flatnonzero((mask > 0.5).any(axis=1))
    cols = np.flatnonzero((mask > 0.5).any(axis=0))
    if rows.size == 0:
        return box
    return box.union(Box(float(cols[0]), float(rows[0]), cols[-1] + 1.0, rows[-1] + 1.0))


def seen_box(points: np.ndarray, window: Window) -> Box | None:
    """Box of the landmarks (points: (L, 4) x, y, z, visibility) seen inside ``window``."""
    x, y, visibility = points[:, 0], points[:, 1], points[:, 3]
    inside = (x >= window.x0) & (x < window.x0 + window.width)
    inside &= (y >= window.y0) & (y < window.y0 + window.height)
    seen = inside & (visibility >= SEEN)
    return Box.of_points(points[seen, :2]) if seen.sum() >= 2 else None


def find_people(rgb: np.ndarray, models: Landmarkers) -> list[Candidate]:
    """People in ``rgb`` ((H, W, 3) uint8), ordered left to right by their box centres."""
    people = _hide_and_repeat(rgb, models) or _search_tiles(rgb, models)
    return sorted(people, key=lambda person: person.box.center[0])


def count_faces(rgb: np.ndarray, models: Landmarkers) -> int:
    """Faces in ``rgb`` at least FACE_MIN_RATIO as wide as the widest one."""
    widths = [box.width for box in models.faces(rgb)]
    return sum(width >= FACE_MIN_RATIO * max(widths) for width in widths)


def hide(rgb: np.ndarray, people: list[Candidate], keep: Candidate | None = None) -> np.ndarray:
    """A copy of ``rgb`` with ``people`` painted gray (mask, landmarks and a margin), except
    where ``keep`` is (their grown mask and seen box), so that a neighbour's margin does not
    hide a leg of the person kept."""
    shape = rgb.shape[:2]
    cover = np.zeros(shape, dtype=bool)
    for person in people:
        cover |= _cover(person, shape, margin=True)
    if keep is not None:
        cover &= ~_cover(keep, shape, margin=False)
    image = rgb.copy()
    image[cover] = _GRAY
    return image


def _hide_and_repeat(rgb: np.ndarray, models: Landmarkers) -> list[Candidate]:
    whole = Window.whole(rgb.shape)
    image, found = rgb, []
    for _ in range(MAX_PEOPLE):
        hit = models.pose(image, whole)
        box = None if hit is None else seen_box(hit.body.points, whole)
        if box is None:
            break
        found.append(Candidate(hit=hit, box=box, extent=extent_box(box, hit.mask)))
        image = hide(image, found[-1:])
    if not found:
        return []
    tallest = max(person.box.height for person in found)
    return [person for person in found if person.box.height >= OTHER_PERSON_MIN_RATIO * tallest]


def _search_tiles(rgb: np.ndarray, models: Landmarkers) -> list[Candidate]:
    found: list[Candidate] = []
    for window in tiles(rgb.shape, TILE_FRACTION):
        hit = models.pose(rgb, window)
        if hit is None or not _whole_person(hit, window):
            continue
        box = seen_box(hit.body.points, window)
        if box is not None and all(box.overlap(other.box) < 0.5 for other in found):
            found.append(Candidate(hit=hit, box=box, extent=extent_box(box, hit.mask)))
    return found


def _whole_person(hit: PoseHit, window: Window) -> bool:
    points = hit.body.points
    x, y = points[:, 0] - window.x0, points[:, 1] - window.y0
    inside = (x >= 0) & (x < window.width) & (y >= 0) & (y < window.height)
    seen = int((inside & (points[:, 3] >= SEEN)).sum())
    return seen >= TILE_MIN_SEEN and float(points[:, 3].mean()) >= TILE_MIN_VISIBILITY


def _cover(person: Candidate, shape: tuple[int, int], margin: bool) -> np.ndarray:
    """(H, W) bool: the person's mask (grown a little) and their seen box (with a margin)."""
    import cv2

    height, width = shape
    grow = max(3, int(0.015 * max(height, width))) | 1
    mask = (person.hit.mask > 0.2).astype(np.uint8)
    cover = cv2.dilate(mask, np.ones((grow, grow), np.uint8)).astype(bool)
    box = person.box
    if margin:
        box = box.expanded(0.15 * box.width + 0.02 * width, 0.1 * box.height + 0.02 * height)
    rows = slice(max(0, int(box.y0)), max(0, int(np.ceil(box.y1))))
    cols = slice(max(0, int(box.x0)), max(0, int(np.ceil(box.x1))))
    cover[rows, cols] = True
    return cover
