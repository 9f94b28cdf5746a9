"""The whole scan from the pixels, for recordings whose headers carry no positions.

A bounded run of frames from the start of the recording (the hysteresis estimate's
budget: ``max(3 %, 64 MiB)``, at least ``MIN_HEAD_FRAMES``) and the last ``TAIL_FRAMES``
are read and reduced to detector-cell sums (:func:`~.pixels.cell_sums`). The row length
and winding come from :func:`intake_tvips.maths.pixel_raster.fit_raster`, the start from
the blanked frames at either end (:func:`~intake_tvips.maths.scan_ends.scan_start`) or,
where none marks either end, by :mod:`.pixel_start` (a probe parked on the scan, where
the rows break, the image each open start makes; also where runs of alike frames at
the ends, taken for a probe parked off the scan, leave no whole number of rows between
them: :func:`_unparked`), the row count from the frames between, the hysteresis from
:func:`~.pixels.estimate_hysteresis`. Where the pixels cannot tell, the answer is
``method="none"`` with the reason: also for scans of fewer than ``MIN_DECIDED_ROWS``
rows or rows shorter than ``MIN_DECIDED_COLUMNS`` frames.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from intake_tvips.maths.frame_features import standardized
from intake_tvips.maths.pixel_raster import (
    MAX_FRAMES,
    RasterFit,
    feature_basis,
    fit_raster,
    project,
)
from intake_tvips.maths.scan_ends import (
    junk_ends,
    missed_parked,
    parked_ends,
    same_spot,
)
from intake_tvips.recording.core import Recording
from intake_tvips.recording.detection import ScanDetection
from intake_tvips.recording.pixel_start import (  # noqa: F401 (re-exported)
    ASSUMED_START_CONFIDENCE,
    BREAKS_START_CONFIDENCE,
    IMAGE_START_CONFIDENCE,
    Leaning,
    started,
)
from intake_tvips.recording.pixel_winding import winding_evidence
from intake_tvips.recording.pixels import (
    _read_features,
    default_budget,
    with_estimate,
    with_pixels,
)
from intake_tvips.recording.rotator_pixels import rotator_with_pixels

#: frames read at least from the start (when the recording has them)
MIN_HEAD_FRAMES = 1024
#: frames read from the end, for blanked frames after the scan
TAIL_FRAMES = 64
#: the run read from the start grows while undecided, up to this many first budgets
GROWTH = 4
#: rows shorter than this, or fewer rows, are not told from the pixels (unlike
#: ``pixel_raster.MIN_ROWS``, the rows the fit needs among the frames read): with few
#: columns every pairing of nearby frames looks alike (windings and multiples of the
#: row confused), with few rows winding ``"y"`` barely alternates (measured: 4-14
#: columns or 9-16 rows gave confident wrong answers, 16 columns some)
MIN_DECIDED_COLUMNS = 20
MIN_DECIDED_ROWS = 16
#: the image tells plain rows from winding ``"y"`` (:mod:`.pixel_winding`) when its
#: paired test reaches this confidence and the favoured placement misfits this much
#: less (relative); measured on 150 generated and real-image scans: the placements
#: that could not be told (lamellae along the columns, fine gratings) reached at most
#: 0.79 and 4 %, the told ones 0.99 and 20 % or more
WINDING_CONFIDENCE = 0.99
WINDING_GAP = 0.1
#: ... or when it reaches this confidence with a misfit this much lower: over 480 more
#: scans (generated, real images, gratings; at the true scan), the image never favoured
#: the wrong winding above 0.72 nor by more than 6 %; a smiley wound along y on 32 rows
#: favoured by 112 % at 0.96 (too few rows for 0.99) was left undecided
STRONG_WINDING_CONFIDENCE = 0.9
STRONG_WINDING_GAP = 0.5
#: the confidence at most of plain rows or winding ``"y"`` that neither the steps nor
#: the image tell apart (the sample looks the same either way: lamellae along the
#: columns)
UNSURE_WINDING_CONFIDENCE = 0.5
#: ... and where the image leans to the other winding at least this much (above the
#: 0.79 that placements which could not be told reached), undecided: a disc on a few
#: detector cells gave plain rows at 0.5 for winding y the image favoured at 0.88-0.97
LEANS_AGAINST = 0.8
#: the confidence at most of a scan whose junk runs took one or two frames more to make
#: whole rows (:func:`_recounted`): its start rests on how those frames compare (3 right
#: and none wrong over the 540 parked-off cases of seeds 37-43 and 44-46)
MISSED_CONFIDENCE = 0.9
#: why a snake found from the pixels is undecided when its rows roll beyond the range
#: the hysteresis estimate answers: a start ``k`` frames off rolls a snake's rows by
#: ``2 k`` (a noise-free snake parked on the scan 4 + 2 frames, the parked frames alike
#: the scan's uniform border, was read with start 0 at 1.0, its rows rolled 13 for 5)
ROLLED_SNAKE = (
    "at the start found the rows roll beyond the range the hysteresis is answered in: "
    "a start k frames off rolls a snake's rows by 2 k, so the start is not trusted"
)
#: ... or when at no roll in that range its neighbouring rows predict each other (a
#: snake parked on the scan 29 + 39 frames, its hysteresis 11, was read a row too long
#: from start 0 at 0.67: stress seed 8)
UNPREDICTED_SNAKE = (
    "at the start found no roll in the range the hysteresis is answered in makes the "
    "neighbouring rows predict each other: a start k frames off rolls a snake's rows by "
    "2 k, so the start is not trusted"
)


def detect_with_pixels(found: ScanDetection, rec: Recording) -> ScanDetection:
    """A header detection completed by the pixels: the whole scan where the headers
    found none (:func:`scan_from_pixels`, the headers' reason kept in front); the rows
    and winding of a rotator-index scan that cannot tell its winding where the pixels'
    scan agrees with it (:func:`~.rotator_pixels.rotator_with_pixels`); else the
    hysteresis of a winding scan (:func:`~.pixels.with_pixels`), the winding of one
    ``Scan_x`` alone cannot tell (:func:`_winding_by_image`) told by the image first.
    Where a rotator index counts to a number that is no square (no scan to the
    headers: ``counted``), rows and winding are fitted to the frames it counts."""
    if found.method == "rotidx" and found.winding_assumed and not found.use_auto:
        told = (found.scan_start_frame, math.prod(found.scan_shape))
        return rotator_with_pixels(found, scan_from_pixels(rec, known=told))
    if found.method == "scan_xy" and found.winding_assumed:
        found = _winding_by_image(found, rec)
    if found.method != "none":
        return with_pixels(found, rec)
    from_pixels = scan_from_pixels(rec, known=found.counted)
    if found.counted is not None and from_pixels.method == "pixels":
        from_pixels = replace(from_pixels, method="rotidx")  # its start and count
    return replace(from_pixels, reason=f"headers: {found.reason}; {from_pixels.reason}")


def _winding_by_image(found: ScanDetection, rec: Recording) -> ScanDetection:
    """A ``Scan_x``-alone raster, whose positions fit winding ``"y"`` as well as none
    (``winding_assumed``), with the winding the image of the scan clearly favours
    (:func:`~.pixel_winding.winding_evidence`, as :func:`_clear`), its confidence at
    most the image's; unchanged but for the reason where the image does not tell."""
    ev = winding_evidence(rec, found.scan_shape, found.scan_start_frame)
    if not _clear(ev):
        return replace(found, reason=f"{found.reason}; nor does the image tell: {_told(ev)}")
    note = f"winding {ev.favours} from the image: {_told(ev)}"
    return replace(
        found, winding_scan_axis=ev.favours, winding_assumed=False,
        confidence=min(found.confidence, ev.confidence), reason=f"{found.reason}; {note}",
    )  # fmt: skip


def scan_from_pixels(
    rec: Recording, max_bytes: int | None = None, known: tuple[int, int] | None = None
) -> ScanDetection:
    """The scan of ``rec`` found from a bounded sample of its pixels (module doc).

    ``max_bytes``: the first read's budget (default ``max(3 %, 64 MiB)``); while the
    rows cannot be told from the frames read (rows longer than a few of those frames
    hold), the run read from the start doubles, up to ``GROWTH`` times that budget and
    ``MAX_FRAMES`` frames. ``known``: ``(start, positions)`` where the headers tell
    them (a rotator index counting the scan's positions): only rows and winding are
    looked for, in those frames."""
    n, record = rec.n_frames, rec.layout.record_bytes
    budget = max_bytes or default_budget(rec)
    head = int(min(n, MAX_FRAMES, max(MIN_HEAD_FRAMES, budget // record)))
    largest = int(min(n, max(head, min(GROWTH * budget // record, MAX_FRAMES))))
    sample = _Sample(rec)
    while True:
        sample.read(head)
        raster = _raster(sample, n, known)
        found = _fit(sample, n, raster, known)
        if not isinstance(found, str) or head >= largest:
            break
        head = min(2 * head, largest)
    fitted = found
    if not isinstance(found, str):
        found = _too_small(found, n) or _winding_told(sample, n, found)
    if isinstance(found, str):
        return _none(found, sample.cost, _guess(n, fitted, raster))
    fit, start, after, why, _ = found
    ny = (n - after - start) // fit.nx
    notes = [*fit.notes, why, f"{ny} rows"]
    reason = "pixels: " + "; ".join(notes) + _cost_note(sample.cost)
    det = ScanDetection(
        (ny, fit.nx), start, fit.winding, 0, "pixels", fit.confidence, reason, headers_read=0
    )
    if not fit.winding:
        return det
    det, est = with_estimate(det, rec)
    if fit.winding == "x" and known is None and (est.beyond or est.unpredicted):
        why = ROLLED_SNAKE if est.beyond else UNPREDICTED_SNAKE
        return _none(f"{notes[0]}; but {why}", sample.cost, _guess(n, found, raster))
    return det


def _too_small(found, n: int) -> str | None:
    """Why the scan ``found`` (:func:`_fit`'s) is not told from the pixels (too few rows
    or too short ones), or ``None``."""
    fit, start, after = found[:3]
    ny = (n - after - start) // fit.nx
    if ny >= MIN_DECIDED_ROWS and fit.nx >= MIN_DECIDED_COLUMNS:
        return None
    return (
        f"{fit.notes[0]}; but {ny} rows of {fit.nx}: scans of fewer than "
        f"{MIN_DECIDED_ROWS} rows or rows shorter than {MIN_DECIDED_COLUMNS} frames are "
        "not told from the pixels"
    )


def _winding_told(sample: _Sample, n: int, found):
    """``found`` (:func:`_fit`'s) with plain rows or winding ``"y"`` checked on the
    image (:func:`~.pixel_winding.winding_evidence`): kept where the image clearly
    agrees; found again for the other winding where the image clearly favours it and
    agrees at that start too (else why not, a string); where the image cannot tell,
    kept as it is for plain rows the steps were sure of (winding y alternates the
    steps; a sample can imitate that, not hide it), else with confidence at most
    ``UNSURE_WINDING_CONFIDENCE`` (bricks made the steps alternate and the image lean
    to winding y over plain rows), or undecided where the image leans to the other
    winding (``LEANS_AGAINST``) or the steps fit both windings alike
    (``RasterFit.winding_open``)."""
    fit, start, after, why, raster = found
    if fit.winding == "x":
        return found
    ev = _evidence(sample, n, fit.nx, start, after)
    sure = fit.winding_sure and fit.winding is None
    if not _clear(ev):
        if fit.winding_open or (
            not sure and ev.favours != fit.winding and ev.confidence >= LEANS_AGAINST
        ):
            return f"{fit.notes[0]}; but {_told(ev)}, and the steps between frames do not tell"
        if not sure:
            conf = min(fit.confidence, UNSURE_WINDING_CONFIDENCE)
            note = f"{_NAMES[_other(fit.winding)]} not ruled out: {_told(ev)}"
            fit = replace(fit, confidence=conf, notes=(*fit.notes, note))
        return fit, start, after, why, raster
    if ev.favours == fit.winding:
        note = f"{_NAMES[_other(fit.winding)]} ruled out: {_told(ev)}"
        fit = replace(fit, confidence=min(fit.confidence, ev.confidence))
        return replace(fit, notes=(*fit.notes, note)), start, after, why, raster
    return _switched(sample, n, fit, ev, raster)


def _switched(sample: _Sample, n: int, fit, ev, raster):
    """The raster of ``fit`` with the winding the image ``ev`` favours, its start
    found again, where the image favours that winding at that start too; else why
    not (a string)."""
    steps = f"{fit.notes[0]} by the steps between frames, but {_told(ev)}"
    what = "rows winding along y" if ev.favours == "y" else "rows"
    notes = (f"{what} of {fit.nx} frames", f"the steps fit {fit.notes[0]}, but {_told(ev)}")
    conf = min(fit.confidence, ev.confidence)
    told = replace(
        fit, winding=ev.favours, winding_sure=True, winding_open=False, confidence=conf,
        notes=notes,
    )  # fmt: skip
    found = started(sample, n, told, *raster[1:])
    if isinstance(found, str):
        return f"{steps}; and {found}"
    small = _too_small(found, n)  # the start may have moved with the winding
    if small:
        return small
    told, start, after, why = found
    again = _evidence(sample, n, told.nx, start, after)
    if not (_clear(again) and again.favours == ev.favours):
        return f"{steps}; at the start found for it, {_told(again)}"
    return told, start, after, why, raster


def _evidence(sample: _Sample, n: int, nx: int, start: int, after: int):
    ev = winding_evidence(sample.rec, ((n - after - start) // nx, nx), start)
    sample._add({"requests": ev.requests, "bytes": ev.bytes_read})
    return ev


def _clear(ev) -> bool:
    """Whether the image tells the winding: a paired test at ``WINDING_CONFIDENCE`` and
    a misfit ``WINDING_GAP`` (relative) lower for the placement it favours, or at
    ``STRONG_WINDING_CONFIDENCE`` and ``STRONG_WINDING_GAP``."""
    if ev.confidence >= STRONG_WINDING_CONFIDENCE and ev.gap >= STRONG_WINDING_GAP:
        return True
    return ev.confidence >= WINDING_CONFIDENCE and ev.gap >= WINDING_GAP


def _told(ev) -> str:
    """What the image ``ev`` says, in words."""
    if ev.why:
        return f"the image cannot tell: {ev.why}"
    return (
        f"the image favours {_NAMES[ev.favours]} (confidence {ev.confidence:.2f}, "
        f"misfit {ev.gap:.0%} lower)"
    )


def _other(winding: str | None) -> str | None:
    return None if winding == "y" else "y"


_NAMES = {None: "plain rows", "y": "winding y"}


class _Sample:
    """Detector-cell sums of the frames read from the start of ``rec`` and of its last
    ``TAIL_FRAMES`` (more on request), and what reading them cost."""

    def __init__(self, rec: Recording):
        self.rec = rec
        self.cells = np.zeros((0, 0))
        self.tail = np.zeros((0, 0))
        self.cost = {"requests": 0, "bytes": 0}
        self._standardized = None

    def standardized(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`~intake_tvips.maths.frame_features.standardized` of ``cells`` (all
        cells; kept until more frames are read: several checks of one fit ask)."""
        if self._standardized is None or self._standardized[0].shape != self.cells.shape:
            self._standardized = standardized(self.cells)
        return self._standardized

    def read(self, head: int) -> None:
        """Read the frames from the start up to ``head`` (those not read yet), and the
        tail frames after them."""
        n = self.rec.n_frames
        new = np.arange(self.cells.shape[0], head)
        if new.size:
            more, cost = _read_features(self.rec, new)
            self.cells = np.concatenate([self.cells, more]) if self.cells.size else more
            self._add(cost)
        self._read_tail(max(head, n - TAIL_FRAMES))

    def _read_tail(self, begin: int) -> None:
        """Hold the cell sums of the frames from ``begin`` (after the head) to the end."""
        tail = np.arange(begin, self.rec.n_frames)
        if tail.size > self.tail.shape[0]:
            self.tail, cost = _read_features(self.rec, tail)
            self._add(cost)
        else:  # held already (the tail always ends with the last frame)
            self.tail = self.tail[self.tail.shape[0] - tail.size :]

    def last(self, count: int) -> np.ndarray | None:
        """The cell sums of the last ``count`` frames (read when not yet), ``None`` when
        they would cost more than a quarter of the head's bytes."""
        n, head = self.rec.n_frames, self.cells.shape[0]
        if head >= n:
            return self.cells[-count:]
        if count > self.tail.shape[0]:
            if count > head // 4:
                return None
            self._read_tail(max(head, n - count))
        short = count - self.tail.shape[0]  # then the tail follows the head's end
        return np.concatenate([self.cells[-short:], self.tail]) if short > 0 else self.tail

    def held(self, count: int) -> np.ndarray | None:
        """The cell sums of the last ``count`` frames where read already (no request),
        else ``None``."""
        held = self.cells if self.cells.shape[0] == self.rec.n_frames else self.tail
        return held[held.shape[0] - count :] if count <= held.shape[0] else None

    def _add(self, cost: dict) -> None:
        self.cost = {k: self.cost[k] + cost[k] for k in self.cost}


def _fit(sample: _Sample, n: int, raster, known: tuple[int, int] | None = None):
    """``(fit, start, frames after the scan, why the start, the raster)`` or why not (a
    string), of the raster :func:`_raster` found in ``sample`` (kept, to find the start
    again for another winding); the start the headers tell where ``known``."""
    if isinstance(raster, str):
        return raster
    if known is not None:
        start, positions = known
        why = f"the start and the count the rotator index tells ({positions} from frame {start})"
        return raster[0], start, n - start - positions, why, raster
    found = started(sample, n, *raster)
    return found if isinstance(found, str) else (*found, raster)


def _raster(sample: _Sample, n: int, known: tuple[int, int] | None = None):
    """``(fit, feature basis, junk frames before, after, the blanked ones among them)``
    or why not (a string). Plain rows found in features a principal component did not
    carry (a sample seen by a few detector cells) are not sure of their winding: the
    image decides. ``known``: ``(start, positions)`` the headers tell, the frames
    around them taken for junk."""
    head = sample.cells.shape[0]
    if known is not None:
        start, positions = known
        lit = sample.cells[start : start + positions]
        return _fitted(_features(lit, (0, 0)), (0, 0), n, (start, n - start - positions))
    blank = junk_ends(np.concatenate([sample.cells.sum(axis=1), sample.tail.sum(axis=1)]))
    whole = head == n  # the end of the scan is among the frames read
    lit = sample.cells[blank[0] : head - (blank[1] if whole else 0)]
    parked = parked_ends(lit)
    if not whole:
        return _fitted(_features(lit, (parked[0], 0)), (parked[0], 0), n, blank)
    parked = same_spot(lit, parked)
    features = _features(lit, parked)
    found = _fitted(features, parked, n, blank)
    if isinstance(found, str) and features is not None and parked != (0, 0):
        return _refitted(lit, parked, features[1], n, blank) or found
    return found


def _refitted(lit: np.ndarray, parked: tuple[int, int], z: np.ndarray, n: int, blank):
    """Where the frames between ``parked`` runs (a whole recording; ``z`` their
    features) are no whole number of the rows that fit them: :func:`_recounted`, else
    :func:`_unparked`; ``None`` otherwise."""
    fit = fit_raster(z)
    if fit.nx is None or not z.shape[0] % fit.nx:
        return None
    return _recounted(lit, parked, fit, z.shape[0] % fit.nx, n, blank) or _unparked(lit, n, blank)


def _unparked(lit: np.ndarray, n: int, blank: tuple[int, int]):
    """:func:`_fitted` of every frame ``lit`` (those between the blanked ones): the runs
    of alike frames found at the ends taken for what they may be, a probe parked on the
    scan whose runs reach into the scan's first (last) frames where those look alike
    too (a uniform border), or scan frames a drifting beam current sets apart. The start
    is then looked for as where no run was found (after the blanked frames, or as for a
    probe parked on the scan unseen: :func:`~intake_tvips.recording.pixel_start.started`);
    ``None`` where nothing fits. Measured: camera seed 317, noise-free particles, stripes
    and coins (read noise or a descan), the probe parked 1-5 frames on the origin or the
    first position: 4 of 5 such recordings undecided before, now right (the fifth, a
    smiley, the breaks leave undecided)."""
    found = _fitted(_features(lit, (0, 0)), (0, 0), n, blank)
    return None if isinstance(found, str) else found


def _features(lit: np.ndarray, parked: tuple[int, int]):
    """``(feature basis, features)`` of the frames ``lit`` less the ``parked`` ones at
    either end, ``None`` where they have no contrast."""
    scan = lit[parked[0] : lit.shape[0] - parked[1]]
    basis = feature_basis(scan)
    return None if basis is None else (basis, project(scan, basis))


def _fitted(features, parked: tuple[int, int], n: int, blank: tuple[int, int]):
    """:func:`_raster`'s answer from the ``features`` (:func:`_features`) of the frames
    between the ``blank`` ones less the ``parked`` ones (when the frames read are not
    the whole recording, the blanked ones at its end come from its last frames)."""
    if features is None:
        return "no contrast between the frames read (a flat or noise-only sample)"
    basis, z = features
    before, after = blank[0] + parked[0], blank[1] + parked[1]
    fit = fit_raster(z, n - before - after if before or after else None)
    if fit.nx is None:
        return RowsLeaning(fit.why, (*fit.lean, before, after)) if fit.lean else fit.why
    if basis.autocorrelated:  # the steps' alternation is calibrated on principal components
        fit = replace(fit, winding_sure=False)
    return fit, basis, before, after, blank


def _recounted(lit: np.ndarray, parked: tuple[int, int], fit, extra: int, n: int, blank):
    """Where the frames between ``parked`` runs are ``extra`` frames beyond whole rows
    of the rows ``fit`` that fit them, :func:`_fitted` with the frames at the ends like
    the parked ones added to the runs (:func:`~intake_tvips.maths.scan_ends.
    missed_parked`); ``None`` otherwise."""
    runs = missed_parked(lit, parked, extra, 2 if fit.winding == "y" else 1)
    if runs is None:
        return None
    found = _fitted(_features(lit, runs), runs, n, blank)
    if isinstance(found, str):
        return None
    note = (
        f"{runs[0] - parked[0]} frames before and {runs[1] - parked[1]} after found like the "
        f"parked ones too (the frames between held {extra} beyond whole rows)"
    )
    conf = min(found[0].confidence, MISSED_CONFIDENCE)
    return (replace(found[0], confidence=conf, notes=(*found[0].notes, note)), *found[1:])


class RowsLeaning(str):
    """Why no rows were decided (words), carrying those the pixels lean to all the same
    (``lean``: frames a row, winding, junk frames seen before and after the scan;
    :attr:`~intake_tvips.maths.pixel_raster.RasterFit.lean`): a first view to tune
    by eye, never an answer."""

    lean: tuple[int, str, int, int]

    def __new__(cls, why: str, lean: tuple[int, str, int, int]) -> RowsLeaning:
        text = super().__new__(cls, why)
        text.lean = lean
        return text


def _guess(n: int, fitted, raster) -> dict | None:
    """Where the pixels do not decide: the scan they lean to, a first view to tune by
    eye (``ScanDetection.guess``), never an answer. The rows, winding and start found
    before a later check refused them (``fitted``, :func:`_fit`'s), else the rows and
    winding of ``raster`` (:func:`_raster`'s, that ``fitted`` came from), from the
    first frame after the junk seen at the start; a snake where it tied with rows of
    its row pairs (:class:`RowsLeaning`); ``None`` where no rows fit."""
    if isinstance(raster, RowsLeaning):  # a snake and rows of its row pairs tied
        nx, winding, start, after = raster.lean
        fit = RasterFit(nx, winding)
    elif not isinstance(fitted, str):
        fit, start, after = fitted[:3]
    elif isinstance(raster, str):
        return None
    else:
        fit, _, start, after, _ = raster
        if isinstance(fitted, Leaning):  # the breaks or the image told a start, refused
            start = fitted.start
    ny = (n - start - after) // fit.nx
    if ny < 1:
        return None
    return {"scan_shape": (ny, fit.nx), "scan_start_frame": start, "winding_scan_axis": fit.winding}


def _none(why: str, cost: dict, guess: dict | None = None) -> ScanDetection:
    reason = f"pixels: undecided: {why}{_cost_note(cost)}"
    return ScanDetection(None, 0, None, 0, "none", 0.0, reason, headers_read=0, guess=guess)


def _cost_note(cost: dict) -> str:
    return f" ({cost['bytes'] / 2**20:.1f} MiB in {cost['requests']} reads)"
