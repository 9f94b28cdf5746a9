"""Intensities: the linear rescale to 8 bits, and the range it maps from a sample of frames."""

from __future__ import annotations

import numpy as np

from intake_tvips.process.frames import Frames, check_frames, map_frames
from intake_tvips.process.sample import DEFAULT_SAMPLE, sample_frames

#: percentiles of a sample of frames mapped to 0 and 255 unless told otherwise
DEFAULT_PERCENTILES = (0.1, 99.9)


def to_uint8(data: Frames, vmin: float, vmax: float) -> Frames:
    """Rescale linearly to ``uint8``: ``x -> clip(round((x - vmin) / (vmax - vmin) * 255),
    0, 255)``, computed in ``float64`` (``round`` as ``numpy.rint``: halves to even).

    ``vmin < vmax`` (finite) or ``ValueError``. NaN maps to 0.
    """
    check_frames(data)
    vmin, vmax = float(vmin), float(vmax)
    if not (np.isfinite(vmin) and np.isfinite(vmax) and vmin < vmax):
        raise ValueError(f"vmin must be below vmax (both finite), got vmin={vmin}, vmax={vmax}")

    def scaled(block):
        # the formula's order of operations in float64, in place after the first step
        x = np.subtract(block, vmin, dtype=np.float64)
        x /= vmax - vmin
        x *= 255
        np.rint(x, out=x)
        np.clip(x, 0, 255, out=x)
        if block.dtype.kind in "fc":
            np.nan_to_num(x, copy=False, nan=0.0)
        return x.astype(np.uint8)

    return map_frames(scaled, data, dtype=np.uint8)


def intensity_range(
    data: Frames,
    percentiles: tuple[float, float] = DEFAULT_PERCENTILES,
    sample: int = DEFAULT_SAMPLE,
    scheduler=None,
    frames: np.ndarray | None = None,
) -> tuple[float, float]:
    """``(vmin, vmax)``: the ``percentiles`` of the pixels of a bounded sample of
    ``sample`` frames of ``data`` (see :func:`sample_frames`), or of ``frames`` when given
    (e.g. a sample already read and processed like ``data``).

    When both come out equal (a flat sample), ``vmax`` is ``vmin + 1``.
    """
    lo, hi = (float(p) for p in percentiles)
    if not 0 <= lo < hi <= 100:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {percentiles!r}")
    if frames is None:
        check_frames(data)
        frames = sample_frames(data, sample, scheduler)
    vmin, vmax = (float(v) for v in np.nanpercentile(np.asarray(frames, np.float64), [lo, hi]))
    if not vmax > vmin:
        vmax = vmin + 1.0
    return vmin, vmax
