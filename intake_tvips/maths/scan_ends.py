"""Where a scan starts and ends among the frames of a recording, from per-frame pixels.

Pure numpy, no I/O. Frames around a scan are junk of three kinds, each told by its own
trace:

* **blanked** (:func:`junk_ends`): the beam is off, the frames hold few counts;
* **parked off the scan** (:func:`parked_ends`): the probe waits somewhere else, one
  pattern repeated that no scan frame resembles; a frame or two on the same spot at the
  other end, too few to stand out under noise, join it (:func:`same_spot`);
* **parked on the scan** (:func:`parked_on_scan`): the probe waits on one of the scan's
  own positions. Its frames differ from the scan's first (or last) ones by no more than
  the texture's step from one position to the next, often less than the noise; but a
  scan frame resembles the frame a row period later (or earlier), its neighbour in the
  next row, and a parked frame does not: at each end, the frames far from their
  would-be neighbours are the parked ones.

:func:`scan_start` turns blanked or parked-off frames and the row length into the first
frame of the scan.
"""

from __future__ import annotations

import numpy as np

from intake_tvips.maths.frame_features import standardized
from intake_tvips.maths.periodicity import leading_run, step_distances

#: a frame with fewer counts than this share of the median is beam blanked (a fifth
#: missed blanked frames at low doses: their dark counts, tens per frame, reached a fifth
#: of a lit frame's few hundred; a lit frame's total rarely falls to half the median, as
#: the electrons scattered by the sample still land on the detector)
BLANK_SHARE = 0.5
#: ... and with fewer than that share of this quantile of the frames between the runs
#: below it at either end (the scan's darkest parts: blanked frames lie far below them)
DARK_QUANTILE = 0.05
#: a parked probe's pattern lies farther than this many typical steps from every
#: scan frame
PARKED_APART = 4.0
#: ... and than the median distance of this many scan frames after it from the nearest
#: of the next ``LOCAL_LAGS`` frames (where the sample changes fastest, a steep
#: gradient's corner, the scan's frames lie farther apart)
LOCAL_STEPS = 8
LOCAL_LAGS = 4
#: ... or farther than this many times the farthest a scan frame lies from its nearest
#: other one (noisy scans)
NEAREST_APART = 1.5
#: ... counted only where the noise sets those distances: this quantile of them at
#: least this share of the largest
NOISE_FLOOR_QUANTILE = 0.1
NOISE_FLOOR_SHARE = 0.33
#: a frame no farther from its would-be neighbour a row period away than this quantile
#: of the scan's own such distances may be a scan frame ...
SCAN_QUANTILE = 0.99
#: ... and one farther than this many times that distance is none (a probe parked;
#: between: undecided)
PARKED_FACTOR = 2.0
#: a parked run's last two steps towards the scan at most this many times its median
#: step (squared distances; :func:`moving_end`)
RUN_STILL = 4.0
#: a scan's first (last) frames keep as still as a parked probe where two steps or more
#: lie below this share of the steps at their place in the next ``STILL_ROWS`` rows
#: and of the scan's ``STILL_QUANTILE`` step (:func:`still_lead`; noise-free under a
#: descan, a probe parked on the first position: 0.003 and 0.01 of them)
STILL_SHARE = 0.1
STILL_ROWS = 3
STILL_QUANTILE = 0.01
#: parked frames looked for at either end at most (by the parked-on-scan rule; a probe
#: parked off the scan is looked for this far, or around a longer run of frames alike)
LONGEST_PARKED = 64
#: a run of alike frames starts with this many, and ends where this many in a row lie
#: farther than this many typical steps from them (half the apartness a parked run
#: needs); lengths this far either side are tried
ALIKE_START = 4
ALIKE_GAP = 4
ALIKE_STEPS = PARKED_APART / 2
ALIKE_SLACK = 8
#: under noise, a run of up to this many frames is parked also where its mean lies
#: farther than this many times the typical distance between means of as many scan
#: frames in a row from the nearest such mean
WINDOW_LONGEST = 16
WINDOW_APART = 3.0
#: ... where noise sets the distances between frames: the typical distance between
#: frames two apart within these shares of that between neighbours
NOISY_LAG_RATIO = (0.75, 1.25)
NOISY_NARROW = 0.3
#: ... and its end is sought again from the run found this many times at most, at
#: no less than this share of the way from the scan
RUN_END_ROUNDS = 4
RUN_END_FLOOR = 0.2
#: frames parked off the scan that may have gone unseen at the ends, found again where
#: the frames between the runs hold that many beyond whole rows (:func:`missed_parked`),
#: and by how many typical steps between neighbours the split chosen must beat the others
MISSED_PARKED = 2
MISSED_MARGIN = 1.0


