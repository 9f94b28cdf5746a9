"""Frame headers as scan generators write them, beyond tvips_factory.generated_scan's
Scan_x/Scan_y: what the rotator index holds (nothing, a running count of the scan's
positions, the position within the row restarting every row, a frame counter), whether
Scan_y is written (some generators write only Scan_x), and a few corrupt values. For
tests/test_detect_rows.py and benchmarks/detect_sweep.py.
"""

from __future__ import annotations

import numpy as np
from tvips_factory import draw_scan, expressible_truth, parked_positions, walk_positions

from intake_tvips.maths.scan import ScanMap, frame_grid

#: what the frame headers carry of the positions
POSITIONS = ("xy", "x_only", "absent", "zeros")
#: what the rotator index holds
ROTATORS = ("zeros", "running", "restart", "counter", "counter0", "restart_x")
#: values a corrupt header field may hold
CORRUPT_ROTATOR = (4294836225, 0, 1, 77777)
CORRUPT_POSITION = (np.nan, 1e9, -1.0, 4.5, 3.0)


def _rotator(kind, rng, before, ny, nx, n, x):
    """The rotator index of every frame (uint32 values as int64); ``x``: the scan's
    x positions ("restart_x" writes x + 1)."""
    total = ny * nx
    r = np.zeros(n, np.int64)
    if kind in ("counter", "counter0"):
        return np.arange(n, dtype=np.int64) + (kind == "counter")
    if kind == "zeros":
        return r
    scan = np.arange(1, total + 1) if kind == "running" else np.arange(total) % nx + 1
    if kind == "restart_x":
        scan = np.asarray(x) + 1
    r[before : before + total] = scan
    if rng.random() < 0.5:  # the index holds its last value after the scan, or falls to 0
        r[before + total :] = scan[-1]
    return r


def _corrupt(rng, r, sx, sy):
    """A few corrupt values (at most three frames each), sometimes."""
    n = r.size
    words = []
    if rng.random() < 0.25:
        at = rng.integers(0, n, int(rng.integers(1, 4)))
        r[at] = rng.choice(CORRUPT_ROTATOR, at.size)
        words.append(f"rotator corrupt at {sorted(set(at.tolist()))}")
    if rng.random() < 0.25:
        at = rng.integers(0, n, int(rng.integers(1, 4)))
        sx[at] = rng.choice(CORRUPT_POSITION, at.size)
        words.append(f"Scan_x corrupt at {sorted(set(at.tolist()))}")
    return words


def generated_headers(rng: np.random.Generator) -> dict:
    """One recording's frame headers. Returns ``table`` (structured: ``frame``,
    ``rotidx``, and ``Scan_x``/``Scan_y`` unless absent), ``truth`` (``(shape, start,
    winding)`` the reader reproduces the scan with, ``None`` when no winding expresses
    the walk), ``geometry`` (``(shape, start)``, always) and ``case`` (words)."""
    pick = rng.integers
    ny, nx, walk, before, after, park_before, park_after = draw_scan(rng)
    positions = POSITIONS[pick(len(POSITIONS))]
    rotator = ROTATORS[pick(len(ROTATORS))]
    x, y = walk_positions((ny, nx), walk)
    x_scan = x.copy()
    if positions == "x_only":
        y = np.zeros_like(y)
    sx, sy = parked_positions(x, y, before, after, (park_before, park_after), np.float64)
    n = sx.size
    r = _rotator(rotator, rng, before, ny, nx, n, x_scan)
    words = _corrupt(rng, r, sx, sy)
    if positions == "zeros":
        sx[:], sy[:] = 0, 0
    fields = [("frame", "<i8"), ("rotidx", "<u4")]
    if positions != "absent":
        fields += [("Scan_x", "<f4"), ("Scan_y", "<f4")]
    table = np.zeros(n, fields)
    table["frame"], table["rotidx"] = np.arange(n), r.astype(np.uint32)
    if positions != "absent":
        table["Scan_x"], table["Scan_y"] = sx, sy
    truth, walk = expressible_truth(ny, nx, walk, before)
    case = (
        f"{ny} x {nx} walked {walk}, {before} frames parked at {park_before} before, "
        f"{after} at {park_after} after; positions {positions}, rotator {rotator}"
    )
    case = "; ".join([case, *words])
    return {"table": table, "truth": truth, "geometry": ((ny, nx), before), "case": case}


def verdict(d, g) -> str:
    """``right``: trusted (Scan_x/Scan_y: ``scan_shape="auto"`` takes it; rotator index:
    confidence >= 0.9) and the truth's map; ``undecided``: not trusted (or no scan);
    ``wrong``: trusted, and not the truth. A finding whose winding is assumed (the
    rotator index cannot tell it) is judged by its shape and start."""
    if d.method == "scan_xy":
        trusted = d.positions_trusted
    else:
        trusted = d.method == "rotidx" and d.confidence >= 0.9
    if not trusted:
        return "undecided"
    shape, start = tuple(d.scan_shape), d.scan_start_frame
    if getattr(d, "winding_assumed", d.method == "rotidx"):
        return "right" if (shape, start) == g["geometry"] else "wrong"
    truth = g["truth"]
    if truth is None or shape != truth[0]:
        return "wrong"
    got = ScanMap(shape, start, d.winding_scan_axis)
    same = np.array_equal(frame_grid(got), frame_grid(ScanMap(*truth)))
    return "right" if same else "wrong"
