"""The first frame of a scan from the image each open start would make.

Pure numpy, no I/O. Where no blanked frame marks either end of a scan, the ``extra``
frames beyond whole rows of ``nx`` lie before or after it, and the start is one of
``0 .. extra``. A start ``k`` frames off shifts the image ``k`` positions along the rows,
and the ``k`` positions it pushes over the row's edge land in the next row, one row
out of place:

* plain rows: the fly-back (the step from a row's last frame to the next row's first)
  lands inside the image, in place of the sample's own step between two columns;
* a snake: the row's turn lands inside it, the previous row's first frames mirrored
  in front of the row, a row out of place (its rows roll by ``2 k`` more);
* winding ``"y"``: for an odd ``k`` every column trades places with its neighbour,
  flipped upside down; for an even ``k`` the columns pushed over the edge come from
  the row above where they are not wound and the row below where they are.

So for every open start the image (at the roll of ``rolls`` that fits it best, for a
winding scan) is scored by how far each position lies from its right and lower
neighbours, row by row; the start with the lowest score must beat every other, each by
the paired signed-rank test over the rows (:func:`~.alignment.paired_confidence`,
Bonferroni over the other starts), at ``DECIDE_CONFIDENCE`` or more, and score at least
``MIN_GAP`` lower in all: else undecided.
A sample whose left and right borders look alike and whose parked probe matches the
frames around it (a uniform background) gives every start the same image: undecided.
The cost is ``starts x rolls x frames`` distances: the rows compared are cut to keep it
below ``MAX_WORK`` (winding ``"y"`` needs whole columns: undecided beyond).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intake_tvips.maths.alignment import paired_confidence
from intake_tvips.maths.scan import ScanMap

#: the start is decided at this confidence or more (the paired test's, Bonferroni over
#: the other starts)
DECIDE_CONFIDENCE = 0.9
#: the smoothest image must also score this much (relative) below every other start's:
#: noise-free diagonal waves under a snake look alike from every start with the roll
#: following it, and a start a frame late scored 0.4 % lower in all rows, decided at
#: 0.995 (fresh seed 53, case 75); the right starts decided over seeds 44-46 scored
#: 1.5 % lower or more
MIN_GAP = 0.01
#: rows compared at least (each a sample of the paired test)
MIN_ROWS = 8
#: positions scored at most over all starts and rolls (about a second on a loaded
#: machine: a snake of 96 x 96 with 11 frames beyond whole rows scores 2.8 million)
MAX_WORK = 2**23


@dataclass(frozen=True)
class ImageStart:
    """The start the image tells (``None``: undecided), the test's ``confidence``, the
    ``runner_up`` start, the ``rows`` compared and ``why`` (words)."""

    start: int | None
    confidence: float
    runner_up: int | None
    rows: int
    why: str


def start_by_image(
    z: np.ndarray, nx: int, winding: str | None, extra: int, rolls=(0,)
) -> ImageStart:
    """Which of the starts ``0 .. extra`` makes the smoothest image of the features
    ``z`` (one row per frame from the earliest start on) in rows of ``nx`` (module
    text). ``rolls``: the hysteresis values tried for a winding scan. Winding ``"y"``
    needs the whole scan in ``z`` (its rows then are ``(len(z) - extra) // nx``)."""
    rolls = tuple(rolls) if winding else (0,)
    rows = (z.shape[0] - extra) // nx
    if winding != "y":
        rows = min(rows, MAX_WORK // max(1, (extra + 1) * len(rolls) * nx))
    elif (extra + 1) * len(rolls) * rows * nx > MAX_WORK:
        return ImageStart(None, 0.0, None, rows, "too many starts and rolls to compare")
    if not 0 < extra < nx or rows < MIN_ROWS:
        return ImageStart(None, 0.0, None, rows, f"{rows} rows and {extra} frames to place")
    positions = np.arange(rows * nx)
    grids = [ScanMap((rows, nx), 0, winding, h).frames(positions).reshape(rows, nx) for h in rolls]
    scores = np.stack([_best_roll(z, grids, s) for s in range(extra + 1)])
    totals = scores.sum(axis=1)
    best = int(np.argmin(totals))
    valid = np.ones(scores.shape, dtype=bool)[:, None, :]
    conf, rival = paired_confidence(scores[:, None, :], valid, best, segment=1)
    gap = float(np.min(np.delete(totals, best)) / max(totals[best], 1e-300) - 1)
    if conf < DECIDE_CONFIDENCE or gap < MIN_GAP:
        why = (
            f"no start among 0..{extra} makes a clearly smoother image (confidence "
            f"{conf:.2f}, {gap:.1%} smoother)"
        )
        return ImageStart(None, conf, rival, rows, why)
    why = (
        f"the image of {rows} rows is smoother from start {best} than from any other "
        f"among 0..{extra} (confidence {conf:.2f})"
    )
    return ImageStart(best, conf, rival, rows, why)


def _best_roll(z: np.ndarray, grids: list[np.ndarray], start: int) -> np.ndarray:
    """Per row, :func:`row_scores` of the image from ``start`` at the roll whose image
    scores lowest in all (``grids``: the frames of each roll's image from start 0)."""
    best = None
    for grid in grids:
        scores = row_scores(z[grid + start])
        if best is None or scores.sum() < best.sum():
            best = scores
    return best


def row_scores(image: np.ndarray) -> np.ndarray:
    """``(rows,)``: per row of ``image`` ``(rows, columns, features)``, the squared
    distances of its positions from their right neighbours and from the positions below
    (none below the last row)."""
    across = ((image[:, 1:] - image[:, :-1]) ** 2).sum(axis=(1, 2))
    down = ((image[1:] - image[:-1]) ** 2).sum(axis=(1, 2))
    across[:-1] += down
    return across
