"""``ScanDetection``: a recording's scan as detection found it (from its headers or its
pixels), with why and how sure; what :func:`~.detect.detect_scan` returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from intake_tvips.recording.detect_frames import trusts_positions


@dataclass(frozen=True)
class ScanDetection:
    """What the frame headers say about the scan, and how sure that is.

    ``method`` is ``"scan_xy"`` (from the Scan_x/Scan_y fields), ``"rotidx"`` (from the
    rotator index, RosettaSciIO's ``"auto"`` rule), ``"pixels"`` (from the pixels
    alone, ``detect_scan(pixels=True)``) or ``"none"`` (no scan found).
    ``confidence`` (0..1): with every header read, the fraction of scan positions whose
    frame's header agrees with the detected raster; from a sample (``sampled``), the
    share of agreeing frames the unanimous sample supports (at 95 %); from the pixels,
    how clearly the winning raster beats its runner-up (at most 0.5 for plain rows or
    winding "y" that neither the steps between frames nor the image tell apart; no
    more than the image's confidence where it told them). ``reason`` says
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
    #: the headers cannot tell the winding (the rotator index never can; ``Scan_x``
    #: alone cannot tell ``None`` from ``"y"``): ``winding_scan_axis`` is assumed, and
    #: ``scan_shape="auto"`` does not take these positions
    winding_assumed: bool = False
    #: the rows are RosettaSciIO's square, assumed: a rotator index that counts the
    #: scan's positions tells its start and size, not its rows (``confidence`` at most
    #: ``detect_rotidx.SQUARE_ASSUMED_CONFIDENCE``; ``detect_scan(pixels=True)`` asks
    #: the pixels)
    rows_assumed: bool = False
    #: where no scan was found but a rotator index counts positions to a number that is
    #: no square: ``(first frame, positions)``; ``detect_scan(pixels=True)`` takes rows
    #: and winding from the pixels of those frames
    counted: tuple[int, int] | None = None
    #: where the pixels found no scan they trust (``method="none"``) but rows fit: the
    #: scan they lean to, ``{"scan_shape", "scan_start_frame", "winding_scan_axis"}``, a
    #: first view to tune by eye (``intake-tvips view`` opens on it), never an answer:
    #: ``reader_kwargs`` and ``scan_shape="auto"`` ignore it; ``None`` otherwise
    guess: dict | None = field(default=None, hash=False)  # a detection stays hashable

    @property
    def positions_trusted(self) -> bool:
        """Whether ``scan_shape="auto"`` takes this ``Scan_x``/``Scan_y`` raster: a
        unanimous sample, ``AUTO_SCAN_XY_CONFIDENCE`` of the frames agreeing, or
        ``AUTO_SCAN_XY_STRAYS`` of them with the others strays (not ``shifted``): a few
        glitches or a run of frames without positions, which a sample may not see."""
        trusted = trusts_positions(self.method, self.sampled, self.confidence, self.shifted)
        return trusted and not self.winding_assumed

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
