"""Which recorded frame the reader puts at each scan position (the acquisition order)."""

from __future__ import annotations

import numpy as np

from intake_tvips.maths.scan import frame_grid, make_scan_map


def scan_frame_numbers(
    scan_shape: tuple[int, ...],
    scan_start_frame: int = 0,
    winding_scan_axis: str | None = None,
    hysteresis: int = 0,
) -> np.ndarray:
    """The frame number of every scan position, an int64 array of ``scan_shape``.

    With the same scan parameters as :func:`intake_tvips.file_reader`: ``data[pos]`` of
    the reconstructed scan is frame ``scan_frame_numbers(...)[pos]`` of the recording
    (-1 where the scan starts before the recording). Use it to write frames in the order
    a camera records them, or to look up the frame headers of a position.

    >>> scan_frame_numbers((2, 3), scan_start_frame=1, winding_scan_axis="x").tolist()
    [[3, 2, 1], [4, 5, 6]]
    """
    return frame_grid(make_scan_map(scan_shape, scan_start_frame, winding_scan_axis, hysteresis))
