"""The scan from the frames' rotator index (``rotidx``; pure inference, no reads).

Every header read: RosettaSciIO's ``scan_shape="auto"`` rule
(:func:`~intake_tvips.maths.scan.auto_scan_indices`), which the package follows
wherever it gives a scan. Where it refuses, :func:`rotator_indices` tries beyond it: a
few corrupt values (:func:`~intake_tvips.maths.scan.rotator_strays`, e.g. 4294836225
on the last frame) are passed over as strays, and a count that is not a square takes
its row length from where ``Scan_x``/``Scan_y`` wrap over the scan's frames (a new
row: ``y`` changes; where it never does, ``x`` jumps back), when most rows agree on
it. Before the rule: an index that restarts every row (``1 .. nx`` per row,
:func:`~intake_tvips.maths.rotator_rows.restarting_rows`), where the rule would read
the last row only. No scan is found (though the reader's ``"auto"`` keeps the rule's
square) when the index only counts frames
(:func:`~intake_tvips.maths.rotator_rows.counts_every_frame`: no frame before or after
it) or names a single position (a stray). From a sample: the rule when the rotator
index counts 1, 2, 3, ... one frame each (searched for where it starts and stops
counting), and the restarting index (searched for where it stops restarting); anything
else is left to every header. The winding is never in the rotator index: findings
from it say it is assumed (none).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from intake_tvips.maths.rotator_rows import counts_every_frame, restarting_rows
from intake_tvips.maths.scan import auto_scan_indices, rotator_strays
from intake_tvips.recording.detect_frames import (
    HeaderValues,
    SamplingRules,
    Undecided,
    Wanted,
    first_change,
    last_holding,
    sample_confidence,
)


@dataclass(frozen=True)
class RotatorFinding:
    """A scan found from the rotator index."""

    start: int
    shape: tuple[int, int]
    confidence: float  # positions whose frame carries exactly that position's value
    one_per_position: bool  # one frame per position, in order (else: read with "auto")
    #: from a sample: (frames read in the scan, frames read, frames of the recording)
    sample: tuple[int, int, int] | None = None
    strays: int = 0  # frames whose corrupt value was passed over
    row_from_positions: bool = False  # a non-square scan, rows from Scan_x/Scan_y
    restarts: bool = False  # the index restarts every row (1 .. nx per row)
    #: restarting: which rows count down (``x + 1``; see ``RestartingRows.backwards``)
    backwards: str = "none"

    @property
    def winding(self) -> str | None:
        """The winding the index tells: ``"x"`` when rows 0, 2, ... count down, else
        ``None`` (assumed: see :attr:`winding_known`)."""
        return "x" if self.backwards == "even" else None

    @property
    def rows_assumed(self) -> bool:
        """Whether the rows are RosettaSciIO's square, assumed (the index neither
        restarts every row nor do ``Scan_x``/``Scan_y`` wrap where rows end)."""
        return not (self.restarts or self.row_from_positions)

    @property
    def winding_known(self) -> bool:
        """Whether the index tells the winding (rows 0, 2, ... count down)."""
        return self.backwards == "even"


#: the confidence at most of a scan whose rows are RosettaSciIO's square, assumed: a
#: count of positions to 36 is a 6 x 6 scan as much as a 3 x 12 one
SQUARE_ASSUMED_CONFIDENCE = 0.5
#: at most this many strays (or 1 % of the frames) are passed over; more: no scan
MAX_ROTATOR_STRAYS = 4


@dataclass(frozen=True, eq=False)
class RotatorScan:
    """:func:`rotator_indices`' answer: the frame at each position, and how it was had."""

    grid: np.ndarray
    strays: int = 0
    row_from_positions: bool = False
    restarts: bool = False
    doubt: bool = False  # restarting: the row before the first carries values of the count
    backwards: str = "none"  # restarting: which rows count down


