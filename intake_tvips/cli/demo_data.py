"""The demo's synthetic 4D-STEM recording: a sample, its diffraction patterns in the order
a camera records a winding scan, the scan positions of each frame, and the signal dict
:func:`intake_tvips.file_writer` takes."""

from __future__ import annotations

import numpy as np

from intake_tvips import scan_frame_numbers

#: detector frame size (pixels) of the synthetic recording
DETECTOR = 64
#: frames recorded before the scan starts (junk: beam blanked) and after it ends
JUNK_BEFORE = 3
JUNK_AFTER = 2
#: the scan: snake along x, reversed rows rolled by this many positions
WINDING = "x"
HYSTERESIS = 2
#: the recording is split into about this many part files
N_PARTS = 4
#: the bright-field disc: radius (pixels) and counts per pixel without a sample
DISC_RADIUS = 0.15 * DETECTOR
DISC_COUNTS = 120.0
#: the disc centre moves by up to this many pixels across the scan (descan error)
DISC_SHIFT = 1.5
#: virtual bright-field detector: a disc this much wider than the bright-field disc
MASK_MARGIN = DISC_SHIFT + 1.0
#: the demo succeeds when the virtual bright field correlates with the object above this
MIN_CORRELATION = 0.9
#: scan sizes the demo accepts (the upper bound keeps the data under 512 MiB)
SCAN_RANGE = (8, 256)
SEED = 20240517


def _soft_disc(dist, radius, edge: float = 1.0):
    """1 inside ``radius``, 0 outside, a linear ramp ``edge`` wide (anti-aliased)."""
    return np.clip((radius - dist) / edge + 0.5, 0.0, 1.0)


def sample_object(scan: int) -> np.ndarray:
    """The sample's transmission over the scan, in ``(0, 1]``: a smiley and particles."""
    y, x = (np.mgrid[0:scan, 0:scan] + 0.5) / scan  # scan plane in 0..1
    edge = 1.0 / scan  # one scan step

    def disc(cy, cx, r):
        return _soft_disc(np.hypot(y - cy, x - cx), r, edge)

    def ring(cy, cx, r, width):
        return np.clip(
            _soft_disc(np.hypot(y - cy, x - cx), r + width / 2, edge)
            - _soft_disc(np.hypot(y - cy, x - cx), r - width / 2, edge),
            0,
            1,
        )

    # a smiley left of centre and a bar on the right: not mirror symmetric, so rows read
    # backwards (a scan not unwound) visibly break it up
    absorb = 0.55 * ring(0.5, 0.4, 0.3, 0.07)  # face
    absorb += 0.7 * disc(0.41, 0.29, 0.06) + 0.7 * disc(0.41, 0.51, 0.06)  # eyes
    absorb += 0.6 * ring(0.48, 0.4, 0.17, 0.06) * (y > 0.57)  # mouth: lower half ring
    absorb += 0.5 * _soft_disc(np.maximum(np.abs(x - 0.85) - 0.04, np.abs(y - 0.5) - 0.3), 0, edge)
    for cy, cx, r, a in [  # particles
        (0.08, 0.10, 0.05, 0.5),
        (0.10, 0.85, 0.06, 0.35),
        (0.91, 0.12, 0.055, 0.45),
        (0.91, 0.62, 0.04, 0.6),
    ]:
        absorb += a * disc(cy, cx, r)
    return 1.0 - np.clip(absorb, 0.0, 0.85)


def _patterns_for_row(row: int, truth: np.ndarray, rng, detector: int) -> np.ndarray:
    """The noisy diffraction patterns of scan row ``row``: ``(scan_x, dy, dx)`` uint16."""
    scan = truth.shape[1]
    t = truth[row][:, None, None]  # (x, 1, 1)
    sx = np.arange(scan)
    c = detector / 2 - 0.5
    # descan: the disc drifts across the scan (y) and wobbles along a row (x)
    cy = c + DISC_SHIFT * (2 * row / max(scan - 1, 1) - 1)
    cx = c + DISC_SHIFT * np.sin(2 * np.pi * sx / scan)
    ky, kx = np.mgrid[0:detector, 0:detector]
    dist = np.hypot(ky[None] - cy, kx[None] - cx[:, None, None])
    bright = _soft_disc(dist, DISC_RADIUS)
    # what the object absorbs from the disc partly reappears as diffuse scattering
    diffuse = 1.0 + 30.0 * (1.0 - t) * np.exp(-(((dist - DISC_RADIUS) / 8.0) ** 2))
    lam = DISC_COUNTS * t * bright + (1.0 - bright) * diffuse
    return rng.poisson(lam).astype(np.uint16)


