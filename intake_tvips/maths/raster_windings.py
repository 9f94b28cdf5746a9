"""Which windings rows of a given length may have, from the steps between frames.

Pure numpy, no I/O. Winding ``"y"`` (every second column reversed along y) alternates
two rows of the sample, far apart at the scan's start: the steps from frame to frame
alternate in direction from column to column (:func:`alternation`). A plain raster's
steps follow a smooth row and do not.
"""

from __future__ import annotations

import numpy as np

#: the steps' alternation (:func:`alternation`) above which rows wind along y, and
#: below which they are plain (where the noise hides both: 1)
Y_ALTERNATION = 2.0
PLAIN_ALTERNATION = 1.25
#: ... and below which a plain raster is sure (between: its confidence at most a half)
SURE_PLAIN = 0.7


def families(z: np.ndarray, nx: int) -> list:
    """The windings that rows of ``nx`` frames, alike one row apart, may have: ``None``
    (a plain raster) or ``"y"`` (every second column reversed along y: consecutive
    frames alternate between two rows of the sample far apart at the scan's start, so
    the steps from frame to frame alternate in direction from column to column), by
    :func:`alternation`; both where it cannot tell."""
    q = alternation(z, nx)
    if q < PLAIN_ALTERNATION:
        return [None]
    return ["y"] if q > Y_ALTERNATION else [None, "y"]


def alternation(z: np.ndarray, nx: int) -> float:
    """How much the mean step from frame to frame alternates from one column to the
    next: ``|M_c - M'_c+1|²`` over ``|M_c + M'_c+1|²``, with ``M`` the mean steps per
    column over every second row of a block and ``M'`` over the others (disjoint frames:
    noise weighs alike above and below, about 1 where it hides all), the column with
    the largest step (a row's break) and the one before left out; at most over blocks
    of a quarter of the rows (winding ``"y"`` alternates most where its two rows of the
    sample lie far apart, which a hysteresis roll moves). Small for a plain raster's
    smooth rows, large for winding ``"y"``."""
    steps = z[1:] - z[:-1]
    rows = steps.shape[0] // nx
    if rows < 4:
        return 1.0
    block = max(4, rows // 4)
    return max(
        _alternation(steps[first * nx : (first + block) * nx].reshape(block, nx, -1))
        for first in range(0, rows - block + 1, block)
    )


def _alternation(grid: np.ndarray) -> float:
    """:func:`alternation` of one block: ``(rows, nx, features)`` steps."""
    even, odd = grid[0::2].mean(axis=0), grid[1::2].mean(axis=0)
    both = even + odd
    keep = np.ones(grid.shape[1], dtype=bool)
    top = int(np.argmax(np.einsum("ij,ij->i", both, both)))
    keep[[top, (top - 1) % keep.size]] = False
    apart = together = 0.0
    for first, second in ((even, odd), (odd, even)):
        after = np.roll(second, -1, axis=0)
        apart += float(((first - after) ** 2)[keep].sum())
        together += float(((first + after) ** 2)[keep].sum())
    return apart / max(together, 1e-300)
