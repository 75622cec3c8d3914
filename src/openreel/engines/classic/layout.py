"""Placing N rectangles of given aspect ratios on a canvas without overlap."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class Placement:
    cell: Rect  # the grid cell
    item: Rect  # the item fitted (aspect kept) and centred in its cell


def _fit(aspect: float, cell_w: float, cell_h: float) -> tuple[float, float]:
    w = min(cell_w, cell_h * aspect)
    return w, w / aspect


def grid_layout(
    canvas: tuple[int, int],
    aspects: list[float],
    margin: tuple[float, float],
    gap: float,
    rows: int | None = None,
) -> list[Placement]:
    """Lay ``aspects`` (width / height) out on a grid inside ``canvas`` = (width, height).

    ``margin`` = (horizontal, vertical) around the grid and ``gap`` between cells are in
    pixels. Unless ``rows`` is given, the row count maximising the smallest item's shorter side
    is chosen. Items fill the grid row by row; a short last row is centred.
    """
    count = len(aspects)
    if count == 0:
        return []
    width, height = canvas
    inner_w, inner_h = width - 2 * margin[0], height - 2 * margin[1]

    def cells(n_rows: int) -> tuple[int, float, float]:
        n_cols = math.ceil(count / n_rows)
        cell_w = (inner_w - gap * (n_cols - 1)) / n_cols
        cell_h = (inner_h - gap * (n_rows - 1)) / n_rows
        return n_cols, cell_w, cell_h

    def score(n_rows: int) -> float:
        _, cell_w, cell_h = cells(n_rows)
        if cell_w <= 0 or cell_h <= 0:
            return -1.0
        return min(min(_fit(a, cell_w, cell_h)) for a in aspects)

    n_rows = rows if rows is not None else max(range(1, count + 1), key=score)
    n_rows = max(1, min(count, n_rows))
    n_cols, cell_w, cell_h = cells(n_rows)
    n_rows = math.ceil(count / n_cols)  # drop rows left empty
    grid_h = n_rows * cell_h + gap * (n_rows - 1)
    top = (height - grid_h) / 2

    placements: list[Placement] = []
    for index, aspect in enumerate(aspects):
        row, col = divmod(index, n_cols)
        in_row = min(n_cols, count - row * n_cols)
        row_w = in_row * cell_w + gap * (in_row - 1)
        left = (width - row_w) / 2
        cell = Rect(left + col * (cell_w + gap), top + row * (cell_h + gap), cell_w, cell_h)
        item_w, item_h = _fit(aspect, cell_w, cell_h)
        item = Rect(cell.cx - item_w / 2, cell.cy - item_h / 2, item_w, item_h)
        placements.append(Placement(cell, item))
    return placements
