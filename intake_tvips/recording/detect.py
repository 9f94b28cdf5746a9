"""Guess a recording's scan from its frame headers: from a sample of them, or from all.

Two sources, in order of trust:

* ``Scan_x`` / ``Scan_y`` (version 2 files whose frame headers are at least 76 bytes):
  the scan position of every frame. The scan starts at the last frame before positions
  first move, or at the next one (junk frames recorded before the scan usually repeat
  one position, often ``(0, 0)``). For each start and winding (the reader's ``None``,
  ``"x"``, ``"y"``) the raster follows from the frames themselves: the row length is the
  value most frames vote for (a frame at ``(x, y)``, ``k`` frames into the scan, says
  ``k = y * nx + x`` and so names ``nx``); the rows are counted up to the last row most
  of whose frames sit in it (y-winding: the first frame's ``y`` names the row count).
  The raster that puts the most frames where their headers say wins; that fraction of
  its positions is the confidence. A few stray values neither move nor inflate it; a
  stray among the junk frames (a frame that moves, then back) is passed over: with every
  header read, when the raster from the first move fits badly, the frames around the
  next few unit steps of x or y (as along a scan) are tried as starts too.
* ``rotidx`` (any version 2 file): RosettaSciIO's ``scan_shape="auto"`` rule, square
  scans only.

Hysteresis is not in the headers: it is always reported as 0.

Sampled detection (the default of :func:`detect_scan` and of ``scan_shape="auto"``)
runs the same rules on the headers of a few frames: the first and last
``SAMPLE_EDGE_FRAMES``, ``SAMPLE_RUNS`` runs of ``SAMPLE_RUN_FRAMES`` consecutive frames
spread over the recording, frames probed by searches (``SEARCH_PROBES`` per round)
for where positions first move, where the rows end and where the scan ends, and
``SAMPLE_SCAN_SPREAD`` frames evenly over the scan found. It answers
only when the sample is unanimous: every sampled frame of the scan agrees with the
raster (all of them when the scan has at most ``SAMPLE_SCAN_ALL`` positions) and no
other start or winding fits the sample as well; otherwise every header is read.
Recordings of at most ``SAMPLE_ALL_FRAMES`` frames are always read whole. Every array
and every loop is bounded by the frame count: positions outside ``[0, frames)``, NaN,
inf and non-integers never match, and a raster of more positions than frames is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from intake_tvips.maths.scan import ScanMap, auto_scan_indices

#: recordings of at most this many frames: every header is read (exact, and cheap)
SAMPLE_ALL_FRAMES = 512
#: sampled: headers read at the start and at the end of the recording
SAMPLE_EDGE_FRAMES = 16
#: sampled: runs of consecutive frames spread over the recording (one per stratum) ...
SAMPLE_RUNS = 16
#: ... of this many frames each
SAMPLE_RUN_FRAMES = 16
#: sampled: a scan of at most this many positions is checked frame by frame ...
SAMPLE_SCAN_ALL = 256
#: ... a larger one also at this many frames evenly spread over it, so that a run of
#: strays (frames without positions) of 1/20 of the scan or more is always seen
SAMPLE_SCAN_SPREAD = 21
#: sampled: frames probed per search round (one concurrent read)
SEARCH_PROBES = 3
#: sampled: a search gives up (undecided) after this many rounds
MAX_SEARCH_ROUNDS = 48
#: sampled confidence: the share of the scan's frames that agree at least, at this level
SAMPLE_CONFIDENCE_LEVEL = 0.95
#: scan_shape="auto" takes the raster of Scan_x/Scan_y when this share of frames agrees ...
AUTO_SCAN_XY_CONFIDENCE = 0.99
#: ... or at least this share, when the others are strays (not ``shifted``)
AUTO_SCAN_XY_STRAYS = 0.9
#: a disagreeing frame "sits where a nearby frame belongs" up to this many frames away
SHIFT_WINDOW = 8
#: unit steps of x or y tried as the scan's start, past strays among the junk frames
MAX_START_CANDIDATES = 8

WINDINGS = (None, "x", "y")


@dataclass(frozen=True)
class ScanDetection:
    """What the frame headers say about the scan, and how sure that is.

    ``method`` is ``"scan_xy"`` (from the Scan_x/Scan_y fields), ``"rotidx"`` (from the
    rotator index, RosettaSciIO's ``"auto"`` rule) or ``"none"`` (no scan found).
    ``confidence`` (0..1): with every header read, the fraction of scan positions whose
    frame's header agrees with the detected raster; from a sample (``sampled``), the
    share of agreeing frames the unanimous sample supports (at 95 %). ``reason`` says
    why, in words. ``use_auto`` is set when only ``scan_shape="auto"`` reproduces the
    scan (a rotator index with repeated or skipped positions). ``headers_read``: how
    many frame headers the answer comes from. ``shifted``: with every header read, most
    frames that disagree sit where the raster puts a frame a few frames away, to the
    end of the scan (a frame was skipped or repeated: only the rotator index can place
    the frames after it).
    """

    scan_shape: tuple[int, int] | None
    scan_start_frame: int
    winding_scan_axis: str | None
    hysteresis: int
    method: str
    confidence: float
    reason: str
    use_auto: bool = False
    sampled: bool = False
    headers_read: int | None = None
    shifted: bool = False
    #: how sure the hysteresis is: ``None`` when it was not estimated (0 assumed: the
    #: headers never carry it), else the pixels' confidence (0..1)
    hysteresis_confidence: float | None = None
    #: where the hysteresis comes from: ``"assumed"`` (0) or ``"pixels"``
    hysteresis_source: str = "assumed"

    @property
    def positions_trusted(self) -> bool:
        """Whether ``scan_shape="auto"`` takes this ``Scan_x``/``Scan_y`` raster: a
        unanimous sample, ``AUTO_SCAN_XY_CONFIDENCE`` of the frames agreeing, or
        ``AUTO_SCAN_XY_STRAYS`` of them with the others strays (not ``shifted``): a few
        glitches or a run of frames without positions, which a sample may not see."""
        if self.method != "scan_xy":
            return False
        if self.sampled or self.confidence >= AUTO_SCAN_XY_CONFIDENCE:
            return True
        return self.confidence >= AUTO_SCAN_XY_STRAYS and not self.shifted

    def reader_kwargs(self) -> dict:
        """Keyword arguments for :func:`intake_tvips.file_reader` that read this scan."""
        if self.scan_shape is None:
            return {"scan_shape": None}
        if self.use_auto:
            return {"scan_shape": "auto"}
        return {
            "scan_shape": tuple(self.scan_shape),
            "scan_start_frame": self.scan_start_frame,
            "winding_scan_axis": self.winding_scan_axis,
            "hysteresis": self.hysteresis,
        }


@dataclass
class SampledScan:
    """:func:`sample_scan`'s answer: ``detection`` (``None``: the sample cannot decide,
    ``why`` says so), and the :class:`~.headers.HeaderReader` with what was read."""

    detection: ScanDetection | None
    why: str
    reader: object


class Undecided(Exception):
    """The sample cannot tell what reading every header would."""


def detect_scan(
    urlpath=None,
    storage_options: dict | None = None,
    headers=None,
    *,
    exhaustive: bool = False,
    progress: bool = False,
    pixels: bool = False,
) -> ScanDetection:
    """Detect the scan of the recording ``urlpath`` (a URL, or a :class:`Recording` from
    :func:`intake_tvips.open_recording`) from its frame headers; with ``pixels=True``
    also the hysteresis of a winding scan, from a bounded sample of its pixels
    (:func:`intake_tvips.estimate_hysteresis`: ``hysteresis_source`` says ``"pixels"``,
    or ``"undecided"`` with 0 kept, and ``hysteresis_confidence`` how sure).

    By default from a sample of the headers (a few hundred of them, see the module
    docstring); when the sample cannot decide, and with ``exhaustive=True``, from every
    frame header. ``headers``: the table :func:`intake_tvips.recording.headers.
    frame_headers` returns (or any structured array of the frame headers in frame
    order), to avoid reading them again; ``urlpath`` is then not opened.
    """
    from intake_tvips.recording.core import Recording, open_recording

    if headers is not None and not pixels:
        return _detect(_Frames(len(headers), headers))
    if urlpath is None:
        raise ValueError("detect_scan(pixels=True) needs the recording (urlpath)")
    rec = urlpath if isinstance(urlpath, Recording) else open_recording(urlpath, storage_options)
    if headers is not None:
        found = _detect(_Frames(len(headers), headers))
    else:
        found = detect_scan_of(rec, exhaustive=exhaustive, progress=progress)
    if not pixels:
        return found
    from intake_tvips.recording.pixels import with_pixels

    return with_pixels(found, rec)


def detect_scan_of(rec, *, exhaustive: bool = False, progress: bool = False) -> ScanDetection:
    """:func:`detect_scan` of an opened :class:`~.core.Recording`."""
    return headers_and_scan(rec, exhaustive=exhaustive, progress=progress)[1]


def headers_and_scan(rec, *, exhaustive: bool = False, progress: bool = False):
    """``(table, detection)``: the frame headers read (the sample, when it decided; else
    every header) and the scan detected from them, for an opened recording."""
    why = ""
    if not exhaustive:
        got = sample_scan(rec)
        if got.detection is not None:
            return got.reader.table(), got.detection
        why = got.why
    from intake_tvips.recording.headers import frame_headers_of

    headers = frame_headers_of(rec, progress=progress)
    found = _detect(_Frames(rec.n_frames, headers))
    if why:
        found = replace(found, reason=f"{found.reason}; every header read ({why})")
    return headers, found


def sample_scan(rec, cost=None) -> SampledScan:
    """Detect the scan of an opened recording from a sample of its frame headers.

    ``detection`` is what :func:`detect_scan` with ``exhaustive=True`` would answer (but
    with the sample's confidence), or ``None`` when the sample cannot decide.
    """
    from intake_tvips.recording.headers import HeaderReader

    reader = HeaderReader(rec, cost)
    n = rec.n_frames
    if n <= SAMPLE_ALL_FRAMES:
        reader.read(np.arange(n))
        found = _detect(_Frames(n, reader.table()))
        return SampledScan(replace(found, headers_read=n), "", reader)
    reader.read(initial_sample(n))
    frames = _Frames(n, reader.table(), reader)
    try:
        found = _detect(frames)
    except Undecided as err:
        return SampledScan(None, f"a sample of {reader.frames.size} headers: {err}", reader)
    return SampledScan(replace(found, headers_read=int(reader.frames.size)), "", reader)


def initial_sample(n: int, seed: int | None = None) -> np.ndarray:
    """The frames read first: both ends, and one run of frames in each stratum."""
    e, k, runs = SAMPLE_EDGE_FRAMES, SAMPLE_RUN_FRAMES, SAMPLE_RUNS
    rng = np.random.default_rng(n if seed is None else seed)
    edges = np.linspace(0, n, runs + 1).astype(np.int64)
    room = np.maximum(edges[1:] - edges[:-1] - k, 0)
    firsts = edges[:-1] + (rng.random(runs) * (room + 1)).astype(np.int64)
    spread = (firsts[:, None] + np.arange(k)).ravel()
    out = np.concatenate([np.arange(min(e, n)), np.arange(max(n - e, 0), n), spread])
    return np.unique(out[(out >= 0) & (out < n)])


# ---------------------------------------------------------------------- header values


class _Frames:
    """The header values detection looks at: of every frame (``complete``), or of the
    frames a :class:`~.headers.HeaderReader` has read so far (``fetch`` reads more)."""

    def __init__(self, n: int, table: np.ndarray, reader=None):
        self.n, self.reader = int(n), reader
        self.names = table.dtype.names or ()
        self._set(table)

    @property
    def complete(self) -> bool:
        return self.reader is None

    def _set(self, table: np.ndarray) -> None:
        self.f = (
            np.asarray(table["frame"], dtype=np.int64)
            if "frame" in self.names
            else np.arange(len(table), dtype=np.int64)
        )
        if "Scan_x" in self.names and "Scan_y" in self.names:
            self.ix = _valid_positions(table["Scan_x"], self.n)
            self.iy = _valid_positions(table["Scan_y"], self.n)
            self.moved_any = bool(np.any(table["Scan_x"] != 0) or np.any(table["Scan_y"] != 0))
        if "rotidx" in self.names:
            self.r = np.asarray(table["rotidx"], dtype=np.int64)

    def fetch(self, frames) -> None:
        if self.reader is None:
            return
        before = self.reader.frames.size
        self.reader.read(frames)
        if self.reader.frames.size != before:
            self._set(self.reader.table())

    def count(self) -> int:
        return int(self.f.size)


def _valid_positions(values, n: int) -> np.ndarray:
    """Integer positions in ``[0, n)``; anything else (NaN, inf, 4.5, -1, 1e9) is -1."""
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(v) & (v >= 0) & (v < n) & (v == np.floor(v))
    out = np.full(v.shape, -1, dtype=np.int64)
    out[ok] = v[ok].astype(np.int64)
    return out


def _probes(lo: int, hi: int) -> np.ndarray:
    """Up to ``SEARCH_PROBES`` frames evenly inside ``(lo, hi)``."""
    k = SEARCH_PROBES
    p = lo + ((hi - lo) * np.arange(1, k + 1)) // (k + 1)
    return np.unique(p[(p > lo) & (p < hi)])


def _first_change(F: _Frames, values) -> int | None:
    """The last frame of the run of frames equal to frame 0 (``None``: no frame read
    differs). ``values(F)``: arrays over the frames read, compared element-wise."""
    for _ in range(MAX_SEARCH_ROUNDS):
        vals = values(F)
        eq = np.ones(F.count(), dtype=bool)
        for v in vals:
            eq &= v == v[0]
        diff = np.flatnonzero(~eq)
        if diff.size == 0:
            return None
        hi, lo = int(F.f[diff[0]]), int(F.f[diff[0] - 1])
        if hi - lo == 1:
            return lo
        F.fetch(_probes(lo, hi))
    raise Undecided("the search for where the positions first move did not converge")


def _last_true(F: _Frames, s: int, pred, probe: bool = True) -> int | None:
    """The last frame ``>= s`` where ``pred(F, indices)`` holds: of the frames read, and
    with ``probe``, searched for between that and the next frame read."""
    for _ in range(MAX_SEARCH_ROUNDS):
        sel = np.flatnonzero(F.f >= s)
        ok = pred(F, sel)
        if not ok.any():
            return None
        last = int(np.flatnonzero(ok)[-1])
        lo = int(F.f[sel[last]])
        hi = int(F.f[sel[last + 1]]) if last + 1 < sel.size else F.n
        if hi - lo == 1 or not probe or F.complete:
            return lo
        F.fetch(_probes(lo, hi))
    raise Undecided("a search for the end of the scan did not converge")


def _none(notes) -> ScanDetection:
    return ScanDetection(None, 0, None, 0, "none", 0.0, "; ".join(notes) + ": no scan found")


def _detect(F: _Frames) -> ScanDetection:
    """The detection from ``F`` (raises :class:`Undecided` when a sample cannot tell)."""
    notes = []
    if "Scan_x" in F.names and "Scan_y" in F.names:
        if F.moved_any:
            found = _from_scan_xy(F, notes)
            if found is not None:
                return found
        else:
            notes.append("Scan_x/Scan_y are 0 in every frame" + ("" if F.complete else " read"))
    else:
        notes.append("the frame headers have no Scan_x/Scan_y (version 2, >= 76 bytes)")
    if "rotidx" not in F.names:
        notes.append("and no rotator index (a version 1 file)")
        return _none(notes)
    if F.complete:
        return _from_rotidx(F.r, notes)
    return _from_rotidx_sampled(F, notes)


# ---------------------------------------------------------------------- Scan_x / Scan_y


@dataclass(frozen=True)
class _Raster:
    start: int
    winding: str | None
    shape: tuple[int, int]
    rows: int  # rows the frames reach (before keeping complete rows only)
    good: int  # frames read in the scan that sit where the raster puts them
    seen: int  # frames read in the scan


def _from_scan_xy(F: _Frames, notes) -> ScanDetection | None:
    ls = _first_change(F, lambda F: (F.ix, F.iy))
    if ls is None:
        notes.append("Scan_x/Scan_y never move from one position")
        return None
    F.fetch(np.arange(ls, ls + SAMPLE_EDGE_FRAMES))  # the scan's opening
    starts = [ls, ls + 1] if ls + 1 < F.n else [ls]
    best = _best_raster(F, starts)
    if _fits_badly(F, best):  # perhaps strays among the junk frames: try later starts
        best, starts = _try_later_starts(F, ls, starts, best)
    for _ in range(3 if not F.complete else 0):
        if best is None:
            break
        _raster(F, best.start, best.winding, probe=True)  # searches for the row and scan ends
        if _size(best) <= SAMPLE_SCAN_ALL:
            F.fetch(np.arange(best.start, best.start + _size(best)))
        again = _best_raster(F, starts)
        if again == best:
            break
        best = again
    if not F.complete and best is not None and _size(best) > SAMPLE_SCAN_ALL:
        # no run of strays long enough to matter hides between the frames read
        F.fetch(best.start + np.linspace(0, _size(best) - 1, SAMPLE_SCAN_SPREAD, dtype=int))
        best = _best_raster(F, starts)
    if best is None:
        if not F.complete:
            raise Undecided("no raster fits the positions of the frames read")
        notes.append("Scan_x/Scan_y: no raster of at most one position per frame fits")
        return None
    if not F.complete:
        _check_unanimous(F, best, starts)
    return _scan_xy_detection(F, ls, best)


def _size(r: _Raster) -> int:
    return r.shape[0] * r.shape[1]


def _fits_badly(F: _Frames, best: _Raster | None) -> bool:
    """No raster; or, every header read, one that fewer than ``AUTO_SCAN_XY_STRAYS`` of
    its positions agree with; or one that ends before most frames from its start."""
    if best is None:
        return True
    if F.complete and best.good < AUTO_SCAN_XY_STRAYS * _size(best):
        return True
    return 2 * _size(best) < F.n - best.start


def _try_later_starts(F: _Frames, ls: int, starts: list[int], best: _Raster | None):
    """Where the scan may start when the first moves were strays among the junk frames:
    the two frames before and the frame of each of the next ``MAX_START_CANDIDATES`` unit
    steps after frame ``ls + 1`` (two consecutive frames read whose x or y differ by
    one, as along a scan; the scan's first frame may itself be a stray), in order,
    until a raster fits. Returns the best raster of all tried and the starts tried."""
    valid = (F.ix[1:] >= 0) & (F.ix[:-1] >= 0) & (F.iy[1:] >= 0) & (F.iy[:-1] >= 0)
    unit = (np.abs(np.diff(F.ix)) == 1) | (np.abs(np.diff(F.iy)) == 1)
    moved = F.f[1:][(F.f[1:] == F.f[:-1] + 1) & valid & unit]
    later = moved[moved > ls + 1][:MAX_START_CANDIDATES]
    tried = list(starts)
    for s in np.unique(np.concatenate([later - 2, later - 1, later])).tolist():
        if s in tried:
            continue
        tried.append(s)
        found = _best_raster(F, [s])
        if found is not None and (best is None or found.good > best.good):
            best = found
            if not _fits_badly(F, best):
                break
    return best, tried


def _best_raster(F: _Frames, starts) -> _Raster | None:
    """The raster putting the most frames (of those read) where their headers say."""
    found = [_raster(F, s, w) for s in starts for w in WINDINGS]
    found = [r for r in found if r is not None]
    return max(found, key=lambda r: r.good) if found else None  # first of equals


def _check_unanimous(F: _Frames, best: _Raster, starts) -> None:
    if best.seen == 0 or best.good < best.seen:
        raise Undecided(
            f"{best.seen - best.good} of the {best.seen} frames read in the scan disagree "
            "with the best raster"
        )
    for s in starts:
        for w in WINDINGS:
            other = _raster(F, s, w)
            if other is None or (s, w) == (best.start, best.winding):
                continue
            # a raster of fewer positions than best's agreeing frames can never win
            small = _size(other) < best.good
            if other.seen and other.good == other.seen and not small and not _same_map(other, best):
                raise Undecided(
                    f"winding {best.winding!r} from frame {best.start} and winding {w!r} "
                    f"from frame {s} both fit every frame read"
                )


def _same_map(a: _Raster, b: _Raster) -> bool:
    if a.shape != b.shape:
        return False
    pos = np.arange(a.shape[0] * a.shape[1])
    fa = ScanMap(a.shape, a.start, a.winding, 0).frames(pos)
    return bool(np.array_equal(fa, ScanMap(b.shape, b.start, b.winding, 0).frames(pos)))


def _raster(F: _Frames, s: int, w: str | None, probe: bool = False) -> _Raster | None:
    """The raster from frame ``s`` with winding ``w`` that the frames describe."""
    nx = _row_length(F, s, w, probe)
    if nx is None:
        return None
    rows = _y_rows(F, s, nx) if w == "y" else _rows(F, s, nx, probe)
    if rows is None:
        return None
    ny = rows if w == "y" or s + rows * nx <= F.n else (F.n - s) // nx
    if ny < 1 or ny * nx > F.n - s:  # more positions than frames: not this raster
        return None
    good, seen = _agreement(F, s, w, (ny, nx))
    return _Raster(s, w, (ny, nx), rows, good, seen)


def _row_length(F: _Frames, s: int, w: str | None, probe: bool) -> int | None:
    """The row length most frames (read, from ``s`` on) name: frame ``s + k`` at
    ``(x, y)`` says ``k = y * nx + x`` (per winding); a single row: how far x counts."""
    sel = np.flatnonzero(F.f >= s)
    k, x, y = F.f[sel] - s, F.ix[sel], F.iy[sel]
    valid = (x >= 0) & (y >= 0)
    if w == "x":
        odd = y % 2 == 1
        num, den, m = np.where(odd, k - x, k + 1 + x), np.where(odd, y, y + 1), valid
    else:
        num, den = k - x, y
        m = valid & (y >= 1) & ((x % 2 == 1) if w == "y" else True)
    num, den, x = num[m], den[m], x[m]
    ok = (num > 0) & (num % np.maximum(den, 1) == 0)
    v = num[ok] // den[ok]
    v = v[(v > x[ok]) & (v <= F.n - s)]
    if v.size:
        return int(np.argmax(np.bincount(v)))
    if w == "x":
        return None

    def counting(F, sel):
        return (F.ix[sel] == F.f[sel] - s) & ((F.iy[sel] == 0) if w is None else True)

    last = _last_true(F, s, counting, probe)
    return None if last is None else last - s + 1


def _rows(F: _Frames, s: int, nx: int, probe: bool) -> int | None:
    """Rows up to the last one most of whose frames (read) have ``y`` = its row."""
    last_row = (F.n - 1 - s) // nx
    for _ in range(MAX_SEARCH_ROUNDS):
        sel = np.flatnonzero(F.f >= s)
        row = (F.f[sel] - s) // nx
        rows, inv = np.unique(row, return_inverse=True)
        seen = np.bincount(inv, minlength=rows.size)
        hit = np.bincount(inv, weights=F.iy[sel] == row, minlength=rows.size)
        ok = np.flatnonzero(2 * hit > seen)
        if ok.size == 0:
            return None
        r1 = int(rows[ok[-1]])
        r2 = int(rows[ok[-1] + 1]) if ok[-1] + 1 < rows.size else last_row + 1
        if r2 == r1 + 1 or not probe or F.complete:
            return r1 + 1
        rr = _probes(r1, r2)
        F.fetch(np.minimum(s + rr * nx + nx // 2, F.n - 1))
    raise Undecided("the search for the last row did not converge")


def _y_rows(F: _Frames, s: int, nx: int) -> int | None:
    """Winding along y: the first row's even columns run from ``y = ny - 1``."""
    want = s + 2 * np.arange(3)
    want = want[(want - s < nx) & (want < F.n)]
    idx = np.searchsorted(F.f, want)
    idx = idx[(idx < F.f.size)]
    idx = idx[np.isin(F.f[idx], want)]
    keep = (F.ix[idx] == F.f[idx] - s) & (F.iy[idx] >= 0)
    ys = np.sort(F.iy[idx][keep])
    return int(ys[(ys.size - 1) // 2]) + 1 if ys.size else None


def _frame_positions(k: np.ndarray, shape, w) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of the frame ``k`` frames into a raster (hysteresis 0)."""
    ny, nx = shape
    r, c = np.divmod(k, nx)
    if w == "x":
        return np.where(r % 2 == 0, nx - 1 - c, c), r
    if w == "y":
        return c, np.where(c % 2 == 0, ny - 1 - r, r)
    return c, r


def _matches(F: _Frames, s: int, w, shape) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(k, sel, good)`` of the frames read inside the raster from frame ``s``: their
    offsets into the scan, their indices into ``F``, and whether each sits where the
    raster puts it."""
    sel = np.flatnonzero((F.f >= s) & (F.f < s + shape[0] * shape[1]))
    k = F.f[sel] - s
    px, py = _frame_positions(k, shape, w)
    return k, sel, (F.ix[sel] == px) & (F.iy[sel] == py)


def _agreement(F: _Frames, s: int, w, shape) -> tuple[int, int]:
    """Frames read inside the scan, and how many sit where the raster puts them."""
    _, _, good = _matches(F, s, w, shape)
    return int(good.sum()), int(good.size)


def _sample_confidence(good: int, seen: int, positions: int) -> float:
    """All ``positions`` read: the agreeing share; else the share of agreeing frames
    that ``seen`` unanimous frames support at ``SAMPLE_CONFIDENCE_LEVEL``."""
    if seen >= positions:
        return good / positions
    return float((1 - SAMPLE_CONFIDENCE_LEVEL) ** (1 / seen))


def _scan_xy_detection(F: _Frames, ls: int, best: _Raster) -> ScanDetection:
    (ny, nx), start, winding = best.shape, best.start, best.winding
    positions = ny * nx
    shifted = False
    if F.complete:
        score = best.good / positions
        if score < AUTO_SCAN_XY_CONFIDENCE:
            shifted = _shifted(F, start, (ny, nx), winding)
    else:
        score = _sample_confidence(best.good, best.seen, positions)
    found = ScanDetection(
        (ny, nx), start, winding, 0, "scan_xy", float(score), "", sampled=not F.complete,
        shifted=shifted,
    )  # fmt: skip
    return replace(found, reason="; ".join(_scan_xy_reason(F, ls, best, found)))


def _scan_xy_reason(F: _Frames, ls: int, best: _Raster, found: ScanDetection) -> list[str]:
    (ny, nx), start, winding = best.shape, best.start, best.winding
    positions, score = ny * nx, found.confidence
    strays = "" if start <= ls + 1 else " (moves before the scan are strays among the junk frames)"
    reason = [
        f"Scan_x/Scan_y: positions first move after frame {ls}, the scan starts "
        f"at frame {start}{strays} and reaches x={nx - 1}, "
        f"y={best.rows - 1 if winding != 'y' else ny - 1}",
    ]
    odd_back = (
        F.complete and score < 1 and winding != "x" and _odd_rows_backwards(F, start, (ny, nx))
    )
    if odd_back:
        reason.append(
            "rows 1, 3, 5, ... run backwards, which no winding_scan_axis expresses (the "
            f"reader reverses rows 0, 2, 4, ...); best reader match: winding {winding!r}. "
            "Workaround: "
            f"scan_shape=({ny + 1}, {nx}), scan_start_frame={start - nx}, "
            "winding_scan_axis='x', then drop the first row"
        )
    elif winding is None:
        reason.append("every row runs forwards (x increasing): no winding")
    elif winding == "x":
        reason.append("rows 0, 2, 4, ... run backwards (x decreasing): winding_scan_axis='x'")
    else:
        reason.append("columns 0, 2, 4, ... run backwards (y decreasing): winding_scan_axis='y'")
    if best.rows > ny:
        reason.append(
            f"the recording ends {start + best.rows * nx - F.n} frames before the scan does; "
            f"only the {ny} complete rows are kept"
        )
    if F.complete:
        reason.append(f"{score:.1%} of the scan's frames have the position this raster gives them")
        if score < AUTO_SCAN_XY_CONFIDENCE:
            reason.append(_disagreement_note(found))
    else:
        reason.append(
            f"all {best.seen} frames read of the scan's {positions} (headers of "
            f"{F.count()} of {F.n} frames read) have the position this raster gives them: "
            f"at {SAMPLE_CONFIDENCE_LEVEL:.0%} confidence, at least {score:.1%} of them do"
        )
    reason.append("hysteresis cannot be read from the headers: 0 assumed")
    return reason


def _disagreement_note(found: ScanDetection) -> str:
    if found.shifted:
        why = (
            "most of the others sit where the raster puts a frame a few frames away, to the "
            "end of the scan (a frame skipped or repeated)"
        )
    else:
        why = "the others are strays (no frame skipped or repeated for good)"
    use = "this raster" if found.positions_trusted else "the rotator index"
    return f"{why}: scan_shape='auto' takes {use}"


def _shifted(F: _Frames, start: int, shape, w) -> bool:
    """Every header read: whether most of the scan's frames that disagree with the raster
    sit where it puts a frame up to ``SHIFT_WINDOW`` frames away, up to the scan's end
    (within ``SHIFT_WINDOW`` frames: a frame skipped or repeated shifts all after it). A
    shift undone further on (a skip, later a repeat) leaves a block of strays, as a
    sample would judge it."""
    positions = shape[0] * shape[1]
    k, sel, good = _matches(F, start, w, shape)
    kb = k[~good]
    if kb.size == 0 or kb[-1] < k[-1] - SHIFT_WINDOW:
        return False
    x, y = F.ix[sel[~good]], F.iy[sel[~good]]
    hit = np.zeros(kb.size, dtype=bool)
    for d in range(-SHIFT_WINDOW, SHIFT_WINDOW + 1):
        near = kb + d
        ok = (d != 0) & (near >= 0) & (near < positions)
        qx, qy = _frame_positions(near[ok], shape, w)
        hit[ok] |= (x[ok] == qx) & (y[ok] == qy)
    return bool(hit.mean() > 0.5 and kb[hit].max(initial=-1) >= k[-1] - SHIFT_WINDOW)


def _odd_rows_backwards(F: _Frames, start: int, shape) -> bool:
    """A snake scan that starts forwards (rows 1, 3, ... reversed)."""
    ny, nx = shape
    if ny < 2 or nx < 2:
        return False
    frames = np.arange(start, min(start + ny * nx, F.n))
    row, col = np.divmod(frames - start, nx)
    want = np.where(row % 2 == 1, nx - 1 - col, col)
    return float(np.mean((F.ix[frames] == want) & (F.iy[frames] == row))) > 0.9


# ---------------------------------------------------------------------- rotidx


def _from_rotidx(rotidx: np.ndarray, notes) -> ScanDetection:
    try:
        grid = auto_scan_indices(rotidx)
    except ValueError as err:
        notes.append(str(err).replace("scan_shape='auto': ", "rotidx: "))
        return _none(notes)
    n = grid.shape[0]
    total = n * n
    start = int(grid.flat[0])
    # positions whose frame carries exactly that position's rotator value
    exact = rotidx[grid.reshape(-1)] == np.arange(1, total + 1)
    confidence = float(exact.mean())
    stop = start + total
    simple = stop <= rotidx.size and np.array_equal(rotidx[start:stop], np.arange(1, total + 1))
    return _rotidx_detection(start, n, confidence, simple, notes)


def _rotidx_detection(start, n, confidence, simple, notes, sample=None) -> ScanDetection:
    total = n * n
    notes.append(
        f"rotidx (RosettaSciIO's scan_shape='auto' rule): the rotator index rises from "
        f"frame {start} to {total}, a {n} x {n} scan"
    )
    if simple:
        notes.append("one frame per position, in order")
    else:
        notes.append(
            "some positions have several frames or none: read it with scan_shape='auto' "
            "(repeats the last frame for skipped positions, drops extra frames)"
        )
    if sample is None:
        notes.append(f"{confidence:.1%} of positions hold a frame with their own rotator value")
    else:
        notes.append(
            f"all {sample[0]} frames read of the scan (headers of {sample[1]} of "
            f"{sample[2]} frames read) hold their own rotator value: at "
            f"{SAMPLE_CONFIDENCE_LEVEL:.0%} confidence, at least {confidence:.1%} of them do"
        )
    notes.append("winding and hysteresis cannot be read from rotidx: none assumed")
    return ScanDetection(
        (n, n),
        start,
        None,
        0,
        "rotidx",
        confidence,
        "; ".join(notes),
        use_auto=not simple,
        sampled=sample is not None,
    )


def _from_rotidx_sampled(F: _Frames, notes) -> ScanDetection:
    """RosettaSciIO's rule when the rotator index counts 1, 2, 3, ... one frame each."""
    ls = _first_change(F, lambda F: (F.r,))
    if ls is None:
        raise Undecided("the rotator index is the same in every frame read")
    F.fetch(np.arange(ls, ls + SAMPLE_EDGE_FRAMES))
    sel = np.flatnonzero(F.f >= ls)
    run = sel[: int(np.sum(F.f[sel] - ls == np.arange(sel.size)))]  # read without gaps
    inc = np.flatnonzero(np.diff(F.r[run]) > 0)
    if inc.size == 0:
        raise Undecided("the rotator index does not rise where it first changes")
    first = ls + int(inc[0])
    start = first + (1 if F.r[run[inc[0]]] == 0 else 0)

    def on_line(F, sel):
        return F.r[sel] == F.f[sel] - start + 1

    stop = _last_true(F, start, on_line, probe=True)
    if stop is None:
        raise Undecided(f"the rotator index at frame {start} is not 1")
    F.fetch([stop + 1])
    inside = np.flatnonzero((F.f >= start) & (F.f <= stop))
    if not on_line(F, inside).all():
        raise Undecided(
            "the rotator index skips or repeats positions (scan_shape='auto' needs every header)"
        )
    if np.any(np.diff(F.r[F.f >= stop]) > 0):
        raise Undecided(f"the rotator index rises again after frame {stop}")
    total = stop - start + 1
    n = math.isqrt(total)
    if n * n != total:
        notes.append(
            f"rotidx: the rotator index reaches {total} at frame {stop}, which is not a "
            "square scan; give scan_shape and scan_start_frame explicitly"
        )
        return replace(_none(notes), sampled=True)
    conf = _sample_confidence(inside.size, inside.size, total)
    return _rotidx_detection(start, n, conf, True, notes, (inside.size, F.count(), F.n))
