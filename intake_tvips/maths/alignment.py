"""Hysteresis from pixels: which roll of the winding rows lines them up with their neighbours.

Pure numpy, no I/O. The inputs are per-frame *features* (a few numbers per frame: sums
over a coarse grid of detector cells) at the positions of sampled *triplets*: three
neighbouring scan lines ``l - 1, l, l + 1`` (rows for winding ``"x"``, columns for
``"y"``) over a window of positions along them. For every candidate hysteresis ``h`` the
wound lines (0, 2, 4, ...) show other frames; the odd lines do not move.

The score of ``h`` on a triplet is how far the middle line lies from the mean of its two
neighbours (the residual of a midpoint interpolation, which a slanted edge does not bias,
unlike a comparison with one neighbour), summed over the principal components of the
feature channels that carry signal, each weighted by how much of it is signal rather
than noise (its correlation between neighbouring positions of the odd lines, which no
``h`` moves): :func:`signal_basis`. The residuals are scored on the frames and
on running means along the lines (:data:`SCALES`: a smooth texture keeps its slope
while the noise drops). The triplets are cut into segments, nearly independent samples
of the score; the chosen ``h`` must beat every other candidate, each compared on the
positions valid for both, by a one-sided signed-rank test over the segments, and the
confidence is one minus the p-value of the weakest of those tests, Bonferroni-corrected
for the candidates that may be answered (not the guard band beyond them, only compared
against), the scales and the looks the caller may take. The candidate tested
is the one no rival beats in that paired test (:func:`paired_best`), which may differ
from the lowest mean over each candidate's own positions. Scales that decide on
different values leave the answer undecided, and so does a best roll that leaves most
of the middle lines' structure unexplained (:func:`unexplained`: neighbouring lines
that do not predict each other, as in a sample repeating every four lines, whose
misfits differ systematically without telling the roll) while fitting barely better
than another roll (:func:`score_gap`; a coarse real texture, bricks or gravel, leaves
much unexplained yet fits far better at the truth). A flat or noise-only sample,
a periodic texture (two rolls fit equally) or a texture that does not change along the
lines leave the tests weak: the answer is then undecided, never a confident guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from intake_tvips.maths.scan import ScanMap

#: positions per segment: the unit of the paired test (neighbouring positions correlate)
SEGMENT = 8
#: a channel counts as signal when neighbouring positions correlate at least this much
MIN_CHANNEL_CORRELATION = 0.1
#: fewer segments than this never decide (the test has too little to go on)
MIN_SEGMENTS = 6
#: running means of this many positions are scored too (1: the frames themselves); the
#: longer ones find smooth textures under noise, the frames sharp ones
SCALES = (1, 8)
#: score differences smaller than this are ties (the features are standardized: a real
#: difference is many orders larger)
TIE = 1e-9
#: the hysteresis is decided at this confidence or more; below, undecided
DECIDE_CONFIDENCE = 0.9
#: the share of the middle lines' structure the best roll may leave unexplained
#: (:func:`unexplained`); above, the neighbouring lines do not predict the middle one
#: and the test compares misfits: undecided unless the best roll also fits clearly
#: better than every other (:data:`MIN_GAP`). Measured: decided right answers on the
#: generator's textures leave at most 0.37, an oblique grating repeating every 4 lines
#: 1.0; on real images (bricks, gravel) right answers leave up to 4.6
MAX_UNEXPLAINED = 0.6
#: where the best roll leaves more than :data:`MAX_UNEXPLAINED`, its mean score must be
#: this much (relative) below every other candidate's (:func:`score_gap`). Measured:
#: the grating's wrong answer 0.004; right answers on real images above it at least 0.22
MIN_GAP = 0.05
#: the lines of a group (a triplet), relative to its middle line ``l``
GROUP = (-1, 0, 1)
#: the weights of the group's lines whose sum is the residual: the middle line less the
#: mean of its two neighbours (a midpoint, which a slant does not bias), scaled to unit
#: norm. Measured and dropped (2026-12-02): the third difference of four lines and a
#: cubic prediction from lines l +- 1, l +- 3 cancel the bend of a smooth texture across
#: the lines, but the first decides lamellae almost along the lines confidently wrong
#: and the second decided no more cases than the midpoint, for more lines read
STENCIL = np.array([-0.5, 1.0, -0.5]) / math.sqrt(1.5)


@dataclass(frozen=True)
class Alignment:
    """The outcome of :func:`align`: ``best`` (the candidate that fits best, or ``None``
    without signal), ``confidence`` (0..1), ``decided`` (``confidence`` reached
    ``DECIDE_CONFIDENCE``), ``scores`` (mean score per candidate, lower is better),
    ``runner_up`` (the candidate hardest to tell from ``best``), ``segments`` (samples
    of the test), ``votes`` (share of segments whose own best is ``best``), ``signal``
    (the largest channel correlation: 0 for a flat or noise-only sample) and
    ``unexplained`` (:func:`unexplained` at ``best``), ``gap`` (:func:`score_gap` of
    ``best``)."""

    candidates: np.ndarray
    best: int | None
    confidence: float
    scores: np.ndarray
    runner_up: int | None
    segments: int
    votes: float
    signal: float
    unexplained: float = 0.0
    gap: float = math.inf

    @property
    def decided(self) -> bool:
        return self.best is not None and self.confidence >= DECIDE_CONFIDENCE

    @property
    def unpredicted(self) -> bool:
        """The neighbouring lines do not predict the middle ones at ``best``, and it
        fits barely better than another candidate: no roll can be told."""
        return self.unexplained > MAX_UNEXPLAINED and self.gap < MIN_GAP

    def beyond(self, answer_shift: int | None) -> bool:
        """Whether ``best`` lies beyond ``-answer_shift .. answer_shift``, the range
        answered (a guard band's candidate: never an answer)."""
        return answer_shift is not None and self.best is not None and abs(self.best) > answer_shift


def channel_weights(odd_lines: np.ndarray) -> tuple[np.ndarray, float]:
    """``(weights, signal)`` of the feature channels from the unmoving (odd) lines.

    ``odd_lines``: ``(lines, positions, channels)``, already standardized. A channel's
    weight is the correlation of its values at neighbouring positions along the lines
    (noise does not correlate), zero below ``MIN_CHANNEL_CORRELATION``; weights sum to 1
    (all zero when no channel has signal). ``signal`` is the largest correlation.
    """
    a, b = odd_lines[:, :-1, :], odd_lines[:, 1:, :]
    a = a.reshape(-1, a.shape[-1]) - a.reshape(-1, a.shape[-1]).mean(axis=0)
    b = b.reshape(-1, b.shape[-1]) - b.reshape(-1, b.shape[-1]).mean(axis=0)
    den = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    corr = np.divide((a * b).sum(axis=0), den, out=np.zeros(a.shape[1]), where=den > 0)
    signal = float(corr.max()) if corr.size else 0.0
    w = np.where(corr >= MIN_CHANNEL_CORRELATION, corr, 0.0)
    total = w.sum()
    return (w / total if total > 0 else w), signal


@dataclass(frozen=True)
class SignalBasis:
    """How raw features become the few numbers scored: ``project(raw) = raw[..., used]
    @ matrix - offset`` gives the principal components of the standardized channels
    with signal (see :func:`signal_basis`), ``weights`` theirs, ``signal`` the largest
    channel correlation."""

    used: np.ndarray
    matrix: np.ndarray
    offset: np.ndarray
    weights: np.ndarray
    signal: float

    def project(self, raw: np.ndarray) -> np.ndarray:
        """``(..., channels)`` raw features -> ``(..., components)``."""
        return raw[..., self.used] @ self.matrix - self.offset


def signal_basis(shown: np.ndarray, odd: np.ndarray) -> SignalBasis | float:
    """The basis of the features that carry signal, or the ``signal`` (a float) when no
    channel has any.

    ``shown``: ``(..., channels)`` raw features of every frame compared (for the
    standardization); ``odd``: ``(lines, positions, channels)`` those of the lines no
    candidate moves. Channels are standardized and weighted by
    :func:`channel_weights`; those with signal are rotated onto their principal
    components over the unmoving lines, and the components whose values correlate
    between neighbouring positions (signal, not noise) are kept, weighted the same way.
    Channels that carry one signal (every cell of a bright-field disc) then add up in one
    component, where their noise partly cancels, instead of each adding its noise to
    the score.
    """
    both = np.concatenate([shown.reshape(-1, shown.shape[-1]), odd.reshape(-1, odd.shape[-1])])
    mean, std = both.mean(axis=0), both.std(axis=0)
    scale = np.where(std > 0, std, 1.0)
    weights, signal = channel_weights((odd - mean) / scale)
    if not weights.any():
        return signal
    used = weights > 0  # channels without signal weigh nothing: leave them out
    odd_std = (odd[..., used] - mean[used]) / scale[used]
    flat = odd_std.reshape(-1, odd_std.shape[-1])
    _, vecs = np.linalg.eigh(flat.T @ flat / max(1, flat.shape[0]))
    vecs = vecs[:, ::-1]  # largest variance first
    comp_weights, _ = channel_weights(odd_std @ vecs)
    keep = comp_weights > 0
    matrix = vecs[:, keep] / scale[used][:, None]
    return SignalBasis(used, matrix, mean[used] @ matrix, comp_weights[keep], signal)


def triplet_scores(lines: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Residuals across the lines of each group, per candidate and position.

    ``lines``: ``(candidates, groups, len(GROUP), positions, channels)``: the features of
    the group's lines as each candidate places them. Returns ``(candidates, groups,
    positions)``: the weighted square of the :data:`STENCIL` sum across the lines
    (:func:`triplet_residuals`).
    """
    return (triplet_residuals(lines) ** 2 * weights).sum(axis=-1)


def triplet_residuals(lines: np.ndarray) -> np.ndarray:
    """``(candidates, groups, positions, channels)``: the :data:`STENCIL` sum across the
    lines of each group (``lines`` as for :func:`triplet_scores`), per channel."""
    return np.tensordot(lines, STENCIL, axes=([2], [0]))


def segment_means(scores: np.ndarray, valid: np.ndarray, segment: int = SEGMENT) -> np.ndarray:
    """``(candidates, segments)``: scores averaged over the valid positions of runs of
    ``segment`` positions (the last, shorter run folded into the one before); NaN where
    a run has no valid position for a candidate."""
    n_cand, n_trip, n_pos = scores.shape
    k = max(1, n_pos // segment)
    bounds = np.linspace(0, n_pos, k + 1).astype(int)
    sums = np.add.reduceat(np.where(valid, scores, 0.0), bounds[:-1], axis=2)
    counts = np.add.reduceat(valid.astype(np.float64), bounds[:-1], axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    return means.reshape(n_cand, n_trip * k)


def mean_scores(seg: np.ndarray) -> np.ndarray:
    """Each candidate's mean over its segments (``seg`` from :func:`segment_means`);
    NaN for a candidate with none."""
    counts = np.isfinite(seg).sum(axis=1)
    return np.where(counts > 0, np.nansum(seg, axis=1) / np.maximum(counts, 1), np.nan)


def paired_confidence(
    scores: np.ndarray,
    valid: np.ndarray,
    best: int,
    looks: float = 1,
    segment: int = SEGMENT,
    answers: int | None = None,
) -> tuple[float, int | None]:
    """One minus the Bonferroni-corrected p-value that ``best`` beats every other
    candidate (one-sided Wilcoxon signed-rank test over the segments, robust to the few
    large differences that edges make), and the weakest rival.

    The correction is for the ``answers`` candidates that may be answered (``None``:
    all but one): a wrong answer is one of them beating the truth, whose chance is at
    most the p-value for each, whatever the candidates only compared against (a guard
    band) do.

    ``scores``/``valid``: ``(candidates, triplets, positions)``. Each rival is compared
    with ``best`` on the positions valid for both (a texture whose contrast varies
    along the lines would otherwise favour the candidate that leaves out its strongest
    part)."""
    n_cand = scores.shape[0]
    if n_cand == 1:
        return 1.0, None
    z, rival = weakest_rival(scores, valid, best, segment)
    if rival is None:
        return 0.0, None
    p = 0.5 * math.erfc(z / math.sqrt(2))
    paid = n_cand - 1 if answers is None else answers
    return max(0.0, 1.0 - paid * looks * p), rival


def weakest_rival(
    scores: np.ndarray, valid: np.ndarray, best: int, segment: int = SEGMENT
) -> tuple[float, int | None]:
    """``(z, rival)``: the signed-rank normal score of ``best`` against its weakest
    rival (negative when the rival fits better), and that rival; ``(0.0, None)`` when
    a rival has fewer than :data:`MIN_SEGMENTS` segments to compare on."""
    rivals = np.delete(np.arange(scores.shape[0]), best)
    both = valid[rivals] & valid[best]
    diff = segment_means(scores[rivals] - scores[best], both, segment)
    diff[np.abs(diff) < TIE] = 0.0  # rounding, not evidence (e.g. a period averaged out)
    if (np.isfinite(diff).sum(axis=1) < MIN_SEGMENTS).any():
        return 0.0, None
    z = np.array([_signed_rank_z(d[np.isfinite(d)]) for d in diff])
    weakest = int(np.argmin(z))
    return float(z[weakest]), int(rivals[weakest])


def paired_best(
    scores: np.ndarray, valid: np.ndarray, start: int, segment: int = SEGMENT, steps: int = 4
) -> int:
    """The candidate no rival beats in the paired test, walking from ``start`` (the
    lowest mean score) to the rival that beats it, a few ``steps`` at most. Means over
    each candidate's own valid positions can prefer a candidate that leaves out the
    worst-fitting part of the lines; the paired comparison on common positions cannot.
    Which candidate is tested does not change the test's error rate (every candidate
    is paid for)."""
    best, seen = start, {start}
    for _ in range(steps):
        z, rival = weakest_rival(scores, valid, best, segment)
        if rival is None or z >= 0 or rival in seen:
            break
        best = rival
        seen.add(best)
    return best


def _signed_rank_z(d: np.ndarray) -> float:
    """The normal score of Wilcoxon's signed-rank statistic of ``d`` (zeros dropped,
    ties given their mean rank); large when ``d`` is mostly positive."""
    d = d[d != 0]
    n = d.size
    if n == 0:
        return 0.0
    order = np.argsort(np.abs(d), kind="stable")
    ranks = np.empty(n)
    ranks[order] = np.arange(1, n + 1)
    _, inverse, counts = np.unique(np.abs(d), return_inverse=True, return_counts=True)
    if (counts > 1).any():  # mean ranks of ties
        ranks = (np.bincount(inverse, ranks) / counts)[inverse]
    w = ranks[d > 0].sum()
    mean = n * (n + 1) / 4
    var = n * (n + 1) * (2 * n + 1) / 24 - ((counts**3 - counts).sum()) / 48
    return float((w - mean) / math.sqrt(var)) if var > 0 else 0.0


def align(
    lines: np.ndarray,
    candidates: np.ndarray,
    odd_lines: np.ndarray,
    valid: np.ndarray,
    looks: float = 1,
    answer_shift: int | None = None,
) -> Alignment:
    """Choose the candidate hysteresis whose placement of the lines fits best.

    ``lines``: ``(candidates, triplets, 3, positions, channels)`` raw features as each
    candidate places them; ``odd_lines``: ``(lines, positions, channels)`` raw features
    of the lines no candidate moves (for the channel weights); ``valid``:
    ``(candidates, triplets, positions)``, where a candidate's roll does not wrap a
    line around (only those positions are compared). The best candidate at the edge of
    the range tried is undecided (the truth may lie beyond it). ``looks``: how many
    looks at growing samples the caller may take in all: the p-value is multiplied by
    it too (Bonferroni over the looks), so that looking again and again cannot make a
    chance decision. ``answer_shift``: only a best candidate within ``-answer_shift ..
    answer_shift`` is an answer; the candidates beyond are a guard band (a periodic
    texture fits a truth beyond the range and its alias within equally well: with the
    truth in the guard band the two tie, where without it the alias would win).
    """
    basis = signal_basis(lines[0], odd_lines)  # every candidate shows the same frames
    if not isinstance(basis, SignalBasis):
        return no_signal(candidates, basis)
    return align_projected(basis.project(lines), basis, candidates, valid, looks, answer_shift)


def no_signal(candidates: np.ndarray, signal: float) -> Alignment:
    """The alignment of a sample without signal: undecided."""
    candidates = np.asarray(candidates)
    return Alignment(candidates, None, 0.0, np.zeros(len(candidates)), None, 0, 0.0, signal)


def align_projected(
    feats: np.ndarray,
    basis: SignalBasis,
    candidates: np.ndarray,
    valid: np.ndarray,
    looks: float = 1,
    answer_shift: int | None = None,
) -> Alignment:
    """:func:`align` on features already projected by ``basis`` (``feats``:
    ``(candidates, triplets, 3, positions, components)``)."""
    candidates = np.asarray(candidates)
    answers = None if answer_shift is None else int((np.abs(candidates) <= answer_shift).sum())
    looks = looks * len(SCALES)
    found = [
        _align_at(feats, valid, basis.weights, candidates, w, looks, basis.signal, answers)
        for w in SCALES
    ]
    found = combine(found)
    if found.beyond(answer_shift):
        found = replace(found, confidence=0.0)
    return found


def combine(found: list[Alignment]) -> Alignment:
    """One answer from the alignments of several scales: undecided when two decide on
    different values, else the most confident (each is already corrected for all)."""
    decided = [f for f in found if f.decided]
    if len({f.best for f in decided}) > 1:
        first = max(decided, key=lambda f: f.confidence)
        return replace(first, confidence=0.0, runner_up=min(decided, key=_conf).best)
    return max(decided or found, key=_conf)


def _conf(found: Alignment) -> float:
    return found.confidence


def _align_at(
    feats: np.ndarray,
    valid: np.ndarray,
    weights: np.ndarray,
    candidates: np.ndarray,
    width: int,
    looks: float,
    signal: float,
    answers: int | None = None,
) -> Alignment:
    """:func:`align` on the running means of ``width`` positions (1: the frames);
    ``answers``: see :func:`paired_confidence`."""
    none = Alignment(candidates, None, 0.0, np.full(len(candidates), np.nan), None, 0, 0.0, signal)
    if feats.shape[3] < width + SEGMENT:  # lines too short for this scale
        return none
    if width > 1:
        feats, valid = smooth_along(feats, valid, width)
    segment = max(SEGMENT, 2 * width)
    scores = triplet_scores(feats, weights)
    seg = segment_means(scores, valid, segment)
    totals = mean_scores(seg)
    if not np.isfinite(totals).any():
        return none
    best = paired_best(scores, valid, int(np.nanargmin(totals)), segment)
    confidence, rival = paired_confidence(scores, valid, best, looks, segment, answers)
    if best in (0, len(candidates) - 1) and len(candidates) > 2:
        confidence = 0.0
    votes = float((np.nan_to_num(seg, nan=np.inf).argmin(axis=0) == best).mean())
    found = Alignment(
        candidates,
        int(candidates[best]),
        confidence,
        totals,
        None if rival is None else int(candidates[rival]),
        seg.shape[1],
        votes,
        signal,
        unexplained(feats[best], valid[best], weights),
        score_gap(totals, best),
    )
    return replace(found, confidence=0.0) if found.unpredicted else found


def score_gap(totals: np.ndarray, best: int) -> float:
    """How much lower ``best``'s mean score is than the lowest of the others, relative
    to its own (negative when another candidate's mean is lower; infinite for a
    perfect fit)."""
    others = np.delete(totals, best)
    if not np.isfinite(others).any():
        return math.inf
    rival, own = float(np.nanmin(others)), float(totals[best])
    if own <= 0:
        return math.inf if rival > 0 else 0.0
    return (rival - own) / own


def unexplained(lines: np.ndarray, valid: np.ndarray, weights: np.ndarray) -> float:
    """The share of the middle lines' structure that the midpoint of their neighbours
    leaves unexplained, as one candidate places them (``lines``: ``(groups,
    len(GROUP), positions, components)``, ``valid``: ``(groups, positions)``): the
    covariance of neighbouring positions of the :data:`STENCIL` residual over that of
    the middle lines about their means (noise, uncorrelated between positions, adds to
    neither), the components weighted by ``weights``. Near 0 where the neighbours
    predict the middle line; near 1 where they do not (lines two apart in antiphase,
    as in a sample repeating every four lines: their midpoint is flat), and then no
    roll can be told by it."""
    resid = np.tensordot(lines, STENCIL, axes=([1], [0]))  # (groups, positions, comps)
    count = np.maximum(valid.sum(axis=1), 1)[:, None, None]
    mean = np.where(valid[..., None], lines[:, 1], 0.0).sum(axis=1, keepdims=True) / count
    middle = (lines[:, 1] - mean) * STENCIL[1]
    both = valid[:, :-1] & valid[:, 1:]

    def lag_one(x: np.ndarray) -> float:
        products = np.einsum("gpc,gpc,c->gp", x[:, :-1], x[:, 1:], weights)
        return float(np.where(both, products, 0.0).sum())

    structure = lag_one(middle)
    return lag_one(resid) / structure if structure > 0 else 0.0


def smooth_along(feats: np.ndarray, valid: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Running means of ``width`` positions along the lines (``feats``: ``(candidates,
    triplets, 3, positions, k)``), and where they are valid: every position averaged is
    (``valid``: ``(candidates, triplets, positions)``). A smooth texture keeps its
    slope while the noise drops by ``width``."""
    c = np.cumsum(np.pad(feats, [(0, 0)] * 3 + [(1, 0), (0, 0)]), axis=3)
    means = (c[:, :, :, width:] - c[:, :, :, :-width]) / width
    v = np.cumsum(np.pad(valid, [(0, 0), (0, 0), (1, 0)]).astype(np.int64), axis=2)
    return means, (v[:, :, width:] - v[:, :, :-width]) == width


