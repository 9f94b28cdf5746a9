"""Two rotator indices that are not RosettaSciIO's running count of scan positions.

Pure numpy over the rotator index of every frame, no I/O; every loop and array is
bounded by the frame count.

* :func:`restarting_rows`: some scan generators write the position within the row,
  ``1 .. nx``, restarting every row, instead of the running position ``1 .. ny * nx``
  (or ``x + 1``, counting down on rows scanned backwards). The row length is the
  spacing of the restarts, the row count how many complete rows follow each other.
  (RosettaSciIO's rule reads only the last row rising there: with ``nx`` a square, a
  wrong ``sqrt(nx)`` x ``sqrt(nx)`` scan.) Rows all counting up cannot tell the
  winding; rows 0, 2, ... counting down are the reader's winding x.
* :func:`counts_every_frame`: an index that only counts frames, ``1 .. N`` (or
  ``0 .. N - 1``) from the recording's first frame to its last: no frame before or
  after a scan, so it says nothing of one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intake_tvips.maths.scan import AUTO_MAX_POSITIONS_PER_FRAME

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
    #: which rows count down (``nx .. 1``, the index is ``x + 1``): ``"none"``,
    #: ``"even"`` (rows 0, 2, ...: the reader's winding x), ``"odd"``, ``"all"``, ``"mixed"``
    backwards: str = "none"

    @property
    def size(self) -> int:
        """Positions of the scan."""
        return self.rows * self.row_length


def restarting_rows(rotidx) -> RestartingRows | None:
    """The scan of a rotator index that restarts every row (``1 .. nx`` per row, or
    ``x + 1``: ``nx .. 1`` on rows scanned backwards), or ``None``: fewer than two
    complete rows of at least two positions.

    The row length is the most common spacing of the rows counting up (a frame holding
    1 followed by one holding 2) or down (2 then 1), or half of it (a snake's rows
    alternate), or how far the first rows count; of the first ``MAX_FIRST_ROWS`` row
    starts for each, the scan starts at the one followed by rows most of whose frames
    count ``1 .. nx`` or ``nx .. 1`` (a few corrupt values pass) that hold the most
    frames on the count, and ends with the last such row (a row the recording cuts
    short is dropped; a single row broken by corrupt values between two that hold is
    kept)."""
    r = np.asarray(rotidx, dtype=np.int64).reshape(-1)
    if r.size < 4:
        return None
    ups = np.flatnonzero((r[:-1] == 1) & (r[1:] == 2))
    downs = np.flatnonzero((r[:-1] == 2) & (r[1:] == 1)) + 1  # the last frame of a row
    best = None
    for nx in _row_lengths(r, ups, downs):
        starts = np.unique(np.concatenate([ups, downs - nx + 1]))
        for s in starts[starts >= 0][:MAX_FIRST_ROWS].tolist():
            found = _rows_from(r, s, nx)
            if found is not None and (best is None or found.exact > best.exact):
                best = found
    return best


def _row_lengths(r: np.ndarray, ups: np.ndarray, downs: np.ndarray) -> list[int]:
    """Row lengths to try: the most common spacing of the rows counting up, and of
    those counting down, their halves, and how far the first rows count up or down."""
    out = set()
    for heads in (ups, downs):
        gaps = np.diff(heads)
        gaps = gaps[gaps >= 2]
        if gaps.size:
            g = int(np.argmax(np.bincount(gaps)))
            out |= {g} | ({g // 2} if g % 2 == 0 and g >= 4 else set())
    for s in ups[:2].tolist():  # 1, 2, 3, ... from s
        out.add(_run(r[s:], 1))
    for e in downs[:2].tolist():  # ..., 3, 2, 1 ending at e
        out.add(_run(r[: e + 1][::-1], 1))
    return sorted(k for k in out if k >= 2)


def _run(values: np.ndarray, first: int) -> int:
    """How many of ``values`` count ``first, first + 1, ...`` from the start."""
    off = np.flatnonzero(values != np.arange(first, first + values.size))
    return int(off[0]) if off.size else int(values.size)


def _rows_from(r: np.ndarray, s: int, nx: int) -> RestartingRows | None:
    """The rows of ``nx`` from frame ``s`` that count up or down (at least two)."""
    whole = (r.size - s) // nx
    if whole < 2:
        return None
    block = r[s : s + whole * nx].reshape(whole, nx)
    expected = np.arange(1, nx + 1)
    up, down = (block == expected).sum(axis=1), (block == expected[::-1]).sum(axis=1)
    hits = np.maximum(up, down)
    rows = _rows_held(2 * hits > nx)
    if rows < 2:
        return None
    before = r[max(s - nx, 0) : s]
    doubt = bool(np.any(before == expected[nx - before.size :])) or bool(
        np.any(before == expected[::-1][nx - before.size :])
    )
    backwards = (down > up)[:rows]
    return RestartingRows(s, rows, nx, int(hits[:rows].sum()), doubt, _pattern(backwards))


def _pattern(backwards: np.ndarray) -> str:
    """Which rows count down: ``"none"``, ``"even"`` (rows 0, 2, ...: winding x),
    ``"odd"``, ``"all"`` or ``"mixed"``."""
    parity = np.arange(backwards.size) % 2 == 0
    for name, rows in (("none", ~parity & parity), ("even", parity), ("odd", ~parity)):
        if np.array_equal(backwards, rows):
            return name
    return "all" if backwards.all() else "mixed"


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
    ``1 .. N`` or ``0 .. N - 1``: the first and last frames on the count (or corrupt:
    more than ``AUTO_MAX_POSITIONS_PER_FRAME`` positions per frame), and a few corrupt
    values (``MAX_COUNTER_STRAYS``, or 1 % of the frames, at most a
    tenth of them)."""
    r = np.asarray(rotidx, dtype=np.int64).reshape(-1)
    n = r.size
    if n < 2:
        return False
    allowed = min(max(MAX_COUNTER_STRAYS, n // 100), n // 10)
    absurd = r > AUTO_MAX_POSITIONS_PER_FRAME * n  # a corrupt value, even at an end
    off = [(r != np.arange(c, n + c, dtype=np.int64)) for c in (0, 1)]
    ends = [not (o[0] and not absurd[0]) and not (o[-1] and not absurd[-1]) for o in off]
    return any(end and int(o.sum()) <= allowed for end, o in zip(ends, off))
