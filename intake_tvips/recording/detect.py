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
  The raster that puts the most frames where their headers say wins (of equals, the one
  with fewer disagreeing frames); that fraction of its positions is the confidence. A
  few stray values neither move nor inflate it; a stray among the junk frames (a frame
  that moves, then back) is passed over: with every header read, when the raster from
  the first move fits badly, the frames around the next few unit steps of x or y (as
  along a scan) are tried as starts too. A raster must explain the recording: when
  most frames after it that move go to positions outside it, the confidence is the
  share of those moves it explains (not trusted); rasters of other maps that explain
  the frames as well share the confidence (the headers cannot tell them apart).
* ``rotidx`` (any version 2 file): RosettaSciIO's ``scan_shape="auto"`` rule (square
  scans); where it refuses, a few corrupt values passed over as strays, and non-square
  scans whose rows the positions give; before it, an index restarting every row; an
  index that only counts frames, or names a single position, is no scan
  (:mod:`.detect_rotidx`). The winding is assumed (``winding_assumed``).

``Scan_y`` 0 in every frame while ``Scan_x`` moves (a generator writing only x): the
rasters are judged by x alone, the rows found where x wraps (or turns back); x alone
cannot tell a winding along y from none (``winding_assumed``, the confidence shared),
nor rows of 2 or a scan whose start is later than the first move from a walk the reader
cannot express (the confidence shared).

Hysteresis is not in the headers: it is always reported as 0.