def junk_ends(totals: np.ndarray) -> tuple[int, int]:
    """Blanked frames (few counts) at the start and at the end: fewer than
    ``BLANK_SHARE`` of the median, and of the ``DARK_QUANTILE`` of the frames between
    the runs below that share at either end (a sample whose dark parts lose counts,
    where the scan starts on one, would otherwise pass its first frames off as
    blanked)."""
    median = float(np.median(totals))
    low = totals < BLANK_SHARE * median
    body = totals[leading_run(low) : totals.size - leading_run(low[::-1])]
    dark = float(np.quantile(body, DARK_QUANTILE)) if body.size else median
    blank = totals < BLANK_SHARE * min(median, dark)
    return leading_run(blank), leading_run(blank[::-1])


def parked_ends(cells: np.ndarray, longest: int = 64) -> tuple[int, int]:
    """Frames at the start and at the end that repeat one pattern unlike every other
    frame's (a probe parked off the scan), from the standardized detector-cell sums
    (all of them: the scan's principal components may not see such a pattern): the run
    (up to ``longest`` frames, or about as long as the frames alike the first ones:
    :func:`_alike_run`) set farthest apart from the frames after it, measured as the
    distance from its mean to the nearest of them (the frames at the other end left
    out: the probe may wait there on the same spot) over either the typical step
    between frames (or the run's own spread, if larger), or the farthest any sampled
    scan frame lies from its nearest other one (under noise: a run's mean is less noisy
    than any frame, so a run parked on the scan lies nearer the scan than that), or,
    where noise sets the distances (:func:`_noisy`), the typical distance between means
    of as many scan frames in a row (``WINDOW_APART``: the noise of a few frames'
    mean against that of as many scan frames'); none when none is that far. Under
    noise the run then ends where its frames stop lying towards its mean
    (:func:`_run_end`): found exactly, or not at all."""
    z = standardized(cells)[0]
    if z.shape[0] < 4 * longest:
        longest = z.shape[0] // 4
    typical = _typical_step(z)
    body = z[longest : z.shape[0] - longest]
    scale = (typical, _farthest_nearest(body, typical), _noisy(body))
    cap = z.shape[0] // 4
    alike = [min(_alike_run(end, typical), cap) for end in (z, z[::-1])]
    reach = [max(longest, run + ALIKE_SLACK) for run in alike]
    lengths = [_lengths(longest, run, cap) for run in alike]
    return (
        _parked_run(z, lengths[0], reach[1], scale),
        _parked_run(z[::-1], lengths[1], reach[0], scale),
    )


