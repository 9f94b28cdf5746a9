"""The scan from the frames' ``Scan_x``/``Scan_y`` (pure inference, no reads).

The scan starts at the last frame before positions first move, or at the next one (junk
frames recorded before the scan usually repeat one position, often ``(0, 0)``). For each
start and winding (the reader's ``None``, ``"x"``, ``"y"``) the raster follows from the
frames themselves: the row length is the value most frames vote for (a frame at
``(x, y)``, ``offset`` frames into the scan, says ``offset = y * nx + x`` and so names
``nx``); the rows are counted up to the last row most of whose frames sit in it
(y-winding: the first frame's ``y`` names the row count). The raster that puts the most
frames where their headers say wins. A stray among the junk frames (a frame that moves,
then back) is passed over: when the raster from the first move fits badly, the frames
around the next few unit steps of x or y (as along a scan) are tried as starts too.

:func:`infer_positions` answers from the frames read: a :class:`PositionFinding`, a
note why there is none, or :class:`~.detect_frames.Wanted` frames (a sample only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intake_tvips.maths.scan import WINDING_AXES, ScanMap
from intake_tvips.recording.detect_frames import (
    AUTO_SCAN_XY_CONFIDENCE,
    AUTO_SCAN_XY_STRAYS,
    HeaderValues,
    SamplingRules,
    Undecided,
    Wanted,
    first_change,
    last_holding,
    probes,
    sample_confidence,
)
from intake_tvips.recording.detect_raster import (
    Raster,
    explains_the_moves,
    frames_in_raster,
    moves_after,
    shifted,
)

#: unit steps of x or y tried as the scan's start, past strays among the junk frames
MAX_START_CANDIDATES = 8


@dataclass(frozen=True)
class PositionFinding:
    """A raster found from ``Scan_x``/``Scan_y``, with what it rests on."""

    first_move: int  # the last frame before positions first move
    raster: Raster
    complete: bool  # every header read (else a unanimous sample)
    frames_read: int
    n_frames: int
    confidence: float
    shifted: bool  # the disagreeing frames sit a few places on, to the scan's end
    odd_rows_backwards: bool  # a snake starting forwards (no reader winding)
    #: frames after the raster that move, and those of them that go outside it
    moves_after: int = 0
    moves_outside: int = 0
    #: other rasters (other start or winding, another map) that explain the frames as well
    rivals: int = 0
    #: ``Scan_y`` is 0 in every frame read: the rows are where ``Scan_x`` wraps
    x_only: bool = False


def infer_positions(values: HeaderValues, rules: SamplingRules):
    """:class:`PositionFinding`, a note (``("positions_still",)``, ``("no_raster",)``),
    or :class:`Wanted`; raises :class:`Undecided` when a sample cannot tell."""
    first_move = first_change(values, (values.scan_x, values.scan_y))
    if isinstance(first_move, Wanted):
        return first_move
    if first_move is None:
        return ("positions_still",)
    opening = values.missing(np.arange(first_move, first_move + rules.opening_frames))
    if opening is not None:
        return opening
    starts = [first_move, first_move + 1] if first_move + 1 < values.n_frames else [first_move]
    best = best_raster(values, starts)
    if fits_badly(values, best):  # perhaps strays among the junk frames: try later starts
        best, starts = try_later_starts(values, first_move, starts, best)
    if not values.complete and best is not None:
        if 2 * best.agreeing < best.seen:  # most frames read disagree: every header decides
            raise Undecided(
                f"{best.seen - best.agreeing} of the {best.seen} frames read in the scan "
                "disagree with the best raster"
            )
        wanted = _sample_wants(values, best, rules)
        if wanted is not None:
            return wanted
    if best is None:
        if not values.complete:
            raise Undecided("no raster fits the positions of the frames read")
        return ("no_raster",)
    if not values.complete:
        check_unanimous(values, best, starts)
        if x_alone_rivals(values, first_move, best):
            raise Undecided("Scan_x alone cannot tell this raster from a walk along y")
        moves, outside = moves_after(values, best)
        if not explains_the_moves(best, moves, outside):
            raise Undecided(
                f"{outside} of the {moves} frames read after the scan that move go to "
                "positions outside it"
            )
    return _finding(values, first_move, best, starts)


def _sample_wants(values: HeaderValues, best: Raster, rules: SamplingRules) -> Wanted | None:
    """What a sample must read before it trusts ``best``: the searches for its row and
    scan ends, then every frame of a small scan, or frames spread over a large one (no
    run of strays long enough to matter hides between the frames read)."""
    searched = raster_from(values, best.start, best.winding, search=True)
    if isinstance(searched, Wanted):
        return searched
    if best.size <= rules.scan_all:
        return values.missing(np.arange(best.start, best.start + best.size))
    spread = np.linspace(0, best.size - 1, rules.scan_spread, dtype=int)
    return values.missing(best.start + spread)


def _finding(values: HeaderValues, first_move: int, best: Raster, starts) -> PositionFinding:
    """The finding of ``best``. Every header read, its confidence is the share of its
    positions whose frame agrees, shared with its rivals (rasters that explain the frames
    as well), and scaled by the share of the moves after it that it explains when most
    of them go to positions outside it."""
    is_shifted = odd_back = False
    moves, outside = moves_after(values, best)
    rivals = 0
    if values.complete:
        share = best.agreeing / best.size
        if share < AUTO_SCAN_XY_CONFIDENCE:
            is_shifted = shifted(values, best)
        if share < 1 and best.winding != "x":
            odd_back = odd_rows_backwards(values, best)
        rivals = count_rivals(values, best, starts) + x_alone_rivals(values, first_move, best)
        confidence = share / (1 + rivals)
        if not explains_the_moves(best, moves, outside):
            confidence *= (moves - outside) / moves  # the share of the moves it explains
    else:
        confidence = sample_confidence(best.agreeing, best.seen, best.size)
        if values.x_only:  # the winding along y x alone cannot tell (check_unanimous)
            rivals = count_rivals(values, best, starts)
            confidence /= 1 + rivals
    return PositionFinding(
        first_move, best, values.complete, values.count, values.n_frames, float(confidence),
        is_shifted, odd_back, moves, outside, rivals, values.x_only,
    )  # fmt: skip


def fits_badly(values: HeaderValues, best: Raster | None) -> bool:
    """No raster; or, every header read, one that fewer than ``AUTO_SCAN_XY_STRAYS`` of
    its positions agree with; or one that ends before most frames from its start."""
    if best is None:
        return True
    if values.complete and best.agreeing < AUTO_SCAN_XY_STRAYS * best.size:
        return True
    return 2 * best.size < values.n_frames - best.start


def try_later_starts(values: HeaderValues, first_move: int, starts, best: Raster | None):
    """Where the scan may start when the first moves were strays among the junk frames:
    the two frames before and the frame of each of the next ``MAX_START_CANDIDATES`` unit
    steps after frame ``first_move + 1`` (two consecutive frames read whose x or y differ
    by one, as along a scan; the scan's first frame may itself be a stray), in order,
    until a raster fits. Returns the best raster of all tried and the starts tried."""
    x, y, frame = values.scan_x, values.scan_y, values.frame
    valid = (x[1:] >= 0) & (x[:-1] >= 0) & (y[1:] >= 0) & (y[:-1] >= 0)
    unit = (np.abs(np.diff(x)) == 1) | (np.abs(np.diff(y)) == 1)
    moved = frame[1:][(frame[1:] == frame[:-1] + 1) & valid & unit]
    later = moved[moved > first_move + 1][:MAX_START_CANDIDATES]
    tried = list(starts)
    for start in np.unique(np.concatenate([later - 2, later - 1, later])).tolist():
        if start in tried:
            continue
        tried.append(start)
        found = best_raster(values, [start])
        if found is not None and (best is None or found.agreeing > best.agreeing):
            best = found
            if not fits_badly(values, best):
                break
    return best, tried


def best_raster(values: HeaderValues, starts) -> Raster | None:
    """The raster putting the most frames (of those read) where their headers say."""
    found = [raster_from(values, start, w) for start in starts for w in WINDING_AXES]
    found = [raster for raster in found if raster is not None]
    # most agreeing frames; of equals, fewest disagreeing; then the first
    return max(found, key=lambda r: (r.agreeing, r.agreeing - r.seen)) if found else None


def count_rivals(values: HeaderValues, best: Raster, starts) -> int:
    """Rasters of other maps, from ``starts``, with as many agreeing and disagreeing
    frames as ``best``: the headers cannot tell them from it."""
    maps = []
    for start in starts:
        for winding in WINDING_AXES:
            other = raster_from(values, start, winding)
            if other is None or (other.agreeing, other.seen) != (best.agreeing, best.seen):
                continue
            if not any(_same_map(other, m) for m in [best, *maps]):
                maps.append(other)
    return len(maps)


def x_alone_rivals(values: HeaderValues, first_move: int, best: Raster) -> int:
    """With ``Scan_x`` alone, walks the reader cannot express that explain the frames as
    well as ``best``: y as the fast axis (rows of at most 2 positions: x steps like a
    walk down the columns), and, when ``best`` starts after ``first_move + 1``, scan
    rows before it (y cannot tell strays among the junk frames from a first row run
    the other way, or from rows whose x is corrupt)."""
    if not values.x_only:
        return 0
    return int(best.shape[1] <= 2) + int(best.start > first_move + 1)


def check_unanimous(values: HeaderValues, best: Raster, starts) -> None:
    """A sample decides only when every frame read in the scan agrees with ``best`` and
    no other start or winding fits them all (raises :class:`Undecided`)."""
    if best.seen == 0 or best.agreeing < best.seen:
        raise Undecided(
            f"{best.seen - best.agreeing} of the {best.seen} frames read in the scan "
            "disagree with the best raster"
        )
    for start in starts:
        for winding in WINDING_AXES:
            other = raster_from(values, start, winding)
            if other is None or (start, winding) == (best.start, best.winding):
                continue
            if _y_twin(values, best, other):  # x alone never tells these: shared, below
                continue
            # a raster of fewer positions than best's agreeing frames can never win
            small = other.size < best.agreeing
            fits_all = other.seen and other.agreeing == other.seen
            if fits_all and not small and not _same_map(other, best):
                raise Undecided(
                    f"winding {best.winding!r} from frame {best.start} and winding "
                    f"{winding!r} from frame {start} both fit every frame read"
                )


def _y_twin(values: HeaderValues, best: Raster, other: Raster) -> bool:
    """With x alone: ``other`` is ``best`` winding along y instead of not (or back)."""
    same_place = (other.start, other.shape) == (best.start, best.shape)
    return values.x_only and same_place and {other.winding, best.winding} == {None, "y"}


def _same_map(one: Raster, other: Raster) -> bool:
    if one.shape != other.shape:
        return False
    positions = np.arange(one.size)
    return bool(
        np.array_equal(one.scan_map().frames(positions), other.scan_map().frames(positions))
    )


def raster_from(values: HeaderValues, start: int, winding, search: bool = False):
    """The raster from frame ``start`` with ``winding`` that the frames describe
    (``None``: none; :class:`Wanted`: with ``search``, frames its searches need)."""
    key = ("raster", start, winding, search)
    if key not in values.memo:
        values.memo[key] = _raster_from(values, start, winding, search)
    return values.memo[key]


def _raster_from(values: HeaderValues, start: int, winding, search: bool):
    nx = row_length(values, start, winding, search)
    if nx is None or isinstance(nx, Wanted):
        return nx
    if values.x_only and nx < 2:  # x alone: a row where x does not move says nothing
        return None
    if winding == "y" and not values.x_only:
        rows = rows_of_first_column(values, start, nx)
    else:
        rows = rows_reached(values, start, nx, search, winding)
    if rows is None or isinstance(rows, Wanted):
        return rows
    n = values.n_frames
    whole = (winding == "y" and not values.x_only) or start + rows * nx <= n
    ny = rows if whole else (n - start) // nx
    if ny * nx < 2 or ny * nx > n - start:  # a single position (a stray), or more
        return None  # positions than frames: not this raster
    _, _, agree = frames_in_raster(values, start, winding, (ny, nx))
    return Raster(start, winding, (ny, nx), rows, int(agree.sum()), int(agree.size))


def row_length(values: HeaderValues, start: int, winding, search: bool):
    """The row length most frames (read, from ``start`` on) name: frame ``start +
    offset`` at ``(x, y)`` says ``offset = y * nx + x`` (per winding); a single row: how
    far x counts (``None``: no frame names one). With x alone (``values.x_only``) no
    frame names it: how far x counts along the first row (winding x: back from
    ``nx - 1``, the first frame's x)."""
    sel = values.since(start)
    offset, x, y = values.frame[sel] - start, values.scan_x[sel], values.scan_y[sel]
    valid = (x >= 0) & (y >= 0)
    if values.x_only:
        return _x_only_row_length(values, start, winding, search)
    if winding == "x":
        odd = y % 2 == 1
        num = np.where(odd, offset - x, offset + 1 + x)
        den, keep = np.where(odd, y, y + 1), valid
    else:
        num, den = offset - x, y
        keep = valid & (y >= 1) & ((x % 2 == 1) if winding == "y" else True)
    num, den, x = num[keep], den[keep], x[keep]
    whole = (num > 0) & (num % np.maximum(den, 1) == 0)
    named = num[whole] // den[whole]
    named = named[(named > x[whole]) & (named <= values.n_frames - start)]
    if named.size:
        return int(np.argmax(np.bincount(named)))
    if winding == "x":
        return None

    def counting(values, sel):
        along = values.scan_x[sel] == values.frame[sel] - start
        return along & ((values.scan_y[sel] == 0) if winding is None else True)

    last = last_holding(values, start, counting, search)
    return last if last is None or isinstance(last, Wanted) else last - start + 1


def _x_only_row_length(values: HeaderValues, start: int, winding, search: bool):
    """The first row's length from x alone: winding x, the first frame's x + 1 (when
    most frames read of that row count down from it); else how far x counts up from 0."""
    if winding == "x":
        at = np.searchsorted(values.frame, start)
        if at >= values.count or values.frame[at] != start:
            return None
        nx = int(values.scan_x[at]) + 1
        if not 1 < nx <= values.n_frames - start:
            return None

        row = values.since(start)[: int(np.sum(values.frame[values.since(start)] < start + nx))]
        down = values.scan_x[row] == nx - 1 - (values.frame[row] - start)
        return nx if 2 * down.sum() > down.size else None  # most frames read count down

    def counting(values, sel):
        return values.scan_x[sel] == values.frame[sel] - start

    last = last_holding(values, start, counting, search)
    return last if last is None or isinstance(last, Wanted) else last - start + 1


def rows_reached(values: HeaderValues, start: int, nx: int, search: bool, winding=None):
    """Rows up to the last one most of whose frames (read) have ``y`` = its row (with x
    alone: the x the raster gives them)."""
    sel = values.since(start)
    row = (values.frame[sel] - start) // nx
    rows, inverse = np.unique(row, return_inverse=True)
    seen = np.bincount(inverse, minlength=rows.size)
    if values.x_only:
        along = "x" if winding == "x" else None
        held_here = (
            values.scan_x[sel] == ScanMap((1, nx), start, along).positions_of(values.frame[sel])[1]
        )
    else:
        held_here = values.scan_y[sel] == row
    hits = np.bincount(inverse, weights=held_here, minlength=rows.size)
    held = np.flatnonzero(2 * hits > seen)
    if values.x_only:  # x alone: junk after the scan may sit where a row would (rows
        # up to the first that does not hold)
        failed = np.flatnonzero(2 * hits <= seen)
        held = held[held < failed[0]] if failed.size else held
    if held.size == 0:
        return None
    last_row = (values.n_frames - 1 - start) // nx
    r1 = int(rows[held[-1]])
    r2 = int(rows[held[-1] + 1]) if held[-1] + 1 < rows.size else last_row + 1
    if r2 == r1 + 1 or not search or values.complete:
        return r1 + 1
    return Wanted(np.minimum(start + probes(r1, r2) * nx + nx // 2, values.n_frames - 1))


def rows_of_first_column(values: HeaderValues, start: int, nx: int) -> int | None:
    """Winding along y: the first row's even columns run from ``y = ny - 1``."""
    want = start + 2 * np.arange(3)
    want = want[(want - start < nx) & (want < values.n_frames)]
    idx = np.searchsorted(values.frame, want)
    idx = idx[(idx < values.frame.size)]
    idx = idx[np.isin(values.frame[idx], want)]
    keep = (values.scan_x[idx] == values.frame[idx] - start) & (values.scan_y[idx] >= 0)
    ys = np.sort(values.scan_y[idx][keep])
    return int(ys[(ys.size - 1) // 2]) + 1 if ys.size else None


def odd_rows_backwards(values: HeaderValues, best: Raster) -> bool:
    """A snake scan that starts forwards (rows 1, 3, ... reversed): the reader's
    winding ``"x"`` one row earlier puts more than 90 % of the frames in place."""
    (ny, nx), start = best.shape, best.start
    if ny < 2 or nx < 2:
        return False
    frames = np.arange(start, min(start + ny * nx, values.n_frames))
    y, x = ScanMap((ny + 1, nx), start - nx, "x").positions_of(frames)
    agree = (values.scan_x[frames] == x) & ((values.scan_y[frames] == y - 1) | values.x_only)
    return float(np.mean(agree)) > 0.9