Here: the public API and the driver. The inference is pure (:mod:`.detect_xy`,
:mod:`.detect_rotidx`, over :mod:`.detect_frames`' values): from the headers read so far
it gives a finding, or the frames it wants; the driver reads those (sampled: through a
:class:`~.headers.HeaderReader`; exhaustive: every header at once) and asks again. The
reason is rendered from the finding (:mod:`.detect_reason`).

Sampled detection (the default of :func:`detect_scan` and of ``scan_shape="auto"``)
runs the same rules on the headers of a few frames: the first and last
``SAMPLE_EDGE_FRAMES``, ``SAMPLE_RUNS`` runs of ``SAMPLE_RUN_FRAMES`` consecutive frames
spread over the recording, frames probed by searches (``SEARCH_PROBES`` per round)
for where positions first move, where the rows end and where the scan ends, and
``SAMPLE_SCAN_SPREAD`` frames evenly over the scan found. It answers
only when the sample is unanimous: every sampled frame of the scan agrees with the
raster (all of them when the scan has at most ``SAMPLE_SCAN_ALL`` positions), no
other start or winding fits the sample as well, and the frames read after the scan do
not mostly move outside it; otherwise every header is read.
Recordings of at most ``SAMPLE_ALL_FRAMES`` frames are always read whole. Every array
and every loop is bounded by the frame count: positions outside ``[0, frames)``, NaN,
inf and non-integers never match, and a raster of more positions than frames is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from intake_tvips.recording.detect_frames import (
    AUTO_SCAN_XY_CONFIDENCE,
    AUTO_SCAN_XY_STRAYS,
    SAMPLE_CONFIDENCE_LEVEL,
    SEARCH_PROBES,
    HeaderValues,
    SamplingRules,
    Undecided,
    Wanted,
    trusts_positions,
)
from intake_tvips.recording.detect_raster import SHIFT_WINDOW
from intake_tvips.recording.detect_reason import none_reason, positions_reason, rotator_reason
from intake_tvips.recording.detect_rotidx import (
    SQUARE_ASSUMED_CONFIDENCE,
    RotatorFinding,
    infer_rotator,
)
from intake_tvips.recording.detect_xy import MAX_START_CANDIDATES, PositionFinding, infer_positions
from intake_tvips.recording.detection import ScanDetection

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
#: sampled: the searches give up (undecided) after this many rounds of reads in all
MAX_SEARCH_ROUNDS = 48

__all__ = [
    "AUTO_SCAN_XY_CONFIDENCE",
    "AUTO_SCAN_XY_STRAYS",
    "MAX_START_CANDIDATES",
    "SAMPLE_CONFIDENCE_LEVEL",
    "SEARCH_PROBES",
    "SHIFT_WINDOW",
    "SampledScan",
    "ScanDetection",
    "Undecided",
    "detect_scan",
    "detect_scan_of",
    "headers_and_scan",
    "infer_scan",
    "initial_sample",
    "sample_scan",
]


@dataclass
class SampledScan:
    """:func:`sample_scan`'s answer: ``detection`` (``None``: the sample cannot decide,
    ``why`` says so), and the :class:`~.headers.HeaderReader` with what was read."""

    detection: ScanDetection | None
    why: str
    reader: object


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
    :func:`intake_tvips.open_recording`) from its frame headers.

    With ``pixels=True`` the pixels complete it: the hysteresis of a winding scan from a
    bounded sample of them (:func:`intake_tvips.estimate_hysteresis`;
    ``hysteresis_source`` says ``"pixels"``, or ``"undecided"`` with 0 kept, and
    ``hysteresis_confidence`` how sure); and where the headers carry no positions, the
    whole scan (``method="pixels"``: row length, winding, start, rows, hysteresis; see
    :mod:`intake_tvips.recording.scan_pixels`), still ``method="none"`` where the pixels
    cannot tell; where a rotator index counts the scan's positions (its winding never
    told, its rows the square assumed: ``rows_assumed``), the rows, winding and
    hysteresis the pixels of those frames tell, where the rows fill them
    (:mod:`intake_tvips.recording.rotator_pixels`; a count that is no square, which
    the headers' rule refuses, likewise: ``counted``); where ``Scan_x`` alone cannot
    tell winding y from none, the winding the image clearly favours.

    By default from a sample of the headers (a few hundred of them, see the module
    docstring); when the sample cannot decide, and with ``exhaustive=True``, from every
    frame header. ``headers``: the table :func:`intake_tvips.recording.headers.
    frame_headers` returns (or any structured array of the frame headers in frame
    order), to avoid reading them again; ``urlpath`` is then not opened.
    ``progress``: tqdm bars of the headers read and (``pixels=True``) of the pixels.
    """
    from intake_tvips.recording.core import Recording, open_recording

    if headers is not None and not pixels:
        return _detect(HeaderValues(len(headers), headers, complete=True))
    if urlpath is None:
        raise ValueError("detect_scan(pixels=True) needs the recording (urlpath)")
    rec = urlpath if isinstance(urlpath, Recording) else open_recording(urlpath, storage_options)
    if headers is not None:
        found = _detect(HeaderValues(len(headers), headers, complete=True))
    else:
        found = detect_scan_of(rec, exhaustive=exhaustive, progress=progress)
    if not pixels:
        return found
    from intake_tvips.recording.pixel_progress import shown_if
    from intake_tvips.recording.scan_pixels import detect_with_pixels

    with shown_if(progress):
        return detect_with_pixels(found, rec)


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
    found = _detect(HeaderValues(rec.n_frames, headers, complete=True))
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
        found = _detect(HeaderValues(n, reader.table(), complete=True))
        return SampledScan(replace(found, headers_read=n), "", reader)
    reader.read(initial_sample(n))
    try:
        found = _drive(reader)
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


# ---------------------------------------------------------------------- the driver


def _rules() -> SamplingRules:
    return SamplingRules(SAMPLE_EDGE_FRAMES, SAMPLE_SCAN_ALL, SAMPLE_SCAN_SPREAD)


def _drive(reader) -> ScanDetection:
    """Ask the inference with the headers read, read the frames it wants, until it
    answers (raises :class:`Undecided` when it cannot, or has not after
    ``MAX_SEARCH_ROUNDS`` reads)."""
    n = reader.rec.n_frames
    for _ in range(MAX_SEARCH_ROUNDS):
        values = HeaderValues(n, reader.table(), complete=False)
        found = infer_scan(values, _rules())
        if not isinstance(found, Wanted):
            return _detection(values, *found)
        reader.read(found.frames)
    raise Undecided(f"the searches did not converge in {MAX_SEARCH_ROUNDS} reads")


def _detect(values: HeaderValues) -> ScanDetection:
    """The detection from every header (``values.complete``: nothing is wanted)."""
    return _detection(values, *infer_scan(values, _rules()))


def infer_scan(values: HeaderValues, rules: SamplingRules | None = None):
    """The pure inference: from the header values read so far, ``(notes, finding)``
    (a :class:`~.detect_xy.PositionFinding` or :class:`~.detect_rotidx.RotatorFinding`;
    ``None``: no scan, the notes say why), or :class:`~.detect_frames.Wanted` frames to
    read first. Raises :class:`Undecided` when a sample cannot tell. No reads."""
    notes = []
    rules = rules or SamplingRules()
    if not values.has_positions:
        notes.append(("positions_absent",))
    elif not values.positions_move:
        notes.append(("positions_zero", values.complete))
    else:
        found = infer_positions(values, rules)
        if isinstance(found, (Wanted, PositionFinding)):
            return found if isinstance(found, Wanted) else (notes, found)
        notes.append(found)
    if not values.has_rotator:
        notes.append(("no_rotator",))
        return notes, None
    found = infer_rotator(values, rules)
    if isinstance(found, (Wanted, RotatorFinding)):
        return found if isinstance(found, Wanted) else (notes, found)
    notes.append(found)
    return notes, None


def _detection(values: HeaderValues, notes, found) -> ScanDetection:
    """The public answer (with its reason in words) of a finding."""
    sampled = not values.complete
    if isinstance(found, PositionFinding):
        raster = found.raster
        trusted = trusts_positions("scan_xy", sampled, found.confidence, found.shifted)
        # Scan_x alone cannot tell a winding along y from none (rows of more than one)
        assumed = found.x_only and raster.winding != "x" and raster.shape[0] > 1
        return ScanDetection(
            raster.shape, raster.start, raster.winding, 0, "scan_xy", found.confidence,
            positions_reason(found, trusted and not assumed), sampled=sampled,
            shifted=found.shifted, winding_assumed=assumed,
        )  # fmt: skip
    if isinstance(found, RotatorFinding):
        conf = found.confidence
        if found.rows_assumed:
            conf = min(conf, SQUARE_ASSUMED_CONFIDENCE)
        return ScanDetection(
            found.shape, found.start, found.winding, 0, "rotidx", conf,
            rotator_reason(notes, found), use_auto=not found.one_per_position, sampled=sampled,
            winding_assumed=not found.winding_known, rows_assumed=found.rows_assumed,
        )  # fmt: skip
    # a sample that found the rotator index counting to a non-square says so
    sampled = sampled and notes[-1][0] in ("rotator_not_square", "rotator_counter")
    counted = None
    if notes and notes[-1][0] == "rotator_not_square":
        total, stop = notes[-1][1:]
        counted = (stop - total + 1, total)
    return ScanDetection(
        None, 0, None, 0, "none", 0.0, none_reason(notes), sampled=sampled, counted=counted
    )