def same_spot(cells: np.ndarray, runs: tuple[int, int], longest: int = 64) -> tuple[int, int]:
    """``runs`` (:func:`parked_ends`' of the same ``cells``) where a run of two frames
    or more was found at one end only, with the frames at the other end that lie as near
    that run's mean as its own frames lie from the mean of the others, where every frame
    between lies farther (the probe waits on one spot before and after the scan: at a
    low dose one frame there does not stand out by itself; measured: winding-y scans at
    20 counts with one such frame before them and 1-4 after went undecided, their frames
    no whole number of rows)."""
    if (runs[0] > 0) == (runs[1] > 0):
        return runs
    if runs[0] == 0:  # look at the start from the end's run, as at the end from the start's
        return same_spot(cells[::-1], runs[::-1], longest)[::-1]
    z = standardized(cells)[0]
    run, other = z[: runs[0]], z[runs[0] :][::-1]  # the other end first
    if run.shape[0] < 2 or other.shape[0] <= 2 * longest:
        return runs
    others = (run.sum(axis=0) - run) / (run.shape[0] - 1)  # each frame's left out
    own = float(np.max(np.einsum("ij,ij->i", run - others, run - others)))
    off = other - run.mean(axis=0)
    near = np.einsum("ij,ij->i", off, off)
    if float(np.min(near[longest:])) <= own:
        return runs
    return runs[0], leading_run(near[:longest] <= own)


def missed_parked(
    cells: np.ndarray, runs: tuple[int, int], missing: int, step: int
) -> tuple[int, int] | None:
    """``runs`` (:func:`parked_ends`' of the same ``cells``) with the ``missing`` frames
    the frames between them hold beyond whole rows split between the two ends, where
    one split clearly puts frames like the parked ones there: each frame it adds lies
    nearer the runs' mean than the frame ``step`` inwards (its would-be neighbour on the
    scan: ``2`` for winding ``"y"``), and the split beats every other by
    ``MISSED_MARGIN`` typical such steps. ``None`` otherwise (more than
    ``MISSED_PARKED`` missing, no run found, or no clear split: a scan cut short adds
    no frame like the parked ones). Measured: at 20 counts a single frame parked off
    the scan before it went unseen while the run after it was found; the frames were
    then no whole number of rows and the scan undecided."""
    before, after = runs
    z = standardized(cells)[0]
    n = z.shape[0]
    if not 0 < missing <= MISSED_PARKED or not before + after or n < 4 * (missing + step):
        return None
    centre = np.concatenate([z[:before], z[n - after :]]).mean(axis=0)
    ends = (before + np.arange(missing), n - after - 1 - np.arange(missing))
    nearer = [_nearer_parked(z, ends[0], centre, step), _nearer_parked(z, ends[1], centre, -step)]
    splits = [(nearer[0][:k], nearer[1][: missing - k]) for k in range(missing + 1)]
    scores = np.array([a.sum() + b.sum() for a, b in splits])
    best = int(np.argmax(scores))
    typical = float(np.median(step_distances(z, step)))
    clear = (scores[best] - np.delete(scores, best) >= MISSED_MARGIN * typical).all()
    if not clear or (np.concatenate(splits[best]) <= 0).any():
        return None
    return before + best, after + missing - best


def _nearer_parked(z: np.ndarray, frames: np.ndarray, centre: np.ndarray, inwards: int):
    """How much nearer each of ``frames`` lies to the parked frames' ``centre`` than to
    the frame ``inwards`` of it (squared distances)."""
    own = z[frames]
    scan = np.einsum("ij,ij->i", own - z[frames + inwards], own - z[frames + inwards])
    return scan - np.einsum("ij,ij->i", own - centre, own - centre)


def _alike_run(z: np.ndarray, typical: float) -> int:
    """How many frames from the start lie within ``ALIKE_STEPS`` typical steps of the
    first ``ALIKE_START`` frames' mean, up to ``ALIKE_GAP`` frames in a row farther away
    (a noisy frame does not end the run)."""
    if z.shape[0] < ALIKE_START + ALIKE_GAP:
        return 0
    centre = z[:ALIKE_START].mean(axis=0)
    far = np.einsum("ij,ij->i", z - centre, z - centre) > ALIKE_STEPS * typical
    windows = np.lib.stride_tricks.sliding_window_view(far, ALIKE_GAP)
    ends = np.flatnonzero(windows.all(axis=1))
    return int(ends[0]) if ends.size else z.shape[0]


