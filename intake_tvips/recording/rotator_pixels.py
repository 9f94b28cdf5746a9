"""A scan from the rotator index completed by the pixels: its rows and winding.

A rotator index that counts the scan's positions (RosettaSciIO's ``scan_shape="auto"``
rule) tells where the scan starts and how many positions it has, never its winding, and
its rows only where it restarts every row or ``Scan_x``/``Scan_y`` wrap (else the square
is assumed). The pixels of the frames it counts tell rows and winding
(:func:`~intake_tvips.recording.scan_pixels.scan_from_pixels` given the start and the
count). Where they fill the index's positions from its start (and agree on the rows,
where the headers told them), the pixels' scan is taken: its rows, winding and
hysteresis, with the pixels' confidence (where they confirm the index's own rows, the
greater of the two). Where they do not, or the pixels cannot tell, the index's scan
stays as it was (rows assumed, winding none), with the pixels' answer in its reason.
"""

from __future__ import annotations

import math
from dataclasses import replace

from intake_tvips.recording.detection import ScanDetection


def rotator_with_pixels(found: ScanDetection, pixels: ScanDetection) -> ScanDetection:
    """The rotator-index scan ``found`` completed by ``pixels`` (the scan found from the
    pixels alone), as the module says."""
    why = _disagreement(found, pixels)
    if why:
        return replace(found, reason=f"{found.reason}; pixels: {why}")
    conf = pixels.confidence
    if pixels.scan_shape == found.scan_shape:
        conf = max(conf, found.confidence)
    (ny, nx), start = pixels.scan_shape, pixels.scan_start_frame
    told = (
        f"the pixels' scan fills the rotator index's {ny * nx} positions from frame "
        f"{start}: {ny} rows of {nx}, winding {pixels.winding_scan_axis}, from the pixels"
    )
    return replace(
        pixels, method="rotidx", confidence=conf, headers_read=found.headers_read,
        sampled=found.sampled, reason=f"{found.reason}; {told}; {pixels.reason}",
    )  # fmt: skip


def _disagreement(found: ScanDetection, pixels: ScanDetection) -> str:
    """Why the pixels' scan does not complete the index's, in words, or ``""``."""
    if pixels.method != "pixels":
        return pixels.reason.removeprefix("pixels: ")
    start, count = found.scan_start_frame, math.prod(found.scan_shape)
    theirs = f"{pixels.scan_shape[0]} x {pixels.scan_shape[1]} from frame {pixels.scan_start_frame}"
    if pixels.scan_start_frame != start or math.prod(pixels.scan_shape) != count:
        return (
            f"their scan ({theirs}) is not the rotator index's {count} positions from "
            f"frame {start}: left to the index"
        )
    if not found.rows_assumed and pixels.scan_shape != found.scan_shape:
        return f"their rows ({theirs}) are not the ones the headers tell: left to the headers"
    return ""