@dataclass(frozen=True)
class TripletPlan:
    """Which scan positions a hysteresis estimate looks at, and their frames.

    ``middles`` are the middle lines of the triplets (rows for winding ``"x"``, columns
    for ``"y"``), ``offsets`` where each triplet's window of ``window`` positions starts
    along its lines. Where a candidate rolls a wound line around (RosettaSciIO's rule
    puts the first frames of the line at its far end, where real scans differ most from
    the rule) the position is not compared for that candidate: :meth:`valid`.
    """

    shape: tuple[int, int]
    start: int
    winding: str
    candidates: np.ndarray
    middles: np.ndarray
    offsets: np.ndarray
    window: int

    def positions(self) -> np.ndarray:
        """Flat scan positions ``(triplets, 3, window)``."""
        ny, nx = self.shape
        lines = self.middles[:, None] + np.array(GROUP)[None, :]
        along = self.offsets[:, None] + np.arange(self.window)[None, :]
        lines, along = lines[:, :, None], along[:, None, :]
        return lines * nx + along if self.winding == "x" else along * nx + lines

    def frames(self) -> np.ndarray:
        """The frame shown at each position for each candidate: ``(candidates,
        triplets, 3, window)``."""
        pos = self.positions()
        return np.stack([self._map(int(h)).frames(pos) for h in self.candidates])

    def valid(self) -> np.ndarray:
        """``(candidates, triplets, window)``: positions no candidate's roll wraps."""
        length = line_length(self.shape, self.winding)[1]
        along = self.offsets[:, None] + np.arange(self.window)[None, :]
        moved = along[None] - self.candidates[:, None, None]
        return (moved >= 0) & (moved < length)

    def odd_lines(self) -> np.ndarray:
        """``(triplet, line)`` pairs of the lines no candidate moves (odd lines)."""
        lines = self.middles[:, None] + np.array(GROUP)[None, :]
        return np.argwhere(lines % 2 == 1)

    def _map(self, h: int) -> ScanMap:
        return ScanMap(self.shape, self.start, self.winding, h)