def _lengths(longest: int, alike: int, cap: int) -> range | list[int]:
    """The run lengths tried: up to ``longest``, and around a longer ``alike`` run."""
    if alike <= longest:
        return range(1, longest + 1)
    around = range(max(longest + 1, alike - ALIKE_SLACK), min(alike + ALIKE_SLACK, cap) + 1)
    return [*range(1, longest + 1), *around]


def _farthest_nearest(z: np.ndarray, typical: float, sample: int = 512, among: int = 4096) -> float:
    """The largest distance of a scan frame (``sample`` of them) from its nearest other
    frame (of ``among``, frames next to it in time left out), where the noise sets these
    distances: even the nearest pairs lie ``NOISE_FLOOR_SHARE`` of the largest and of the
    ``typical`` step between frames apart; 0 otherwise (frames that repeat, or nearly,
    or steps smaller than the nearest pairs: noise-free frames, whose distances are the
    texture's alone, and the scale would tell nothing)."""
    if z.shape[0] < 8:
        return 0.0
    nearest = nearest_others(z, sample, among)
    low, high = np.quantile(nearest, NOISE_FLOOR_QUANTILE), float(np.max(nearest))
    noisy = typical > 0 and low >= NOISE_FLOOR_SHARE * max(high, typical)
    return high if noisy else 0.0


def nearest_others(z: np.ndarray, sample: int = 512, among: int = 4096) -> np.ndarray:
    """The squared distances of ``sample`` frames of ``z`` (drawn with a fixed seed)
    from their nearest other frame among ``among`` of them, frames next to each other
    in time left out."""
    rng = np.random.default_rng(0)
    others = np.sort(rng.choice(z.shape[0], min(among, z.shape[0]), replace=False))
    picked = others[rng.choice(others.size, min(sample, others.size), replace=False)]
    a, b = z[picked], z[others]
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    d[np.abs(picked[:, None] - others[None, :]) <= 1] = np.inf
    return np.min(d, axis=1)


def moving_end(run: np.ndarray, floor: float = 0.0, factor: float = RUN_STILL) -> bool:
    """Whether the frames ``run`` (a parked run, ordered towards the scan) move in their
    last two steps by more than ``factor`` times the run's median step (or times
    ``floor``, where that is more: a noise-free run keeps still to the last count, and
    a count's rounding is no move): a probe parked keeps still (noise or a slow drift
    alike in every step), a scan moves, so scan frames over a flat region have joined
    the run. Runs of fewer than four frames do not tell (``False``)."""
    steps = step_distances(run, 1)
    if steps.size < 3:
        return False
    return float(np.max(steps[-2:])) > factor * max(float(np.median(steps)), floor)


def still_lead(steps: np.ndarray, nx: int, scan: np.ndarray, rows: int = STILL_ROWS) -> int:
    """How many of the first ``steps`` (between a scan's frames, from an end inwards,
    rows of ``nx``) lie below ``STILL_SHARE`` of the median of the steps at the same
    place of the next ``rows`` rows and of the ``STILL_QUANTILE`` of the ``scan``'s
    steps: a probe that keeps still where every scan frame moves (a descan or a
    drifting disc moves even the frames of a uniform region; a sample's flat corner
    keeps about as still a row later). Where the scan's frames repeat (noise-free, a
    uniform region without a descan: that quantile is 0) nothing tells."""
    count = min(nx, steps.size - rows * nx)
    floor = STILL_SHARE * float(np.quantile(scan, STILL_QUANTILE)) if scan.size else 0.0
    if count < 1 or floor <= 0:
        return 0
    later = np.stack([steps[r * nx : r * nx + count] for r in range(1, rows + 1)])
    still = (steps[:count] < STILL_SHARE * np.median(later, axis=0)) & (steps[:count] < floor)
    return leading_run(still)


