"""Boxes and windows in photo pixels (x right, y down; pixel centres at integer + 0.5)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in photo pixels, x0 <= x1 and y0 <= y1."""

    x0: float
    y0: float
    x1: float
    y1: float

    @classmethod
    def of_points(cls, points: np.ndarray) -> Box:
        """The smallest box holding ``points``: (N, 2) x, y with N >= 1."""
        low, high = points.min(axis=0), points.max(axis=0)
        return cls(float(low[0]), float(low[1]), float(high[0]), float(high[1]))

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)

    def expanded(self, margin_x: float, margin_y: float) -> Box:
        """The box grown by ``margin_x`` pixels left and right and ``margin_y`` up and down."""
        return Box(self.x0 - margin_x, self.y0 - margin_y, self.x1 + margin_x, self.y1 + margin_y)

    @property
    def area(self) -> float:
        return self.width * self.height

    def intersection(self, other: Box) -> float:
        """Area shared with ``other``."""
        width = min(self.x1, other.x1) - max(self.x0, other.x0)
        height = min(self.y1, other.y1) - max(self.y0, other.y0)
        return max(width, 0.0) * max(height, 0.0)

    def overlap(self, other: Box) -> float:
        """Intersection over the smaller box's area, in [0, 1] (1: one holds the other)."""
        smaller = min(self.area, other.area)
        return self.intersection(other) / smaller if smaller > 0 else 0.0

    def union(self, other: Box) -> Box:
        """The smallest box holding both."""
        return Box(
            min(self.x0, other.x0), min(self.y0, other.y0),
            max(self.x1, other.x1), max(self.y1, other.y1),
        )  # fmt: skip


@dataclass(frozen=True)
class Window:
    """A whole-pixel rectangle of the photo that a model is run on (x0, y0 its top-left)."""

    x0: int
    y0: int
    width: int
    height: int

    @classmethod
    def whole(cls, shape: tuple[int, ...]) -> Window:
        """The whole photo; ``shape`` is (H, W, ...)."""
        return cls(0, 0, int(shape[1]), int(shape[0]))

    @classmethod
    def around(cls, box: Box, shape: tuple[int, ...], fill: float) -> Window:
        """A square window in which ``box``'s longer side spans ``fill`` of the side.

        Centred on the box, then shifted (and if need be clipped) to lie inside the photo.
        """
        height, width = int(shape[0]), int(shape[1])
        side = min(max(box.width, box.height) / fill, max(height, width))
        side_x, side_y = min(math.ceil(side), width), min(math.ceil(side), height)
        cx, cy = box.center
        x0 = int(min(max(round(cx - side_x / 2), 0), width - side_x))
        y0 = int(min(max(round(cy - side_y / 2), 0), height - side_y))
        return cls(x0, y0, side_x, side_y)

    def cut(self, image: np.ndarray) -> np.ndarray:
        """This window of ``image`` (H, W, ...) as a C-contiguous array."""
        rows = slice(self.y0, self.y0 + self.height)
        cols = slice(self.x0, self.x0 + self.width)
        return np.ascontiguousarray(image[rows, cols])

    def paste(self, target: np.ndarray, values: np.ndarray) -> None:
        """Write ``values`` (height, width, ...) into this window of ``target`` (H, W, ...)."""
        target[self.y0 : self.y0 + self.height, self.x0 : self.x0 + self.width] = values


def tiles(shape: tuple[int, ...], fraction: float) -> list[Window]:
    """Square windows of side ``fraction`` * the shorter side, overlapping by half, covering
    the photo of ``shape`` (H, W, ...)."""
    height, width = int(shape[0]), int(shape[1])
    side = max(1, int(min(height, width) * fraction))
    return [
        Window(x0, y0, side, side) for y0 in _starts(height, side) for x0 in _starts(width, side)
    ]


def _starts(length: int, side: int) -> list[int]:
    step = max(1, side // 2)
    starts = list(range(0, max(1, length - side + 1), step))
    if starts[-1] + side < length:
        starts.append(length - side)
    return starts
