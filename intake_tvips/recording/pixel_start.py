"""The first frame of a scan found from the pixels where no blanked frame marks it.

The raster (row length, winding) is known; the frames beyond whole rows lie before or
after the scan. In turn:

* a probe parked on the scan: the frames unlike their would-be neighbours a row later
  (:func:`~intake_tvips.maths.scan_ends.parked_on_scan`);
* where that does not tell, where the rows break (plain rows and winding ``"y"``:
  :func:`~intake_tvips.maths.scan_phase.start_by_breaks`, confidence at most
  ``BREAKS_START_CONFIDENCE``; breaks that all point one way, as a sample's edge along
  the columns would, at most ``ONE_WAY_START_CONFIDENCE``, and only where the frames
  the start leaves at the ends keep still), or for a snake, whose rows do not break, the image each
  open start makes (:func:`~intake_tvips.maths.scan_start_image.start_by_image`,
  confidence at most ``IMAGE_START_CONFIDENCE``). The image is not asked of plain rows:
  there it holds no more than the fly-back, which the breaks weigh with their guards,
  and rows of ``nx - 1`` over a diagonal texture (a raster the breaks turned away) had
  a start told by it at 0.998;
* whole rows with no junk frame seen give start 0 as an assumption (confidence at most
  ``ASSUMED_START_CONFIDENCE``).

A snake's start after parked frames (runs at either end, or a probe parked on the scan)
must agree with its image where that tells: frames parked on a uniform border look like
the scan's own, and one was read four frames early at 1.0.

A start told by the breaks or the image is kept only where the first and the last row
it leaves vary along the row as the scan's rows do: the breaks and the image tell the
start modulo the row only, and a probe parked for a row or more would pass for rows.
Where the breaks or the image told a start that a later check turned away, the refusal
(a :class:`Leaning` string) still carries it: the guess a viewer opens on, never an
answer.

The functions take the caller's sample of the recording (``sample.rec``, ``.cells``:
the detector-cell sums of the frames read from the start, ``.last(count)``: of the last
frames) and the raster's feature basis.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from intake_tvips.maths.periodicity import step_distances
from intake_tvips.maths.pixel_raster import project
from intake_tvips.maths.scan_ends import (
    LONGEST_PARKED,
    STILL_ROWS,
    among_scan,
    moving_end,
    parked_on_scan,
    scan_start,
    still_lead,
)
from intake_tvips.maths.scan_phase import cut_row, junk_rows, start_by_breaks
from intake_tvips.maths.scan_start_image import ImageStart, start_by_image
from intake_tvips.recording.pixels import MAX_SHIFT

#: the confidence at most of a start no junk frame tells (whole rows, nothing unlike the
#: scan at either end): a probe parked on the scan where its pattern matches the
#: frames around would go unseen
ASSUMED_START_CONFIDENCE = 0.3
#: the confidence at most of a start told by where the rows break (a sample's edge that
#: breaks every row the same way is turned away, but an image prior is no proof)
BREAKS_START_CONFIDENCE = 0.5
#: the confidence at most of a start told by breaks that all point one way (a fly-back
#: between borders that differ, or a sample's edge along the columns: the pixels cannot
#: tell the two apart), taken where the frames it leaves at the ends keep still
ONE_WAY_START_CONFIDENCE = 0.3
#: a parked run's last steps that change no detector cell's sum by more than this many
#: counts are no move (noise-free, a beam current losing a fraction of a count a frame
#: rounds a few cells a count up or down: steps ten times the run's median, which made a
#: probe parked off the scan "move" and its right start undecided, camera seed 319)
ROUNDING_COUNTS = 2
#: steps at a run's end below this share of the scan's median step are no move
STILL_FLOOR = 0.05
#: the frames a one-way start leaves at an end move where their last two steps pass
#: this many times their median (or the floor): noise alone passes 4 times the median
#: of 3-7 steps in 9-26 % of runs measured in one or two dimensions (the features a
#: gradient leaves), 8 times in 2-12 %; a noise-free run's median is 0
LEFT_OUT_STILL = 8.0
#: the confidence at most of a start told by the image (a paired test over the rows at
#: 0.9 or more, but a smooth image is a prior about samples, not a proof)
IMAGE_START_CONFIDENCE = 0.9
#: the rolls a snake's image is tried at: the hysteresis values answered
ROLLS = range(-MAX_SHIFT, MAX_SHIFT + 1)


class Leaning(str):
    """Why a start is not trusted (words), carrying the start the pixels lean to all
    the same (``start``, a frame of the recording: the breaks or the image told it, a
    later check turned it away): a first view to tune by eye
    (``ScanDetection.guess``), never an answer."""

    start: int

    def __new__(cls, why: str, start: int) -> Leaning:
        text = super().__new__(cls, why)
        text.start = start
        return text


def _after(prefix: str, why: str) -> str:
    """``prefix + why``, still :class:`Leaning` where ``why`` is."""
    return Leaning(prefix + why, why.start) if isinstance(why, Leaning) else prefix + why


def started(sample, n: int, fit, basis, before: int, after: int, blank: tuple[int, int]):
    """``(fit, start, frames after the scan, why the start)`` of the raster ``fit``, or
    why not (a string). ``before``/``after``: the junk frames at either end, ``blank``
    the blanked ones among them (the rest are parked)."""
    start, why = scan_start(n, fit.nx, (before, after))
    if start is None:
        found = _unmarked_start(sample, fit, basis, (before, after), why)
        if isinstance(found, str):
            return _after(f"{fit.notes[0]}; but ", found)
        fit, start, parked_after, why = found
        after += parked_after
    else:
        other = _parked_runs_unlike_rows(sample, fit, basis, (before, after), blank, start)
        if other:
            return f"{fit.notes[0]}; {why}; but {other}"
    parked = (before > blank[0], after > blank[1])
    still = _still_scan_end(sample, fit, start, after, parked)
    if still:
        return Leaning(f"{fit.notes[0]}; {why}; but {still}", start)
    return fit, start, after, why


def _still_scan_end(sample, fit, start: int, after: int, parked: tuple[bool, bool]) -> str:
    """Why the scan from ``start`` (``after`` frames after it) is not trusted, or ``""``:
    its first or last frames keep as still as a parked probe where the rows after
    (before) them move at the same place (:func:`~intake_tvips.maths.scan_ends.still_lead`,
    in the standardized sums of all cells: in the few features of a fit, noise alone
    keeps two steps that still a few times in a hundred): a probe parked on the scan's
    first (last) position, the junk at the other end taken for the frames beyond whole
    rows. Two still steps are needed, one where the junk at the other end holds parked
    frames (``parked``: before, after): a run parked on the scan's first position
    takes its first frame along, and the scan read a frame late ends on a lone frame
    parked on its last position (noise-free particles, read a frame late at 0.94).
    Noise-free grains under a descan, the probe parked on the first position and the
    scan ending on a grain of its own three frames (read as parked off the scan), were
    read three frames early at 1.0. The end is looked at only where it was read already
    (no request for it)."""
    n, head, want = sample.rec.n_frames, sample.cells.shape[0], (STILL_ROWS + 1) * fit.nx
    z, mean, std = sample.standardized()  # all cells: noise alone seldom keeps still
    scan = step_distances(z[start : min(head, n - after)], 1)
    if still_lead(scan[:want], fit.nx, scan) >= 2 - parked[1]:
        return "its first frames keep as still as a parked probe (parked on the scan?)"
    last = sample.held(want + 1 + after)
    if last is not None:
        end = ((last[: last.shape[0] - after] - mean) / std)[::-1]
        if still_lead(step_distances(end, 1), fit.nx, scan) >= 2 - parked[0]:
            return "its last frames keep as still as a parked probe (parked on the scan?)"
    return ""


def _parked_runs_unlike_rows(sample, fit, basis, junk, blank, start: int) -> str:
    """Why the ``start`` after junk runs holding parked frames is not trusted, or ``""``:
    the parked frame next to the scan at either end lies as near a scan frame as the
    scan's frames lie to each other (:func:`_parked_next_to_scan`); or a snake's image
    tells another start (:func:`_parked_runs_unlike_image`)."""
    near = _parked_next_to_scan(sample, fit, junk, blank, start) or _parked_moving(
        sample, junk, blank, start
    )
    if near or fit.winding != "x":
        return near
    return _parked_runs_unlike_image(sample, fit, basis, junk, blank, start)


def _parked_next_to_scan(sample, fit, junk, blank, start: int) -> str:
    """Why the parked frames (``junk``: frames before and after the scan, ``blank`` the
    blanked ones among them, the outer ones) may hold scan frames, or ``""``: where the
    parked frame next to the scan at either end lies as near some scan frame (the one
    next to it in time left out) as ``SCAN_QUANTILE`` of the scan's frames lie to their
    nearest other one (:func:`~intake_tvips.maths.scan_ends.among_scan`), in the
    standardized cell sums (all of them, as the parked runs were found in: the scan's
    basis may not see a pattern off the scan). A probe parked on the scan's first
    position, the scan starting over a uniform region, reads as one run of alike frames
    reaching into the scan: noise-free grains under a drifting beam current were read
    four frames late at 1.0."""
    z, mean, std = sample.standardized()  # all cells: the basis may miss the parked
    end = sample.rec.n_frames - junk[1]
    scan = z[start : min(z.shape[0], end)]  # the frames read of the scan
    if scan.shape[0] < 4 * fit.nx:
        return ""
    sides, pairs = [], []
    if junk[0] > blank[0]:
        sides.append("before")
        pairs.append((z[start - 1], scan[1:]))
    parked_after = junk[1] - blank[1]
    last = sample.last(junk[1] + 1) if parked_after else None  # may read more
    if last is not None:
        sides.append("after")
        frame = (last[last.shape[0] - blank[1] - parked_after] - mean) / std
        pairs.append((frame, scan[: end - 1 - start]))
    for side, near in zip(sides, among_scan(pairs, scan) if pairs else []):
        if near:
            return (
                f"the parked frame next to the scan {side} it lies as near a scan frame as "
                "the scan's frames lie to each other (a scan frame?)"
            )
    return ""


def _parked_moving(sample, junk, blank, start: int) -> str:
    """Why the parked runs (``junk``: frames before and after the scan, ``blank`` the
    blanked ones among them) may hold scan frames, or ``""``: where a run's frames move
    in its last steps towards the scan (:func:`~intake_tvips.maths.scan_ends.moving_end`,
    standardized cell sums). Noise-free, a probe parked on the first position of a
    gradient's flat corner joined the scan's first three frames, whose descan and drift
    moved them a little: read three frames late at 1.0."""
    z, mean, std = sample.standardized()
    if _run_moves(sample.cells[blank[0] : start], z[blank[0] : start]):
        return "the parked frames before the scan move in their last steps (scan frames?)"
    parked_after = junk[1] - blank[1]
    last = sample.last(junk[1]) if parked_after >= 4 else None
    if last is not None:
        run = last[: last.shape[0] - blank[1]][::-1]
        if _run_moves(run, (run - mean) / std):
            return "the parked frames after the scan move in their first steps (scan frames?)"
    return ""


def _run_moves(cells: np.ndarray, z: np.ndarray) -> bool:
    """:func:`~intake_tvips.maths.scan_ends.moving_end` of a parked run (``cells``: its
    detector-cell sums, ordered towards the scan; ``z``: standardized), unless its last
    two steps change no cell by more than ``ROUNDING_COUNTS`` (a count's rounding)."""
    if cells.shape[0] >= 3 and np.abs(np.diff(cells[-3:], axis=0)).max() <= ROUNDING_COUNTS:
        return False
    return moving_end(z)


def _parked_runs_unlike_image(sample, fit, basis, junk, blank, start: int) -> str:
    """Why a snake's ``start`` after the junk runs (``junk``: frames before and after,
    ``blank`` the blanked ones among them) is not trusted, or ``""``: where the runs
    hold parked frames (not blanked ones), which could be scan frames alike them, and
    the image each start among those frames makes is clearly smoothest from another (a
    snake over a uniform border, its last frames as alike the parked ones after it, was
    read four frames early at 1.0). Only where the whole recording was read."""
    n = sample.rec.n_frames
    if sample.cells.shape[0] != n:
        return ""
    parked = (junk[0] - blank[0], junk[1] - blank[1])
    if min(parked) < 0 or not 0 < sum(parked) < fit.nx:
        return ""
    z = project(sample.cells[blank[0] : n - blank[1]], basis)
    found = start_by_image(z, fit.nx, fit.winding, sum(parked), ROLLS)
    if found.start is None or blank[0] + found.start == start:
        return ""
    return f"{found.why} (parked frames alike the scan's?)"


def _unmarked_start(sample, fit, basis, junk: tuple[int, int], why: str):
    """``(fit, start, frames after the scan, why)`` where no blanked frame marks either
    end (module text); or why not (a string). A snake's start from a probe parked on
    the scan must agree with its image where that tells, as after parked runs
    (:func:`_parked_runs_unlike_image`): frames parked on a uniform border look like
    the scan's own."""
    first = project(sample.cells[junk[0] :], basis)  # from the earliest start, for all
    start, parked_after, how = _parked_on_scan(sample, fit, basis, first, junk, why)
    if start is None:
        return _from_rows(sample, fit, basis, first, junk, how)
    if fit.winding == "x":  # a snake's image may tell otherwise
        image = _image_start(sample, fit, first, junk)
        if image.start is not None and junk[0] + image.start != start:
            return f"{how}; but {image.why} (parked frames alike the scan's?)"
    if start == 0 and not parked_after:  # no junk seen: whole rows, nothing parked
        found = _start_by_breaks(sample, fit, basis, first, junk)
        if not isinstance(found, str):
            return found
        how += "; so the start is assumed (a probe parked where it looks alike is not seen)"
        fit = replace(fit, confidence=min(fit.confidence, ASSUMED_START_CONFIDENCE))
    return fit, start, parked_after, how


def _from_rows(sample, fit, basis, z, junk: tuple[int, int], why: str):
    """The start by the rows' breaks (plain rows, winding ``"y"``) or by the image (a
    snake, whose rows do not break), ``z`` the features from the earliest start; why
    not (a string, after ``why``, the parked frames' answer)."""
    if fit.winding == "x":
        found = _start_by_image(sample, fit, basis, z, junk)
    else:
        found = _start_by_breaks(sample, fit, basis, z, junk)
    return _after(f"{why}; and ", found) if isinstance(found, str) else found


def _start_by_breaks(sample, fit, basis, z, junk: tuple[int, int]):
    """The start by the breaks in the features ``z`` from the earliest start, or why
    not (words). Where the recording holds whole rows, every start of the row is open
    (a probe parked for a row's worth of frames before and after the scan together)."""
    before, after = junk
    extra = (sample.rec.n_frames - before - after) % fit.nx
    if fit.winding == "x":
        return "a snake's rows do not break"
    b, how, lean, one_way = start_by_breaks(z, fit.nx, fit.winding, extra or fit.nx - 1)
    if b is None and one_way and not _left_out_moves(sample, fit, basis, z, junk, lean):
        how += "; taken all the same: the frames it leaves at the ends keep still"
        return _checked(sample, fit, basis, z, junk, lean, how, ONE_WAY_START_CONFIDENCE)
    if b is None:
        return how if lean is None else Leaning(how, before + lean)
    return _checked(sample, fit, basis, z, junk, b, how, BREAKS_START_CONFIDENCE)


def _left_out_moves(sample, fit, basis, z, junk: tuple[int, int], b: int) -> bool:
    """Whether the frames the start ``b`` (from the earliest start; ``z`` the features
    from there) leaves before the scan, or the rows leave after it, move at their end
    next to the scan (:func:`~intake_tvips.maths.scan_ends.moving_end` at
    ``LEFT_OUT_STILL``, by more than a ``STILL_FLOOR`` share of the scan's median step):
    scan frames among them, so the start is off. Unread ends do not tell (``True``).
    The end is read as far as :func:`_checked` reads it next: one request for both."""
    rest = (sample.rec.n_frames - sum(junk) - b) % fit.nx
    tail = sample.last(fit.nx + rest + junk[1])
    if tail is None:
        return True
    after = project(tail[fit.nx : fit.nx + rest], basis)[::-1]  # ordered towards the scan
    floor = STILL_FLOOR * float(np.median(step_distances(z[b:], 1)))
    return moving_end(z[:b], floor, LEFT_OUT_STILL) or moving_end(after, floor, LEFT_OUT_STILL)


def _start_by_image(sample, fit, basis, z, junk: tuple[int, int]):
    """The start of a snake by the image each open start makes of the features ``z``
    from the earliest start, or why not (words)."""
    found = _image_start(sample, fit, z, junk)
    if found.start is None:
        return found.why
    return _checked(sample, fit, basis, z, junk, found.start, found.why, IMAGE_START_CONFIDENCE)


def _image_start(sample, fit, z, junk: tuple[int, int]) -> ImageStart:
    """:func:`~intake_tvips.maths.scan_start_image.start_by_image` of the features ``z``
    from the earliest start (the frames read from the start, or the whole recording
    but the blanked frames at its end)."""
    n, (before, after) = sample.rec.n_frames, junk
    extra = (n - before - after) % fit.nx
    if sample.cells.shape[0] == n:
        z = z[: n - before - after]
    return start_by_image(z, fit.nx, fit.winding, extra, ROLLS)


def _checked(sample, fit, basis, z, junk, b: int, how: str, most: float):
    """``(fit, start, frames after, how)`` for the start ``b`` (from the earliest start)
    that the breaks or the image told (``how``), its confidence at most ``most``,
    unless a row at either end repeats one pattern or, with winding ``"y"``, the frames
    after the scan may be a row cut short (then why not, words)."""
    before, after = junk
    rest = (sample.rec.n_frames - before - after - b) % fit.nx  # the frames after the scan
    last = sample.last(fit.nx + rest + after)
    if last is None:
        return Leaning(f"{how}, but the rows' ends are not read", before + b)
    last = project(last[: last.shape[0] - after], basis)
    if junk_rows(z, fit.nx, b, last, rest, fit.winding):
        return Leaning(f"{how}, but a row at either end repeats one pattern (parked?)", before + b)
    if fit.winding == "y" and cut_row(z[b:], fit.nx, last, rest):
        return Leaning(f"{how}, but the frames after it may be a row cut short", before + b)
    fit = replace(fit, confidence=min(fit.confidence, most))
    return fit, before + b, rest, how


def _parked_on_scan(sample, fit, basis, first, junk: tuple[int, int], why: str):
    """``(start, parked frames after, why)`` where the frames beyond whole rows may be
    a probe parked (:func:`~intake_tvips.maths.scan_ends.parked_on_scan`), in the
    features of the fit (``basis``; ``first``: those from the earliest start), or
    ``(None, 0, why)``."""
    n, (before, after) = sample.rec.n_frames, junk
    lag = 2 * fit.nx if fit.winding == "x" else fit.nx
    last = sample.last(LONGEST_PARKED + 1 + lag + after)
    if last is None:
        return None, 0, why
    last = project(last[: last.shape[0] - after], basis)
    whole = sample.cells.shape[0] == n
    extra = (n - before - after) % fit.nx
    b, a, how = parked_on_scan(first, last, lag, extra, fit.nx, overlap=whole)
    if b is None:
        return None, 0, f"{why}: {how}"
    return before + b, a, how