def synthesize(scan: int, detector: int = DETECTOR, seed: int = SEED):
    """``(frames, truth)``: the recorded frames ``(n, dy, dx)`` and the object ``(scan, scan)``.

    Frame ``f`` of the recording holds the pattern of the scan position ``p`` with
    ``scan_frame_numbers(...)[p] == f``: the acquisition order of a winding scan.
    """
    rng = np.random.default_rng(seed)
    truth = sample_object(scan)
    n_frames = JUNK_BEFORE + scan * scan + JUNK_AFTER
    frames = np.empty((n_frames, detector, detector), dtype=np.uint16)
    # junk: blanked beam, dark counts only
    junk = [*range(JUNK_BEFORE), *range(n_frames - JUNK_AFTER, n_frames)]
    frames[junk] = rng.poisson(1.0, size=(len(junk), detector, detector))
    where = scan_frame_numbers((scan, scan), JUNK_BEFORE, WINDING, HYSTERESIS)
    for row in range(scan):
        frames[where[row]] = _patterns_for_row(row, truth, rng, detector)
    return frames, truth


def signal_dict(frames: np.ndarray) -> dict:
    """``frames`` as the signal dictionary ``file_writer`` takes: a stack of patterns."""
    n, dy, dx = frames.shape

    def axis(i, name, size, scale, units, navigate):
        return dict(
            size=size,
            index_in_array=i,
            name=name,
            scale=scale,
            offset=0,
            units=units,
            navigate=navigate,
        )

    return {
        "data": frames,
        "axes": [
            axis(0, "time", n, 0.001, "s", True),  # a 1 kHz camera
            axis(1, "dy", dy, 1, "1/nm", False),
            axis(2, "dx", dx, 1, "1/nm", False),
        ],
        "metadata": {
            "General": {
                "title": "intake-tvips demo",
                "date": "2024-05-17",
                "time": "12:00:00",
                "time_zone": "UTC",
            },
            "Acquisition_instrument": {"TEM": {"beam_energy": 200, "magnification": 8000}},
            "Signal": {"signal_type": "diffraction"},
        },
    }


def vbf_mask(detector: int = DETECTOR) -> np.ndarray:
    """The virtual bright-field detector: a disc around the detector centre."""
    ky, kx = np.mgrid[0:detector, 0:detector]
    c = detector / 2 - 0.5
    return np.hypot(ky - c, kx - c) <= DISC_RADIUS + MASK_MARGIN


def pearson(a, b) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


#: frame headers of 60 + 16 = 76 bytes: room for Scan_x/Scan_y (as a TVIPS camera writes
#: them during a scan), so ``intake-tvips info`` detects the scan from the headers
FRAME_HEADER_EXTRA_BYTES = 16


def scan_positions(scan: int) -> dict[str, np.ndarray]:
    """``{"Scan_x": ..., "Scan_y": ...}`` of every frame, in file order: the positions the
    scan generator was told to visit (the headers never show the hysteresis, the lag of
    the beam behind them). Junk frames before the scan hold its first position (the beam
    waits there), those after it its last."""
    n_frames = JUNK_BEFORE + scan * scan + JUNK_AFTER
    where = scan_frame_numbers((scan, scan), JUNK_BEFORE, WINDING, 0)
    y, x = np.mgrid[0:scan, 0:scan]
    sx = np.empty(n_frames, dtype=np.float32)
    sy = np.empty(n_frames, dtype=np.float32)
    sx[where], sy[where] = x, y
    first, last = JUNK_BEFORE, JUNK_BEFORE + scan * scan - 1
    sx[:first], sy[:first] = sx[first], sy[first]
    sx[last + 1 :], sy[last + 1 :] = sx[last], sy[last]
    return {"Scan_x": sx, "Scan_y": sy}