def line_length(shape: tuple[int, int], winding: str) -> tuple[int, int]:
    """``(lines, positions along a line)`` of a 2-D scan winding along ``winding``."""
    ny, nx = shape
    return (ny, nx) if winding == "x" else (nx, ny)


def plan_triplets(
    shape: tuple[int, int],
    start: int,
    winding: str,
    n_frames: int,
    *,
    max_shift: int,
    window: int,
    triplets: int,
    round_: int = 0,
    skip: int | None = None,
) -> TripletPlan | str:
    """The triplets of a sample, or the reason there can be none (a string).

    Middles prefer wound lines (0, 2, ... with both neighbours), spread evenly over the
    scan; ``round_`` picks other lines for a second look, after the first ``skip``
    triplets of the order (default ``round_ * triplets``: rounds of equal size).
    Triplets with a frame outside the recording (for any candidate) are dropped.
    """
    n_lines, length = line_length(shape, winding)
    if n_lines < 3:
        return f"{n_lines} scan line(s): a shift cannot be told from a slant with fewer than 3"
    max_shift = min(max_shift, (length - 1) // 2, length - MIN_SEGMENTS)
    if max_shift < 1:
        return f"lines of {length} positions: too short to try a shift"
    window = min(window, length)
    candidates = np.arange(-max_shift, max_shift + 1)
    skip = round_ * triplets if skip is None else skip
    middles = _middles(n_lines, triplets, skip)
    if middles.size == 0:
        return "every line was already sampled"
    room = length - window
    golden = (np.arange(middles.size) + skip) * 0.6180339887 % 1.0
    offsets = np.floor(golden * (room + 1)).astype(np.int64)
    plan = TripletPlan(shape, start, winding, candidates, middles, offsets, window)
    frames = plan.frames()
    inside = ((frames >= 0) & (frames < n_frames)).all(axis=(0, 2, 3))
    if not inside.any():
        return "the sampled lines lie outside the recording"
    return TripletPlan(shape, start, winding, candidates, middles[inside], offsets[inside], window)


def middle_count(shape: tuple[int, int], winding: str) -> int:
    """How many lines may be the middle of a triplet (every line with both neighbours):
    the most triplets the rounds of :func:`plan_triplets` can take."""
    return max(0, line_length(shape, winding)[0] - (GROUP[-1] - GROUP[0]))


def _middles(n_lines: int, count: int, skip: int) -> np.ndarray:
    """``count`` middle lines spread over the scan, wound (even) ones first; round
    ``r`` takes the lines halfway between those of the rounds before."""
    first, last = -GROUP[0], n_lines - GROUP[-1]  # middles with every line of their group
    wound = np.arange(first + first % 2, last, 2)
    odd = np.arange(first + 1 - first % 2, last, 2)
    pool = np.concatenate([wound[_spread_order(wound.size)], odd[_spread_order(odd.size)]])
    return np.sort(pool[skip : skip + count])


def _spread_order(n: int) -> np.ndarray:
    """``0 .. n-1`` in an order whose every prefix is spread over the range (van der
    Corput), so each round's lines fall between the earlier ones."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    bits = max(1, math.ceil(math.log2(n)))
    k = np.arange(2**bits)
    rev = np.zeros_like(k)
    for b in range(bits):
        rev |= ((k >> b) & 1) << (bits - 1 - b)
    return rev[rev < n]
