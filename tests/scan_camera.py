"""Synthetic 4D-STEM recordings of a second, independent make: what a camera adds to the
sample's signal, for checking the pixel-based estimates beyond ``scan_textures``.

Each frame holds a bright-field disc with a soft edge and six Bragg spots whose
orientation follows the grain under the probe; the disc moves with the scan position
(descan) and, slowly, with time; the beam current drifts; counts are electrons
(Poisson) times a gain, on a dark offset with read noise; a few hot pixels stay bright.
Junk frames around the scan are dark frames (``"blank"``), the probe parked on the
scan's first acquired position or on the image's origin (``"parked_first"``,
``"parked_origin"``; after the scan: on its last position), parked off the scan
(``"parked_off"``), or none. The frames are laid out with ``reference_grid`` (the
documented scan rule, written naively), as in ``scan_textures``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scan_textures as st
from tvips_factory import reference_grid

#: junk around the scan
JUNK = ("blank", "parked_first", "parked_origin", "parked_off", "none")


@dataclass(frozen=True)
class Camera:
    """What the microscope and camera add: ``detector`` pixels a side, ``dose``
    electrons per bright-field pixel (``None``: noise-free), beam current lost over
    the recording (``drift``), ADU per electron (``gain``), dark ``offset`` and
    ``read_noise`` (ADU), ``hot_pixels`` (stuck bright), the disc's shift across the
    scan (``descan``, pixels) and over the recording (``time_drift``, pixels).
    ``bits``: 16, or 8 for an 8-bit stream: the ADU shifted right by as many bits as
    bring the brightest 0.5 % of the recording's pixels to 128-255, clipped at 255
    (hot pixels saturate)."""

    detector: int = 16
    dose: float | None = 200.0
    drift: float = 0.0
    gain: float = 1.0
    offset: float = 0.0
    read_noise: float = 0.0
    hot_pixels: int = 0
    descan: float = 0.0
    time_drift: float = 0.0
    bits: int = 16


def recording(
    shape: tuple[int, int],
    camera: Camera = Camera(),
    *,
    texture_name: str = "grains",
    winding: str | None = None,
    hysteresis: int = 0,
    junk: str = "blank",
    junk_before: int = 3,
    junk_after: int = 2,
    seed: int = 0,
) -> np.ndarray:
    """``(frames, detector, detector)``: the recorded frames, uint16 (uint8 where
    ``camera.bits`` is 8)."""
    rng = np.random.default_rng(seed)
    ny, nx = shape
    t = st.texture(texture_name, shape, rng)
    angle = _orientations(shape, rng)
    before, n = junk_before, junk_before + ny * nx + junk_after
    grid = reference_grid(shape, before, winding, hysteresis).reshape(-1)
    yy, xx = (v.reshape(-1) for v in np.mgrid[0:ny, 0:nx])
    spots = np.zeros((n, 4))  # per frame: transmission, angle, y and x in the scan (0..1)
    spots[:] = (0.6, 0.5, 0.5, 0.5)  # off the scan
    spots[grid] = np.stack([t.reshape(-1), angle.reshape(-1), yy / ny, xx / nx], axis=1)
    first, last = int(np.argmin(grid)), int(np.argmax(grid))
    head, tail = np.arange(before), np.arange(n - junk_after, n)
    if junk in ("parked_first", "parked_origin"):
        spots[head] = spots[grid[first if junk == "parked_first" else 0]]
        spots[tail] = spots[grid[last]]
    hot = [
        (int(rng.integers(camera.detector)), int(rng.integers(camera.detector)))
        for _ in range(camera.hot_pixels)
    ]
    frames = _frames(spots, camera, hot, rng)
    if junk == "blank":
        frames[np.concatenate([head, tail])] = _dark(before + junk_after, camera, hot, rng)
    return eight_bit(frames) if camera.bits == 8 else frames


def eight_bit(frames: np.ndarray) -> np.ndarray:
    """``frames`` (uint16 ADU) as an 8-bit stream records them: shifted right by the
    fewest bits that bring the brightest 0.5 % of the pixels to 255 or below, clipped
    at 255."""
    top = float(np.quantile(frames, 0.995))
    shift = max(0, int(np.ceil(np.log2(top / 255)))) if top > 255 else 0
    return np.minimum(frames >> shift, 255).astype(np.uint8)


def _orientations(shape: tuple[int, int], rng) -> np.ndarray:
    """A grain orientation per position (radians): Voronoi cells of random seeds."""
    ny, nx = shape
    seeds = rng.uniform((0, 0), (ny, nx), size=(max(4, ny * nx // 150), 2))
    y, x = np.mgrid[0:ny, 0:nx]
    d = np.hypot(y[..., None] - seeds[:, 0], x[..., None] - seeds[:, 1])
    return rng.uniform(0, np.pi / 3, len(seeds))[d.argmin(axis=-1)]


def _frames(spots: np.ndarray, camera: Camera, hot, rng, batch: int = 512) -> np.ndarray:
    """The patterns of ``spots`` (transmission, angle, y, x per frame), as counted."""
    n, size = spots.shape[0], camera.detector
    k = np.arange(size) - (size - 1) / 2
    ky, kx = np.meshgrid(k, k, indexing="ij")
    tilt = rng.normal(0, 1, 4) * camera.descan / 2
    wander = rng.normal(0, 1, 2) * camera.time_drift
    out = np.empty((n, size, size), np.uint16)
    for lo in range(0, n, batch):
        s = spots[lo : lo + batch, :, None, None]
        when = (np.arange(lo, lo + s.shape[0]) / n)[:, None, None]
        cy = tilt[0] * s[:, 3] + tilt[1] * s[:, 2] + wander[0] * when
        cx = tilt[2] * s[:, 3] + tilt[3] * s[:, 2] + wander[1] * when
        disc = 1 / (1 + np.exp((np.hypot(ky - cy, kx - cx) - 0.2 * size) / 0.7))
        bragg = sum(_spot(ky - cy, kx - cx, s[:, 1] + j * np.pi / 3, size) for j in range(6))
        lam = (s[:, 0] * disc + 0.6 * (1.1 - s[:, 0]) * bragg + 0.03) * (1 - camera.drift * when)
        out[lo : lo + s.shape[0]] = _counted(lam, camera, hot, rng)
    return out


def _spot(dy: np.ndarray, dx: np.ndarray, angle: np.ndarray, size: int) -> np.ndarray:
    sy, sx = 0.38 * size * np.sin(angle), 0.38 * size * np.cos(angle)
    return np.exp(-((dy - sy) ** 2 + (dx - sx) ** 2) / (2 * (0.03 * size) ** 2))


def _counted(lam: np.ndarray, camera: Camera, hot, rng) -> np.ndarray:
    """ADU of the expected electrons ``lam`` (per unit dose)."""
    if camera.dose is None:
        adu = lam * 400 * camera.gain + camera.offset
    else:
        adu = rng.poisson(lam * camera.dose) * camera.gain + camera.offset
        if camera.read_noise:
            adu = adu + rng.normal(0, camera.read_noise, lam.shape)
    adu = np.clip(np.round(adu), 0, 65535)
    for y, x in hot:
        adu[:, y, x] = 60000
    return adu.astype(np.uint16)


def _dark(count: int, camera: Camera, hot, rng) -> np.ndarray:
    """Frames with the beam blanked: the dark offset, read noise, a stray electron."""
    size = camera.detector
    lam = np.zeros((count, size, size))
    if camera.dose is None:
        return _counted(lam, Camera(size, None, offset=camera.offset), hot, rng)
    strays = Camera(size, 1.0, gain=camera.gain, offset=camera.offset, read_noise=camera.read_noise)
    return _counted(lam + 0.02, strays, hot, rng)