def rotator_indices(values: HeaderValues) -> RotatorScan:
    """The scan of the rotator index from every header: rows where it restarts every
    row; else RosettaSciIO's rule; where that refuses (and the index does not only
    count frames), with a few strays passed over, then with the row length from where
    the positions wrap. Raises RosettaSciIO's ``ValueError`` when none gives a scan."""
    rotator = values.rotator
    rows = restarting_rows(rotator)
    if rows is not None:
        grid = rows.start + np.arange(rows.size).reshape(rows.rows, rows.row_length)
        strays = rows.size - rows.exact
        return RotatorScan(grid, strays, restarts=True, doubt=rows.doubt, backwards=rows.backwards)
    try:
        return RotatorScan(auto_scan_indices(rotator))
    except ValueError as err:
        refused = err
    if counts_every_frame(rotator):
        raise refused
    strays = int(rotator_strays(rotator).sum())
    passing = 0 < strays <= max(MAX_ROTATOR_STRAYS, rotator.size // 100)
    if passing:
        try:
            return RotatorScan(auto_scan_indices(rotator, pass_strays=True), strays)
        except ValueError as err:
            refused = err
    nx = _row_length_from_positions(values, passing)
    if nx is None:
        raise refused
    grid = auto_scan_indices(rotator, pass_strays=passing, row_length=nx)
    return RotatorScan(grid, strays if passing else 0, True)


def _row_length_from_positions(values: HeaderValues, pass_strays: bool) -> int | None:
    """The row length most rows of the rotator's scan have, where ``Scan_x``/``Scan_y``
    wrap (``y`` changes; where it never does, ``x`` jumps back); ``None``: no
    positions, no wraps, or no length most rows share."""
    if not values.has_positions or not values.positions_move:
        return None
    count = np.array(values.rotator)
    if pass_strays:
        for i in np.flatnonzero(rotator_strays(count)).tolist():
            count[i] = count[i - 1] if i > 0 else 0
    rises = np.flatnonzero(np.diff(count) > 0)
    if rises.size == 0:
        return None
    start = int(rises[0]) + (1 if count[rises[0]] == 0 else 0)
    stop = int(rises[-1]) + 1
    x, y = values.scan_x[start : stop + 1], values.scan_y[start : stop + 1]
    valid = (x[1:] >= 0) & (x[:-1] >= 0) & (y[1:] >= 0) & (y[:-1] >= 0)
    if np.any(valid & (y[1:] != y[:-1])):  # rows where y changes
        wraps = np.flatnonzero(valid & (y[1:] != y[:-1])) + 1
    else:  # y stays: rows where x jumps back
        wraps = np.flatnonzero(valid & (x[1:] < x[:-1] - 1)) + 1
    if wraps.size == 0:
        return None
    rows = np.diff(np.concatenate([[0], wraps]))
    votes = np.bincount(rows)
    nx = int(np.argmax(votes))
    return nx if nx > 0 and 2 * votes[nx] > rows.size else None


def infer_rotator(values: HeaderValues, rules: SamplingRules):
    """:class:`RotatorFinding`, a note why there is none, or :class:`Wanted`."""
    if values.complete:
        return _from_every_header(values)
    return _from_sample(values, rules)


def _from_every_header(values: HeaderValues):
    """The finding of :func:`rotator_indices`: its confidence, the share of positions
    whose frame carries that position's value, less the share of strays passed over."""
    rotator = values.rotator
    if restarting_rows(rotator) is None and counts_every_frame(rotator):
        return ("rotator_counter", rotator.size, int(rotator[-1]))
    try:
        found = rotator_indices(values)
    except ValueError as err:
        return ("rotator_refused", str(err))
    grid = found.grid
    total = grid.size
    if total < 2:
        return ("rotator_single", int(grid.flat[0]))
    start = int(grid.flat[0])
    shape = (int(grid.shape[0]), int(grid.shape[1]))
    if found.restarts:  # one frame per position in order; strays: frames off the count
        # rows counting down other than 0, 2, ...: a walk no winding expresses
        shared = (2 if found.doubt else 1) * (1 if found.backwards in ("none", "even") else 2)
        confidence = (1 - found.strays / total) / shared
        return RotatorFinding(
            start, shape, confidence, True, None, found.strays, restarts=True,
            backwards=found.backwards,
        )  # fmt: skip
    exact = rotator[grid.reshape(-1)] == np.arange(1, total + 1)
    stop = start + total
    in_order = stop <= rotator.size and np.array_equal(rotator[start:stop], np.arange(1, total + 1))
    confidence = float(exact.mean()) * total / (total + found.strays)
    return RotatorFinding(
        start, shape, confidence, bool(in_order), None, found.strays, found.row_from_positions
    )


def _from_sample(values: HeaderValues, rules: SamplingRules):
    """RosettaSciIO's rule when the rotator index counts 1, 2, 3, ... one frame each."""
    last_same = first_change(values, (values.rotator,))
    if isinstance(last_same, Wanted):
        return last_same
    if last_same is None:
        raise Undecided("the rotator index is the same in every frame read")
    opening = values.missing(np.arange(last_same, last_same + rules.opening_frames))
    if opening is not None:
        return opening
    sel = values.since(last_same)
    run = sel[: int(np.sum(values.frame[sel] - last_same == np.arange(sel.size)))]
    rises = np.flatnonzero(np.diff(values.rotator[run]) > 0)
    if rises.size == 0:
        raise Undecided("the rotator index does not rise where it first changes")
    start = last_same + int(rises[0]) + (1 if values.rotator[run[rises[0]]] == 0 else 0)
    if np.any(np.diff(values.rotator[values.frame <= start]) < 0):
        raise Undecided("the rotator index falls before it rises (rows counting down?)")

    def counting(values, sel):
        return values.rotator[sel] == values.frame[sel] - start + 1

    stop = last_holding(values, start, counting)
    if isinstance(stop, Wanted):
        return stop
    if stop is None:
        raise Undecided(f"the rotator index at frame {start} is not 1")
    after = values.missing([stop + 1])
    if after is not None:
        return after
    inside = np.flatnonzero((values.frame >= start) & (values.frame <= stop))
    if not counting(values, inside).all():
        raise Undecided(
            "the rotator index skips or repeats positions (scan_shape='auto' needs every header)"
        )
    if _value_at(values, stop + 1) == 1 and stop > start:  # it restarts: rows of stop - start + 1
        return _restarts_from_sample(values, start, stop - start + 1)
    if np.any(np.diff(values.rotator[values.frame >= stop]) > 0):
        raise Undecided(f"the rotator index rises again after frame {stop}")
    total = stop - start + 1
    if stop == values.n_frames - 1 and (start == 0 or _value_at(values, 0) == 0 == start - 1):
        return ("rotator_counter", values.n_frames, total)
    if total < 2:
        return ("rotator_single", start)
    side = math.isqrt(total)
    if side * side != total:
        if values.has_positions and values.positions_move:
            raise Undecided(
                f"the rotator index counts to {total}, not a square: its rows need every header"
            )
        return ("rotator_not_square", total, stop)
    confidence = sample_confidence(inside.size, inside.size, total)
    sample = (int(inside.size), values.count, values.n_frames)
    return RotatorFinding(start, (side, side), confidence, True, sample)


def _value_at(values: HeaderValues, frame: int) -> int | None:
    """The rotator index of ``frame`` if it was read."""
    at = int(np.searchsorted(values.frame, frame))
    if at < values.count and values.frame[at] == frame:
        return int(values.rotator[at])
    return None


def _restarts_from_sample(values: HeaderValues, start: int, nx: int):
    """The index restarts every ``nx`` frames from ``start``: searched for the last frame
    where it still does; a finding when at least two rows do and every frame read of
    them and the row before agrees (else :class:`Undecided`: every header decides)."""

    def restarting(values, sel):
        return values.rotator[sel] == (values.frame[sel] - start) % nx + 1

    last = last_holding(values, start, restarting)
    if isinstance(last, Wanted):
        return last
    rows = (last - start + 1) // nx
    before = values.missing(np.arange(max(start - nx, 0), start))
    if before is not None:
        return before
    inside = np.flatnonzero((values.frame >= start) & (values.frame < start + rows * nx))
    prior = np.flatnonzero((values.frame >= start - nx) & (values.frame < start))
    up = values.frame[prior] - (start - nx) + 1
    doubt = np.any(values.rotator[prior] == up) or np.any(values.rotator[prior] == nx + 1 - up)
    if rows < 2 or doubt or not restarting(values, inside).all():
        raise Undecided(f"the rotator index restarts after frame {start + nx - 1}")
    total = rows * nx
    confidence = sample_confidence(inside.size, inside.size, total)
    sample = (int(inside.size), values.count, values.n_frames)
    return RotatorFinding(start, (rows, nx), confidence, True, sample, restarts=True)
