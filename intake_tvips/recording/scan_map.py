"""Which frame shows at each scan position, for the reader's scan parameters.

Explicit parameters give a closed-form map (:mod:`intake_tvips.maths.scan`);
``scan_shape="auto"`` asks the frame headers (a sample of them when it is unanimous,
else every header) and gives the raster they describe, or RosettaSciIO's rotator rule
(beyond it only where it refuses: strays passed over, non-square rows from positions).
"""

from __future__ import annotations

import numpy as np

from intake_tvips.maths.scan import (
    IndexMap,
    StackMap,
    check_scan_fits,
    frame_grid,
    make_scan_map,
)
from intake_tvips.maths.scan_parameters import ScanParameters
from intake_tvips.recording.core import Recording
from intake_tvips.recording.detect import headers_and_scan
from intake_tvips.recording.detect_frames import HeaderValues
from intake_tvips.recording.detect_rotidx import rotator_indices
from intake_tvips.recording.headers import frame_headers_of


def frame_map(rec: Recording, params: ScanParameters):
    """The frame map for the scan parameters (an int hysteresis), checked against the
    recording."""
    scan_shape, scan_start_frame = params.scan_shape, params.scan_start_frame
    winding_scan_axis, hysteresis = params.winding_scan_axis, params.hysteresis
    if scan_shape is None:
        return StackMap(rec.n_frames)
    if isinstance(scan_shape, str):
        if scan_shape != "auto":
            raise ValueError(
                f"scan_shape must be None, 'auto' or a tuple of integers, got {scan_shape!r}"
            )
        if rec.layout.version == 1:
            raise ValueError(
                f"{rec.name}: scan_shape='auto' needs the rotator index of version 2 frame "
                "headers; this is a version 1 file: give scan_shape explicitly"
            )
        return _auto_map(rec, winding_scan_axis, hysteresis)
    fmap = make_scan_map(scan_shape, scan_start_frame, winding_scan_axis, hysteresis)
    check_scan_fits(rec.name, fmap, rec.n_frames)
    return fmap


def _auto_map(rec: Recording, winding_scan_axis, hysteresis):
    """``scan_shape="auto"``: from a sample of the frame headers when it is unanimous,
    else from every header (the same answer either way)."""
    headers, found = headers_and_scan(rec)
    if found.positions_trusted:
        # the frames say where they are: any shape, the start frame and the winding
        fmap = make_scan_map(
            found.scan_shape,
            found.scan_start_frame,
            winding_scan_axis if winding_scan_axis is not None else found.winding_scan_axis,
            hysteresis,
        )
        check_scan_fits(rec.name, fmap, rec.n_frames)
        return fmap
    if found.method == "rotidx" and found.sampled:
        # one frame per position in order: what the rule gives from every header
        total = found.scan_shape[0] * found.scan_shape[1]
        indices = (found.scan_start_frame + np.arange(total)).reshape(found.scan_shape)
    else:
        if headers.size < rec.n_frames:  # the sample decided, but the rule needs them all
            headers = frame_headers_of(rec)
        try:
            # RosettaSciIO's rule; where it refuses, strays passed over and the rows
            # of a non-square scan from where the positions wrap
            values = HeaderValues(rec.n_frames, headers, complete=True)
            indices = rotator_indices(values).grid
        except ValueError as err:
            raise ValueError(f"{rec.name}: {err}") from None
    # winding is applied to the reconstructed grid, as for an explicit scan (the one the
    # rotator index tells when none is given: rows 0, 2, ... counting down, x + 1)
    if winding_scan_axis is None and found.method == "rotidx":
        winding_scan_axis = found.winding_scan_axis
    wind = make_scan_map(indices.shape, 0, winding_scan_axis, hysteresis)
    if wind.winding is not None:
        indices = indices.reshape(-1)[frame_grid(wind).reshape(-1)]
    return IndexMap(indices.reshape(wind.shape))
