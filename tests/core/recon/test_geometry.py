"""Boxes and windows: the pixel bookkeeping between crops and the whole photo."""

import numpy as np
import pytest

from core.recon.geometry import Box, Window, tiles


def test_box_measures():
    box = Box(10, 20, 40, 100)
    assert (box.width, box.height, box.area, box.center) == (30, 80, 2400, (25, 60))
    assert Box.of_points(np.array([[40, 20], [10, 100], [25, 50]])) == box
    assert box.expanded(5, 10) == Box(5, 10, 45, 110)
    assert box.union(Box(0, 50, 20, 120)) == Box(0, 20, 40, 120)


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        (Box(10, 20, 40, 100), 1.0),  # the same box
        (Box(15, 30, 25, 40), 1.0),  # inside: all of the smaller one is shared
        (Box(25, 20, 55, 100), 0.5),  # half shifted out
        (Box(40, 20, 70, 100), 0.0),  # touching edges only
        (Box(100, 100, 120, 120), 0.0),  # apart
    ],
)
def test_overlap_is_over_the_smaller_box(other, expected):
    box = Box(10, 20, 40, 100)
    assert box.overlap(other) == pytest.approx(expected)
    assert other.overlap(box) == pytest.approx(expected)


def test_window_cut_and_paste_round_trip():
    image = np.arange(6 * 8 * 3, dtype=np.uint8).reshape(6, 8, 3)
    window = Window(2, 1, 4, 3)
    cut = window.cut(image)
    assert cut.shape == (3, 4, 3) and cut.flags.c_contiguous
    assert np.array_equal(cut, image[1:4, 2:6])
    target = np.zeros_like(image)
    window.paste(target, cut)
    assert np.array_equal(target[1:4, 2:6], cut) and target.sum() == cut.sum()
    assert Window.whole(image.shape) == Window(0, 0, 8, 6)


def test_window_around_centres_the_box_with_the_asked_fill():
    window = Window.around(Box(400, 300, 460, 420), (1000, 1000, 3), fill=0.6)
    assert window.width == window.height == 200  # 120 / 0.6
    assert (window.x0 + window.width / 2, window.y0 + window.height / 2) == (430, 360)


def test_window_around_is_shifted_and_clipped_into_the_photo():
    near_corner = Window.around(Box(0, 0, 50, 60), (1000, 800, 3), fill=0.5)
    assert (near_corner.x0, near_corner.y0, near_corner.width) == (0, 0, 120)
    too_big = Window.around(Box(0, 0, 700, 900), (1000, 800, 3), fill=0.5)
    assert too_big == Window(0, 0, 800, 1000)


@pytest.mark.parametrize("shape", [(721, 1080), (1600, 1068), (512, 512), (300, 2000)])
def test_tiles_cover_the_photo_with_half_overlap(shape):
    windows = tiles(shape, 0.5)
    covered = np.zeros(shape, dtype=int)
    for window in windows:
        assert window.width == window.height == int(min(shape) * 0.5)
        assert window.x0 >= 0 and window.x0 + window.width <= shape[1]
        assert window.y0 >= 0 and window.y0 + window.height <= shape[0]
        covered[window.y0 : window.y0 + window.height, window.x0 : window.x0 + window.width] += 1
    assert covered.min() >= 1
    # Because tiles overlap by half, any square up to half a tile's side lies whole inside
    # one tile: a person that small in the photo is seen uncut by some tile.
    half = windows[0].width // 2
    rng = np.random.default_rng(0)
    for _ in range(200):
        x0 = int(rng.integers(0, shape[1] - half + 1))
        y0 = int(rng.integers(0, shape[0] - half + 1))
        assert any(
            w.x0 <= x0
            and x0 + half <= w.x0 + w.width
            and w.y0 <= y0
            and y0 + half <= w.y0 + w.height
            for w in windows
        )