def among_scan(frames: list[tuple[np.ndarray, np.ndarray]], scan: np.ndarray) -> list[bool]:
    """Per ``(frame, others)`` pair: whether ``frame`` lies as near one of ``others``
    (scan frames, the one next to it in time left out) as ``SCAN_QUANTILE`` of the
    ``scan``'s frames lie to their nearest other one (:func:`nearest_others`): a frame
    the scan's own could be. Distances in whatever features the caller gives."""
    reach = float(np.quantile(nearest_others(scan, sample=256), SCAN_QUANTILE))
    near = []
    for frame, others in frames:
        d = others - frame
        near.append(bool(np.min(np.einsum("ij,ij->i", d, d)) <= reach))
    return near


def _typical_step(z: np.ndarray) -> float:
    """The typical step between a frame and its neighbour on the scan: the median
    distance between frames one apart, or two apart where less (winding ``"y"``, whose
    neighbours in time lie a column apart at opposite ends of it)."""
    if z.shape[0] < 3:
        return float(np.median(step_distances(z, 1))) if z.shape[0] > 1 else 0.0
    return min(float(np.median(step_distances(z, lag))) for lag in (1, 2))


def _parked_run(z: np.ndarray, lengths, other: int, scale: tuple[float, float, bool]) -> int:
    """The run at the start of ``z`` (one of ``lengths``) set farthest apart from the
    frames after it up to the last ``other`` (see :func:`parked_ends`), 0 when none is
    apart enough; under noise, its length is then where its frames stop lying beyond
    half way from the scan towards the run (:func:`_run_end`)."""
    found, best = 0, 1.0
    sums = np.concatenate([np.zeros((1, z.shape[1])), np.cumsum(z, axis=0)])
    for length in lengths:
        rest = z.shape[0] - other - length  # the other end may repeat it
        if rest <= 0:
            break
        apart = _apartness((z, sums), length, other, scale)
        if apart >= best:
            found, best = length, apart
    base = max(found, 2)  # one noisy frame does not tell which way the others lie
    for _ in range(RUN_END_ROUNDS if found and scale[2] else 0):
        end = _run_end(z, sums, base, (other, max(lengths)), scale[0])
        if end == 0 and found == 1:  # no second frame towards the first: one parked
            break
        found = end
        if end in (0, base):
            break
        base = end
    return found if found and _apartness((z, sums), found, other, scale, True) >= 1.0 else 0


def _apartness(frames: tuple, length: int, other: int, scale, check: bool = False) -> float:
    """How far the first ``length`` frames' mean lies from the frames after them, in
    units of the distances it must exceed (1: just parked); ``frames``: the features
    and their running sums. ``check``: the run found, whose distances must also exceed
    the scan's own steps after it (:func:`_local_step`; not while lengths are compared,
    as where the scan's steps vary a run's length would follow them)."""
    (z, sums), (typical, nearest, noisy) = frames, scale
    centre = sums[length] / length
    inside = z[:length] - centre
    spread = float(np.mean(np.einsum("ij,ij->i", inside, inside)))
    rest = z[length : z.shape[0] - other] - centre  # exact: frames may repeat the run
    gap = float(np.min(np.einsum("ij,ij->i", rest, rest)))
    local = _local_step(z, length, other) if check else 0.0
    apart = gap / max(spread, typical, local, 1e-300) / PARKED_APART
    if nearest > 0:
        apart = max(apart, gap / nearest / NEAREST_APART)
    if noisy and length <= WINDOW_LONGEST:
        apart = max(apart, _window_apartness(sums, length, z.shape[0] - other))
    return apart


def _local_step(z: np.ndarray, length: int, other: int) -> float:
    """The median distance of the ``LOCAL_STEPS`` frames after the first ``length`` from
    the nearest of the ``LOCAL_LAGS`` frames after each (the scan's own steps where it
    begins, two frames apart for winding y, whose neighbours in time lie far apart: a
    sample changing fastest at its border, a steep gradient's corner, sets them farther
    apart than the typical step, and its first frame is no parked probe for that)."""
    rest = z[length : z.shape[0] - other]
    count = min(LOCAL_STEPS, rest.shape[0] - LOCAL_LAGS)
    if count <= 0:
        return 0.0
    steps = [rest[:count] - rest[k : k + count] for k in range(1, LOCAL_LAGS + 1)]
    d = [np.einsum("ij,ij->i", step, step) for step in steps]
    return float(np.median(np.min(d, axis=0)))


