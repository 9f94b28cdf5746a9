"""Two rotator indices that are not RosettaSciIO's running count of scan positions.

Pure numpy over the rotator index of every frame, no I/O; every loop and array is
bounded by the frame count.

* :func:`restarting_rows`: some scan generators write the position within the row,
  ``1 .. nx``, restarting every row, instead of the running position ``1 .. ny * nx``.
  The row length is the spacing of the restarts, the row count how many complete rows
  follow each other. (RosettaSciIO's rule reads only the last row there: with ``nx`` a
  square, a wrong ``sqrt(nx)`` x ``sqrt(nx)`` scan.) The winding cannot be told from it.
* :func:`counts_every_frame`: an index that only counts frames, ``1 .. N`` (or
  ``0 .. N - 1``) from the recording's first frame to its last: no frame before or
  after a scan, so it says nothing of one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: row starts tried as the scan's first row (the earliest ones)
MAX_FIRST_ROWS = 8
#: a counter may have this many frames off the count (or 1 % of them, at most a tenth)
MAX_COUNTER_STRAYS = 4


@dataclass(frozen=True)
class RestartingRows:
    """A scan of ``rows`` x ``row_length`` positions from frame ``start``, one frame each
    in order; ``exact``: how many of its frames carry their position within the row."""

    start: int
    rows: int
    row_length: int
    exact: int
    #: frames of the row before it carry their value: the first row may be a corrupt
    #: one (or junk frames hold a value of the count)
    doubt: bool = False

    @property
    def size(self) -> int:
        """Positions of the scan."""
        return self.rows * self.row_length


def restarting_rows(rotidx) -> RestartingRows | None:
    """The scan of a rotator index that restarts every row (``1 .. nx`` per row), or
    ``None``: fewer than two complete rows of at least two positions.

    The row length is the most common spacing of the row starts (a frame holding 1
    followed by one holding 2); the scan starts at the one of the first
    ``MAX_FIRST_ROWS`` row starts followed by the most rows most of whose frames hold
    ``1 .. nx`` (a few corrupt values pass), and ends with the last such row (a row the
    recording cuts short is dropped; a single row broken by corrupt values between two
    that hold is kept)."""
    r = np.asarray(rotidx, dtype=np.int64).reshape(-1)
    n = r.size
    if n < 4:
        return None
    heads = np.flatnonzero((r[:-1] == 1) & (r[1:] == 2))
    gaps = np.diff(heads)
    gaps = gaps[gaps >= 2]
    if gaps.size == 0:
        return None
    nx = int(np.argmax(np.bincount(gaps)))
    expected = np.arange(1, nx + 1)
    best = None
    for s in heads[:MAX_FIRST_ROWS].tolist():
        whole = (n - s) // nx
        if whole < 2:
            break
        hits = (r[s : s + whole * nx].reshape(whole, nx) == expected).sum(axis=1)
        rows = _rows_held(2 * hits > nx)
        if rows >= 2 and (best is None or rows > best.rows):
            before = r[max(s - nx, 0) : s]
            doubt = bool(np.any(before == expected[nx - before.size :]))
            best = RestartingRows(s, rows, nx, int(hits[:rows].sum()), doubt)
    return best


def _rows_held(held: np.ndarray) -> int:
    """Rows up to the last that holds before two that do not (or the end)."""
    if not held[0]:
        return 0
    broken = ~held
    ends = np.flatnonzero(broken[:-1] & broken[1:])
    stop = int(ends[0]) if ends.size else held.size
    return int(np.flatnonzero(held[:stop])[-1]) + 1


def counts_every_frame(rotidx) -> bool:
    """Whether the index counts every frame from the recording's first to its last,
    ``1 .. N`` or ``0 .. N - 1``: the first and last frames on the count, and a few
    corrupt values between (``MAX_COUNTER_STRAYS``, or 1 % of the frames, at most a
    tenth of them)."""
    r = np.asarray(rotidx, dtype=np.int64).reshape(-1)
    n = r.size
    if n < 2:
        return False
    allowed = min(max(MAX_COUNTER_STRAYS, n // 100), n // 10)
    off = [r != np.arange(c, n + c, dtype=np.int64) for c in (0, 1)]
    return any(not o[0] and not o[-1] and int(o.sum()) <= allowed for o in off)
