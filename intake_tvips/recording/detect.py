"""Guess a recording's scan from its frame headers.

Two sources, in order of trust:

* ``Scan_x`` / ``Scan_y`` (version 2 files whose frame headers are at least 76 bytes):
  the scan position of every frame. The scan starts at the frame just before positions
  first move (junk frames recorded before the scan usually repeat one position, often
  ``(0, 0)``); its shape is ``(max Scan_y + 1, max Scan_x + 1)``; the winding is the
  reader convention (``None``, ``"x"`` or ``"y"``) under which the most frames sit where
  their headers say, and that fraction is the confidence.
* ``rotidx`` (any version 2 file): RosettaSciIO's ``scan_shape="auto"`` rule, square
  scans only.

Hysteresis is not in the headers: it is always reported as 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intake_tvips.maths.scan import ScanMap, auto_scan_indices


@dataclass(frozen=True)
class ScanDetection:
    """What the frame headers say about the scan, and how sure that is.

    ``method`` is ``"scan_xy"`` (from the Scan_x/Scan_y fields), ``"rotidx"`` (from the
    rotator index, RosettaSciIO's ``"auto"`` rule) or ``"none"`` (no scan found).
    ``confidence`` (0..1) is the fraction of scan positions whose frame's header agrees
    with the detected raster. ``reason`` says why, in words. ``use_auto`` is set when
    only ``scan_shape="auto"`` reproduces the scan (a rotator index with repeated or
    skipped positions).
    """

    scan_shape: tuple[int, int] | None
    scan_start_frame: int
    winding_scan_axis: str | None
    hysteresis: int
    method: str
    confidence: float
    reason: str
    use_auto: bool = False

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


def detect_scan(urlpath=None, storage_options: dict | None = None, headers=None) -> ScanDetection:
    """Detect the scan of the recording ``urlpath`` from its frame headers.

    ``headers``: the table :func:`intake_tvips.recording.headers.frame_headers` returns (or any
    structured array of the frame headers in frame order), to avoid reading them again;
    ``urlpath`` is then not opened.
    """
    if headers is None:
        from intake_tvips.recording.headers import frame_headers

        headers = frame_headers(urlpath, storage_options)
    names = headers.dtype.names or ()
    notes = []
    if "Scan_x" in names and "Scan_y" in names:
        sx = np.asarray(headers["Scan_x"], dtype=np.float64)
        sy = np.asarray(headers["Scan_y"], dtype=np.float64)
        if np.any(sx != 0) or np.any(sy != 0):
            found = _from_scan_xy(sx, sy)
            if found is not None:
                return found
            notes.append("Scan_x/Scan_y never move from one position")
        else:
            notes.append("Scan_x/Scan_y are 0 in every frame")
    else:
        notes.append("the frame headers have no Scan_x/Scan_y (version 2, >= 76 bytes)")
    if "rotidx" not in names:
        notes.append("and no rotator index (a version 1 file)")
        return _none(notes)
    return _from_rotidx(np.asarray(headers["rotidx"], dtype=np.int64), notes)


def _none(notes) -> ScanDetection:
    return ScanDetection(None, 0, None, 0, "none", 0.0, "; ".join(notes) + ": no scan found")


# ---------------------------------------------------------------------- Scan_x / Scan_y


def _from_scan_xy(sx: np.ndarray, sy: np.ndarray) -> ScanDetection | None:
    n = sx.size
    ok = np.isfinite(sx) & np.isfinite(sy)
    ix = np.where(ok, np.rint(np.where(ok, sx, 0)), -1).astype(np.int64)
    iy = np.where(ok, np.rint(np.where(ok, sy, 0)), -1).astype(np.int64)
    ix[ix != np.where(ok, sx, -1)] = -1  # non-integer positions never match
    iy[iy != np.where(ok, sy, -1)] = -1
    moved = np.flatnonzero((ix[1:] != ix[:-1]) | (iy[1:] != iy[:-1]))
    if moved.size == 0:
        return None
    last_still = int(moved[0])  # the last frame before positions first change
    # the scan starts there (its first position repeats the junk's, often (0, 0)) or at
    # the next frame (e.g. a snake scan starting at the far end of a row): both are scored
    candidates = [last_still, last_still + 1] if last_still + 1 < n else [last_still]
    after = slice(last_still, None)
    valid = (ix[after] >= 0) & (iy[after] >= 0)
    if not valid.any():
        return None
    nx = int(ix[after][valid].max()) + 1
    ny = int(iy[after][valid].max()) + 1
    best = None
    for start in candidates:
        for winding in (None, "x", "y"):
            shape = _fit_shape((ny, nx), start, winding, n)
            score = _agreement(ix, iy, shape, start, winding)
            if best is None or score > best[0]:
                best = (score, start, winding, shape)
    score, start, winding, shape = best
    reason = [
        f"Scan_x/Scan_y: positions first move after frame {last_still}, the scan starts "
        f"at frame {start} and reaches x={nx - 1}, y={ny - 1}",
    ]
    odd_back = score < 1 and winding != "x" and _odd_rows_backwards(ix, iy, start, shape)
    if odd_back:
        reason.append(
            "rows 1, 3, 5, ... run backwards, which no winding_scan_axis expresses (the "
            f"reader reverses rows 0, 2, 4, ...); best reader match: winding {winding!r}. "
            "Workaround: "
            f"scan_shape=({shape[0] + 1}, {nx}), scan_start_frame={start - nx}, "
            "winding_scan_axis='x', then drop the first row"
        )
    elif winding is None:
        reason.append("every row runs forwards (x increasing): no winding")
    elif winding == "x":
        reason.append("rows 0, 2, 4, ... run backwards (x decreasing): winding_scan_axis='x'")
    else:
        reason.append("columns 0, 2, 4, ... run backwards (y decreasing): winding_scan_axis='y'")
    if shape != (ny, nx):
        reason.append(
            f"the recording ends {start + ny * nx - n} frames before the scan does; only "
            f"the {shape[0]} complete rows are kept"
        )
    elif start + ny * nx > n:
        reason.append(
            f"the recording ends {start + ny * nx - n} frames before the scan does; "
            "file_reader will refuse this scan_shape"
        )
    reason.append(f"{score:.1%} of the scan's frames have the position this raster gives them")
    reason.append("hysteresis cannot be read from the headers: 0 assumed")
    return ScanDetection(shape, start, winding, 0, "scan_xy", float(score), "; ".join(reason))


def _fit_shape(shape, start, winding, n_frames) -> tuple[int, int]:
    """Drop the incomplete last rows of a scan the recording ends inside of.

    Only for row-major rasters (no winding, or winding along x): for winding along y the
    frame of every position depends on the number of rows, so the shape is kept.
    """
    ny, nx = shape
    if start + ny * nx <= n_frames or winding == "y":
        return shape
    rows = (n_frames - start) // nx
    return (max(rows, 1), nx)


def _agreement(ix, iy, shape, start, winding) -> float:
    """Fraction of scan positions whose frame's header holds exactly that position."""
    ny, nx = shape
    pos = np.arange(ny * nx, dtype=np.int64)
    frames = ScanMap(shape, start, winding, 0).frames(pos)
    have = (frames >= 0) & (frames < ix.size)
    y, x = np.divmod(pos, nx)
    f = frames[have]
    good = (ix[f] == x[have]) & (iy[f] == y[have])
    return float(good.sum()) / float(pos.size)


def _odd_rows_backwards(ix, iy, start, shape) -> bool:
    """A snake scan that starts forwards (rows 1, 3, ... reversed)."""
    ny, nx = shape
    if ny < 2 or nx < 2:
        return False
    frames = np.arange(start, min(start + ny * nx, ix.size))
    row = (frames - start) // nx
    col = (frames - start) % nx
    want = np.where(row % 2 == 1, nx - 1 - col, col)
    return float(np.mean((ix[frames] == want) & (iy[frames] == row))) > 0.9


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
    notes.append(f"{confidence:.1%} of positions hold a frame with their own rotator value")
    notes.append("winding and hysteresis cannot be read from rotidx: none assumed")
    return ScanDetection(
        (n, n), start, None, 0, "rotidx", confidence, "; ".join(notes), use_auto=not simple
    )