def _noisy(z: np.ndarray) -> bool:
    """Whether noise sets the distances between frames: the typical distance between
    frames two apart is about that between neighbours (``NOISY_LAG_RATIO``), as the
    noise of two frames is the same, where the sample's texture would set it larger
    (or neighbours would repeat); and the distances between neighbours vary little
    (their ``NOISE_FLOOR_QUANTILE`` at least ``NOISY_NARROW`` of their median), as
    noise spread over all cells does, where a texture's would vary from none to many
    times the median."""
    if z.shape[0] < 8:
        return False
    steps = step_distances(z, 1)
    one, two = float(np.median(steps)), float(np.median(step_distances(z, 2)))
    narrow = np.quantile(steps, NOISE_FLOOR_QUANTILE) >= NOISY_NARROW * one
    return one > 0 and narrow and NOISY_LAG_RATIO[0] * one <= two <= NOISY_LAG_RATIO[1] * one


def _window_apartness(sums: np.ndarray, length: int, end: int) -> float:
    """The distance from the first ``length`` frames' mean to the nearest mean of as
    many frames in a row among the next ones up to ``end``, over the median distance
    between such means next to each other, over ``WINDOW_APART``: averaging as many
    scan frames as the run holds sets both the noise of the run's mean and of the
    scan's against which it is measured (no single, noisy, scan frame)."""
    means = _window_means(sums, length, end)
    if means.shape[0] <= 2 * length:
        return 0.0
    gap = _nearest(means, sums[length] / length)
    steps = np.diff(means[::length], axis=0)
    typical = float(np.median(np.einsum("ij,ij->i", steps, steps)))
    return gap / max(typical, 1e-300) / WINDOW_APART


def _window_means(sums: np.ndarray, length: int, end: int) -> np.ndarray:
    """The means of every ``length`` frames in a row after the first ``length`` and up
    to frame ``end``, from the frames' running ``sums``."""
    return (sums[2 * length : end + 1] - sums[length : end + 1 - length]) / length


def _nearest(points: np.ndarray, centre: np.ndarray) -> float:
    """The smallest squared distance from ``centre`` to one of ``points``, without a
    difference array (only under noise: rounding would leave points that repeat the
    centre apart by a little)."""
    norms = np.einsum("ij,ij->i", points, points)
    return max(float(np.min(norms - 2 * (points @ centre)) + centre @ centre), 0.0)


def _run_end(
    z: np.ndarray, sums: np.ndarray, length: int, ends: tuple[int, int], typical: float
) -> int:
    """How many frames from the start lie beyond half way from the nearest mean of
    ``length`` scan frames in a row towards the first ``length`` frames' mean (each of
    those towards the mean of the others: a frame's own noise does not pull it), along
    the line between them (0 when the first frame does not): a parked probe's frames
    differ from the scan in the same cells, each frame by the whole difference, while
    a scan frame's noise spreads over all cells. Half way of the difference the noise
    leaves (the line's squared length less the ``typical`` step between frames over
    the frames averaged: the noise of the two means)."""
    other, longest = ends
    end = z.shape[0] - other
    means = _window_means(sums, length, end)
    if means.shape[0] == 0 or length < 2:
        return 0
    off = means - sums[length] / length
    near = means[int(np.argmin(np.einsum("ij,ij->i", off, off)))]
    ahead = z[: min(longest + 1, end)] - near
    lines = np.repeat((sums[length] / length - near)[None], ahead.shape[0], axis=0)
    lines[:length] = (sums[length] - z[:length]) / (length - 1) - near
    size = np.maximum(np.einsum("ij,ij->i", lines, lines), 1e-300)
    averaged = np.where(np.arange(ahead.shape[0]) < length, length - 1, length)
    half = np.maximum(0.5 * (1 - typical / averaged / size), RUN_END_FLOOR)
    return leading_run(np.einsum("ij,ij->i", ahead, lines) / size > half)


