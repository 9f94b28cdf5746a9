"""Scan parameters from the pixels: the hysteresis of a winding scan, from a bounded sample.

The frame headers never carry the hysteresis. Here a few triplets of neighbouring scan
lines are read (a window of each line, so no candidate roll wraps it around; one ranged
read per line segment), each frame is reduced to sums over a coarse grid of detector
cells, and :func:`intake_tvips.maths.alignment.align` picks the roll that lines the
wound lines up with their neighbours, with an honest confidence (undecided when the
sample cannot tell). When the first round is undecided, more lines are read in rounds
until the answer is decided or the byte budget is spent. The cost depends on the sample
(lines, window, candidate shifts, frame size), not on the size of the scan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from intake_tvips.graph.build import block_task, max_gap_records
from intake_tvips.maths.alignment import (
    GROUP,
    Alignment,
    SignalBasis,
    align_projected,
    middle_count,
    no_signal,
    plan_triplets,
    signal_basis,
)
from intake_tvips.maths.scan import IndexMap, normalize_scan_shape, normalize_winding
from intake_tvips.recording.core import Recording, open_recording
from intake_tvips.recording.detect_reason import HYSTERESIS_ASSUMED
from intake_tvips.recording.pixel_progress import pixel_bar, shown_if

#: candidate hysteresis values tried: -MAX_SHIFT .. MAX_SHIFT (fewer on short lines)
MAX_SHIFT = 12
#: candidates up to GUARD * max_shift are scored, answers only up to max_shift: a truth
#: beyond the range then ties with its alias in a periodic texture instead of losing
GUARD = 2
#: positions of each sampled line compared (fewer on short lines)
WINDOW = 48
#: triplets of lines read in the first round; each later round reads as many as all
#: rounds before it (8, 8, 16, 32, 64: the sample doubles, so that few looks are taken)
TRIPLETS_PER_ROUND = 8
#: rounds at most (each reads new lines, spread between those of earlier rounds)
MAX_ROUNDS = 5
#: each round's share of the sample (triplets read, in TRIPLETS_PER_ROUND)
ROUND_SHARES = (1, 1, 2, 4, 8)
#: after the first round, reads stop at this share of the recording's bytes ...
BUDGET_FRACTION = 0.03
#: ... or at this many bytes, whichever is more (a small recording may be read more)
BUDGET_FLOOR = 64 * 2**20
#: detector cells per side whose sums are a frame's features
CELLS = 8
#: frames read at once (bounds the memory of a round)
BATCH_BYTES = 128 * 2**20
#: remote reads of the samples merge neighbouring byte ranges only across gaps of at
#: most this many bytes (a record at least), not the bulk reads' 1 MiB
#: (``graph.build.REMOTE_MERGE_GAP_BYTES``): the triplets of winding ``"y"`` take three
#: frames from each row, a few dozen frames apart, and the 1 MiB merge read 86-94 % of
#: a 1 GiB recording of 32 KiB frames for them. With 64 requests in flight
#: (``obstore_io.MAX_IN_FLIGHT``) a request costs about 1/64 of its latency (about 1 ms
#: at 50 ms), which at 1 Gbit/s is the time of 128 KiB
SAMPLE_GAP_BYTES = 128 * 2**10


@dataclass(frozen=True)
class HysteresisEstimate:
    """What :func:`estimate_hysteresis` found.

    ``hysteresis``: the roll of the wound lines (an int; ``None`` when undecided),
    ``confidence`` (0..1, see :mod:`intake_tvips.maths.alignment`), ``reason`` in words,
    ``frames_read``/``bytes_read``/``requests`` what it cost, ``lines`` the scan lines
    compared, ``candidates`` the range of values tried, ``runner_up`` the value hardest to
    tell from the answer, ``scores`` per candidate (lower fits better), ``beyond``
    whether it is undecided because the best fit lies beyond the range answered,
    ``unpredicted`` because at no roll in it do the neighbouring lines predict each
    other (a sample changing too fast across them, or lines misplaced: a scan found
    from the pixels whose start is off rolls a snake's rows by twice that).
    """

    hysteresis: int | None
    confidence: float
    reason: str
    frames_read: int = 0
    bytes_read: int = 0
    requests: int = 0
    lines: int = 0
    candidates: tuple[int, int] | None = None
    runner_up: int | None = None
    beyond: bool = False
    scores: tuple[float, ...] = field(default=(), repr=False)
    unpredicted: bool = False

    @property
    def decided(self) -> bool:
        return self.hysteresis is not None

    def as_dict(self) -> dict:
        """JSON-ready: value, confidence, source, reason and cost."""
        return {
            "hysteresis": self.hysteresis,
            "confidence": round(self.confidence, 4),
            "source": "pixels",
            "reason": self.reason,
            "frames_read": self.frames_read,
            "bytes_read": self.bytes_read,
            "requests": self.requests,
        }


def estimate_hysteresis(
    urlpath,
    scan_shape,
    scan_start_frame: int = 0,
    winding_scan_axis: str | None = "x",
    storage_options: dict | None = None,
    *,
    max_shift: int = MAX_SHIFT,
    window: int = WINDOW,
    max_bytes: int | None = None,
    progress: bool = False,
) -> HysteresisEstimate:
    """Estimate the hysteresis of a winding scan from a bounded sample of its pixels.

    ``urlpath`` is a URL (any fsspec URL, with ``storage_options``) or a recording from
    :func:`intake_tvips.open_recording`; ``scan_shape`` ``(ny, nx)``, ``scan_start_frame``
    and ``winding_scan_axis`` (``"x"`` or ``"y"``) are the scan's, as for
    :func:`intake_tvips.file_reader`. Values ``-max_shift .. max_shift`` are answered
    (a negative value rolls the other way; ``file_reader`` takes it as it is); twice
    that range is scored (:data:`GUARD`; less on short lines).

    Reads :data:`TRIPLETS_PER_ROUND` triplets of neighbouring lines (a window of
    ``window`` positions each; whole lines when the whole recording fits in the byte
    budget), then more rounds (each doubling the sample) while undecided, up to
    ``max_bytes`` (default: :data:`BUDGET_FRACTION` of the recording or
    :data:`BUDGET_FLOOR`, whichever is more; at least the first round).
    Returns a :class:`HysteresisEstimate`; its ``hysteresis`` is ``None`` when the
    sample cannot tell (no contrast, a periodic texture, too few lines): never a
    confident guess. Without winding the hysteresis does not apply: 0, confidence 1.
    ``progress``: a tqdm bar of the bytes read
    (:func:`~intake_tvips.recording.pixel_progress.progress_shown`).
    """
    rec = urlpath if isinstance(urlpath, Recording) else open_recording(urlpath, storage_options)
    shape = normalize_scan_shape(scan_shape)
    winding = normalize_winding(winding_scan_axis)
    if isinstance(scan_start_frame, bool) or not isinstance(scan_start_frame, (int, np.integer)):
        raise ValueError(f"scan_start_frame must be an integer, got {scan_start_frame!r}")
    if winding is None:
        return HysteresisEstimate(0, 1.0, "no winding: hysteresis does not apply")
    if len(shape) != 2:
        return HysteresisEstimate(None, 0.0, f"undecided: a scan of shape {shape} is not 2-D")
    estimator = _Estimator(rec, shape, int(scan_start_frame), winding, max_shift, window, max_bytes)
    with shown_if(progress):
        return estimator.run()


@dataclass
class _Estimator:
    """The rounds of one estimate: plans, frames read so far and their features."""

    rec: Recording
    shape: tuple[int, int]
    start: int
    winding: str
    max_shift: int
    window: int
    max_bytes: int | None
    plans: list = field(default_factory=list)
    frames: list = field(default_factory=list)
    have: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    features: np.ndarray | None = None
    requests: int = 0
    bytes_read: int = 0

    def run(self) -> HysteresisEstimate:
        found, why, window, looks = None, "", self._window(), MAX_ROUNDS
        for round_ in range(MAX_ROUNDS):
            if round_ >= looks:
                why = (
                    "every line was already sampled"
                    if round_ >= self._rounds_of_lines()
                    else "the byte budget is spent"
                )
                break
            plan = plan_triplets(
                self.shape,
                self.start,
                self.winding,
                self.rec.n_frames,
                max_shift=GUARD * self.max_shift,
                window=window,
                triplets=TRIPLETS_PER_ROUND * max(1, 2 ** (round_ - 1)),
                round_=round_,
                skip=TRIPLETS_PER_ROUND * (2**round_ // 2 if round_ else 0),
            )
            if isinstance(plan, str):
                why = plan
                break
            frames = plan.frames()
            new = np.setdiff1d(np.unique(frames), self.have)  # not read yet
            if round_ == 0:
                looks = min(self._looks(_planned_bytes(self.rec, new)), self._rounds_of_lines())
            if round_ and self._over_budget(new):
                why = "the byte budget is spent"
                break
            self._read(new)
            self.plans.append(plan)
            self.frames.append(frames)
            found = self._align(look_cost(round_, looks))
            if found.decided:
                break
        return self._estimate(found, why)

    def _looks(self, first: int) -> int:
        """The rounds the budget affords, from the bytes of the first (the sample
        doubles each round after the second): known before any pixel is seen, so that
        the error rate is spent over those looks only (:func:`look_cost`)."""
        looks = 1
        while looks < MAX_ROUNDS and first * sum(ROUND_SHARES[: looks + 1]) <= self._budget():
            looks += 1
        return looks

    def _rounds_of_lines(self) -> int:
        return rounds_for_lines(middle_count(self.shape, self.winding))

    def _budget(self) -> float:
        """The bytes the rounds after the first may read up to."""
        return default_budget(self.rec) if self.max_bytes is None else self.max_bytes

    def _window(self) -> int:
        """``window``; whole lines when the whole recording fits in the byte budget (a
        small recording: every position of a sampled line costs little and adds
        evidence)."""
        if self.rec.n_frames * self.rec.layout.record_bytes <= self._budget():
            return max(self.window, max(self.shape))
        return self.window

    def _over_budget(self, new: np.ndarray) -> bool:
        """Whether reading the frames ``new`` would pass the byte budget."""
        return self.bytes_read + _planned_bytes(self.rec, new) > self._budget()

    def _read(self, frames: np.ndarray) -> None:
        """Read ``frames`` (sorted, none read before) and keep their features."""
        got = self._features_of(frames)
        have = np.concatenate([self.have, frames])
        order = np.argsort(have, kind="stable")
        old = self.features if self.features is not None else got[:0]
        self.have, self.features = have[order], np.concatenate([old, got])[order]

    def _features_of(self, frames: np.ndarray) -> np.ndarray:
        feats, cost = _read_features(self.rec, frames)
        self.requests += cost["requests"]
        self.bytes_read += cost["bytes"]
        return frame_shares(feats) if self.winding == "y" else feats

    def _align(self, looks: float) -> Alignment:
        frames = np.concatenate(self.frames, axis=1)
        where = np.searchsorted(self.have, frames)
        odd = [frames[0][tuple(p.T)] for p in self._odd_pairs()]
        odd_lines = self.features[np.searchsorted(self.have, np.stack(odd))]
        valid = np.concatenate([p.valid() for p in self.plans], axis=1)
        cands = self.plans[0].candidates
        basis = signal_basis(self.features[where[0]], odd_lines)
        if not isinstance(basis, SignalBasis):
            return no_signal(cands, basis)
        lines = basis.project(self.features)[where]  # project first: fewer numbers to gather
        return align_projected(lines, basis, cands, valid, looks, self.max_shift)

    def _odd_pairs(self) -> list[np.ndarray]:
        """``(triplet, line)`` of every unmoving line, triplets counted over all plans."""
        out, base = [], 0
        for plan in self.plans:
            pairs = plan.odd_lines()
            out += [np.array([base + t, k]) for t, k in pairs]
            base += plan.middles.size
        return out

    def _estimate(self, found: Alignment | None, why: str) -> HysteresisEstimate:
        lines = np.unique(np.concatenate([p.middles for p in self.plans] or [[]]))
        lines = int(np.unique(lines[:, None] + np.array(GROUP)).size) if lines.size else 0
        cost = dict(
            frames_read=int(self.have.size),
            bytes_read=int(self.bytes_read),
            requests=int(self.requests),
            lines=lines,
        )
        if found is None:
            return HysteresisEstimate(None, 0.0, f"undecided: {why}", **cost)
        cands = found.candidates
        return HysteresisEstimate(
            found.best if found.decided else None,
            float(found.confidence),
            describe(found, lines, self.winding, why, self.max_shift),
            candidates=(int(cands[0]), int(cands[-1])),
            runner_up=found.runner_up,
            beyond=found.beyond(self.max_shift),
            scores=tuple(float(s) for s in found.scores),
            unpredicted=not found.decided and found.unpredicted,
            **cost,
        )


def default_budget(rec: Recording) -> float:
    """The bytes a sample of the pixels may read by default: ``BUDGET_FRACTION`` of the
    recording or ``BUDGET_FLOOR``, whichever is more."""
    return max(BUDGET_FRACTION * rec.n_frames * rec.layout.record_bytes, BUDGET_FLOOR)


def rounds_for_lines(middles: int) -> int:
    """The rounds until every one of ``middles`` triplet middles has been read (a small
    scan runs out of lines before the budget runs out of bytes): no more looks than
    these can be taken, so the error rate is spread over these only (:func:`look_cost`).
    Known from the shape alone, before any pixel is seen."""
    rounds = 1
    while rounds < MAX_ROUNDS and TRIPLETS_PER_ROUND * sum(ROUND_SHARES[:rounds]) < middles:
        rounds += 1
    return rounds


def look_cost(round_: int, looks: int) -> float:
    """What the p-values of round ``round_`` are multiplied by when ``looks`` rounds may
    be taken: Bonferroni over the looks, the error rate spent in proportion to each
    round's share of the largest sample (the inverses over the looks sum to 1; the last,
    largest look, which needs it most, gets the most), so that looking again cannot
    make a chance decision."""
    return sum(ROUND_SHARES[:looks]) / ROUND_SHARES[round_]


def with_pixels(found, rec: Recording):
    """The detection ``found`` (a :class:`~.detect.ScanDetection`) with its hysteresis
    estimated from the pixels, where the scan is a 2-D raster that winds; unchanged
    otherwise. ``hysteresis_source`` is ``"pixels"`` when decided, ``"undecided"`` (0
    kept) when not."""
    return with_estimate(found, rec)[0]


def with_estimate(found, rec: Recording):
    """``(found with its hysteresis, the estimate)`` as :func:`with_pixels`; the
    estimate is ``None`` where the scan does not wind."""
    from dataclasses import replace

    shape = found.scan_shape
    if shape is None or found.use_auto or found.winding_scan_axis is None or len(shape) != 2:
        return found, None
    est = estimate_hysteresis(rec, shape, found.scan_start_frame, found.winding_scan_axis)
    return replace(
        found,
        hysteresis=est.hysteresis if est.decided else 0,
        hysteresis_confidence=est.confidence,
        hysteresis_source="pixels" if est.decided else "undecided",
        reason=found.reason.replace(f"; {HYSTERESIS_ASSUMED}", "") + f"; hysteresis {est.reason}",
    ), est


def describe(
    found: Alignment, lines: int, winding: str, why: str = "", answer_shift: int | None = None
) -> str:
    """The reason of an estimate, in words."""
    kind = "rows" if winding == "x" else "columns"
    what = f"{lines} scan {kind}"
    conf = f"confidence {found.confidence:.2f}"
    if found.best is None:
        return f"undecided: no contrast in the pixels of {what} (a flat or noise-only sample)"
    if found.decided:
        return f"{found.best}, from the pixels of {what}, {conf}"
    rival = f" and {found.runner_up}" if found.runner_up is not None else ""
    tail = f"; {why}" if why else ""
    if found.unpredicted:
        better = f"only {found.gap:.1%} better" if found.gap > 0 else "no better"
        return (
            f"undecided: in the pixels of {what} the neighbouring {kind} do not "
            f"predict each other (the best fit, {found.best}, leaves "
            f"{min(found.unexplained, 1.0):.0%} of their structure unexplained and fits "
            f"{better} than another: a sample that changes too fast across them, or "
            f"repeats every few){tail}"
        )
    if found.beyond(answer_shift):
        return (
            f"undecided: the best fit in the pixels of {what}, {found.best}, lies beyond the "
            f"range answered (-{answer_shift}..{answer_shift}){tail}"
        )
    return (
        f"undecided: {found.best}{rival} fit about as well in the pixels of {what} ({conf}){tail}"
    )


def _read_task(rec: Recording, frames: np.ndarray):
    gap = max_gap_records(rec.parts, rec.index, SAMPLE_GAP_BYTES)
    return block_task(rec.parts, rec.index, IndexMap(frames), (slice(0, frames.size),), gap)


def _planned_bytes(rec: Recording, frames: np.ndarray) -> int:
    """The bytes reading ``frames`` takes (records skipped over in a range included)."""
    return _range_bytes(rec, _read_task(rec, frames).block.plan().ranges if frames.size else ())


def _range_bytes(rec: Recording, ranges) -> int:
    """The bytes of the planned record ``ranges``."""
    return sum(r.n_records for r in ranges) * rec.layout.record_bytes


def _read_features(rec: Recording, frames: np.ndarray) -> tuple[np.ndarray, dict]:
    """Detector-cell sums of ``frames`` (sorted, distinct), read in batches of bounded
    memory; and what that cost (``requests``, ``bytes``). A progress bar counts the
    bytes where :func:`~.pixel_progress.progress_shown` asks for one."""
    tasks = [_read_task(rec, batch) for batch in _batches(frames, rec)]
    plans = [task.block.plan().ranges for task in tasks]
    sizes = [_range_bytes(rec, ranges) for ranges in plans]
    cost = {"requests": sum(len(ranges) for ranges in plans), "bytes": sum(sizes)}
    out = []
    with pixel_bar(cost["bytes"], rec.parts.paths[0]) as bar:
        for task, size in zip(tasks, sizes, strict=True):
            out.append(cell_sums(task(), _cells(rec)))
            bar.update(size)
    cells = _cells(rec) ** 2
    return (np.concatenate(out) if out else np.zeros((0, cells))), cost


def cell_sums(frames: np.ndarray, cells: int) -> np.ndarray:
    """``(n, cells * cells)`` float sums of each frame over a grid of detector cells
    covering every pixel (cells of a detector that ``cells`` does not divide differ by
    at most one pixel per side)."""
    n, dy, dx = frames.shape[0], frames.shape[-2], frames.shape[-1]
    acc = np.uint64 if frames.dtype.itemsize > 2 else np.uint32  # a band of 65535s fits
    if dy % cells == 0 and dx % cells == 0:  # equal cells: reshaping is faster
        rows = frames.reshape(n, cells, dy // cells, dx)
        bands = np.add.reduce(rows, axis=2, dtype=acc)
        sums = np.add.reduce(bands.reshape(n, cells, cells, dx // cells), axis=3, dtype=np.uint64)
        return sums.reshape(n, cells * cells).astype(np.float64)
    ey = np.linspace(0, dy, cells + 1).astype(np.int64)[:-1]
    ex = np.linspace(0, dx, cells + 1).astype(np.int64)[:-1]
    bands = np.add.reduceat(frames, ey, axis=1, dtype=acc)  # (n, cells, dx)
    sums = np.add.reduceat(bands, ex, axis=2, dtype=np.uint64)
    return sums.reshape(n, cells * cells).astype(np.float64)


def frame_shares(sums: np.ndarray) -> np.ndarray:
    """Cell sums (:func:`cell_sums`) as shares of their frame's total: a drifting beam
    current scales every cell of a frame alike, and comparisons between frames recorded
    far apart (the columns of a scan wound along ``y``: a wound column's frames come
    from the other end of the recording than its neighbours') would read the drift as a
    change of the sample. No scale of the batch: frames read in different batches keep
    one scale. Frames with no counts stay 0."""
    totals = sums.sum(axis=1, keepdims=True)
    return np.divide(sums, totals, out=np.zeros_like(sums), where=totals > 0)


def _cells(rec: Recording) -> int:
    return max(1, min(CELLS, *rec.layout.frame_shape))


def _batches(frames: np.ndarray, rec: Recording):
    per = max(1, BATCH_BYTES // rec.layout.record_bytes)
    for i in range(0, frames.size, per):
        yield frames[i : i + per]


def budget_note(bytes_read: int, rec: Recording) -> str:
    """``"12.0 MiB (1.2 % of the recording)"``."""
    total = rec.n_frames * rec.layout.record_bytes
    share = 100 * bytes_read / total if total else 0.0
    return f"{bytes_read / 2**20:.1f} MiB ({share:.1f} % of the recording)"