def scan_start(n: int, nx: int, blank: tuple[int, int]) -> tuple[int | None, str]:
    """The scan's first frame, from the ends of the recording (``n`` frames, rows of
    ``nx``): after the ``blank[0]`` blanked frames at the start; or before a whole number
    of rows ending where the ``blank[1]`` blanked frames at the end begin. With no
    blanked frames at either end it stays undecided here (:func:`parked_on_scan` may
    tell), also where the recording holds whole rows: a probe parked on the scan for as
    many frames as a row holds, before and after it together, leaves whole rows too.
    A snake's turns do not tell the start (a start ``h`` frames later with the roll
    ``-h`` puts the same frames on neighbouring rows but at the rows' ends), and a
    parked probe's repeated pattern may be the scan's own first or last one."""
    if blank[0]:
        return blank[0], f"frames 0..{blank[0] - 1} before the scan (beam blanked or probe parked)"
    end = n - blank[1]
    extra = end % nx
    if blank[1]:
        return extra, f"{blank[1]} frames after the scan, {extra} before whole rows"
    if extra == 0:
        return None, "the recording holds whole rows, with no junk frames seen at either end"
    return None, f"{extra} frames beyond whole rows, before or after the scan (not told apart)"


def parked_on_scan(
    first: np.ndarray, last: np.ndarray, lag: int, extra: int, nx: int, *, overlap: bool = False
) -> tuple[int | None, int | None, str]:
    """``(before, after, why)``: how many of the frames beyond whole rows of ``nx`` lie
    before the scan and how many after it, where a probe parked on the scan (or
    anywhere); ``(None, None, why)`` when the pixels cannot tell.

    ``first``: the features of the frames from the earliest possible start of the scan
    (several rows: they give the scan's own neighbour distances), ``last``: those up to
    the latest possible end (``overlap``: ``first`` reaches it too); ``lag``: the frames
    from one position to its neighbour in the next row (``nx``; ``2 nx`` for a snake, the
    row after next); ``extra``: the frames beyond whole rows, modulo ``nx``. At each end,
    the frames farther from the frame ``lag`` away than ``PARKED_FACTOR`` times the
    ``SCAN_QUANTILE`` of the scan's own such distances are parked, up to a frame within
    that quantile (the scan's first or last); the two runs must together make ``extra``."""
    most = LONGEST_PARKED + 1
    body = step_distances(first[most : first.shape[0] - (most if overlap else 0)], lag)
    if body.size < 4 * most or last.shape[0] < lag + 2:
        return None, None, "too few frames to compare the ends with the scan"
    scan = float(np.quantile(body, SCAN_QUANTILE))
    parked = PARKED_FACTOR * scan
    ahead = step_distances(first[: most + lag], lag)
    behind = step_distances(last[-(most + lag) :], lag)[::-1]
    runs = _far_run(ahead, parked, scan), _far_run(behind, parked, scan)
    if None in runs:
        return None, None, "no run of parked frames ends clearly at both ends"
    before, after = runs
    if (before + after - extra) % nx:
        return (
            None,
            None,
            (
                f"{before} frames before and {after} after are unlike their neighbours a row "
                f"away, but {extra} are beyond whole rows"
            ),
        )
    if before == after == 0:
        return 0, 0, "no frame at either end unlike its would-be neighbour a row away"
    return (
        before,
        after,
        (
            f"{before} frames before and {after} after unlike their would-be neighbours a row "
            "away (a probe parked)"
        ),
    )


def _far_run(distances: np.ndarray, parked: float, scan: float) -> int | None:
    """How many ``distances`` from the start lie above ``parked``, when the next one is
    not above ``scan``."""
    k = leading_run(distances > parked)
    return k if k < distances.size and distances[k] <= scan else None
