"""The public reader: URL -> parts -> frame index -> scan map -> chunks -> array."""

from __future__ import annotations

import math

from intake_tvips.graph.build import build_dask_array, read_eager
from intake_tvips.graph.chunking import plan_chunks
from intake_tvips.maths.scan_parameters import ScanParameters
from intake_tvips.reading.opened import open_signal
from intake_tvips.recording.core import Recording, open_recording

#: eager reads go block by block of about this many bytes
EAGER_BLOCK_BYTES = 64 * 2**20


def file_reader(
    filename,
    lazy: bool = False,
    scan_shape=None,
    scan_start_frame: int = 0,
    winding_scan_axis: str | None = None,
    hysteresis: int | str = 0,
    rechunking="auto",
    storage_options: dict | None = None,
    *,
    scan_step: float | str | None = None,
    pattern_scale: float | str | None = None,
) -> list[dict]:
    """Read a TVIPS recording from any fsspec URL.

    Parameters
    ----------
    filename : str or os.PathLike
        The first part of the recording: ``NAME_000.tvips`` or ``NAME.tvips`` (meaning
        ``NAME_000.tvips``), as a local path or any fsspec URL (``s3://``,
        ``https://``, ``memory://``, ...). Parts ``_001``, ``_002``, ... are found by
        probing for each next name.
    lazy : bool
        Return a dask array whose tasks read byte ranges when computed (the graph holds
        only URLs, storage options and offsets, so it ships to distributed workers).
        Otherwise the result is allocated once and read straight into.
    scan_shape : None, "auto" or tuple of int
        ``None``: a stack ``(time, dy, dx)``. A tuple ``(..., ny, nx)``: frames
        ``scan_start_frame .. scan_start_frame + prod(scan_shape) - 1`` in C order;
        ``(n,)``: a line of ``n`` positions (no winding).
        ``"auto"``: where the frames carry their scan position (``Scan_x``/``Scan_y``,
        frame headers of 76 bytes or more) and at least 99 % of them agree with one
        raster (or 90 %, the others being strays: glitches or frames without positions,
        not frames skipped or repeated), that raster (any shape, its start frame and
        winding); otherwise RosettaSciIO's rule: a square scan from the rotator index.
        Found from a sample of a few hundred frame headers when the sample is
        unanimous, else from every header (the result is the same).
        :func:`intake_tvips.detect_scan` reports what was found and why.
    scan_start_frame : int
        First frame of the scan (ignored for ``"auto"``). Negative: the scan started
        before the recording; the missing positions read as zeros.
    winding_scan_axis : None, "x" or "y"
        Snake scan: every second row (``"x"``) or column (``"y"``), starting with the
        first, runs backwards.
    hysteresis : int
        For a winding scan: the reversed rows (columns) are rolled by this many
        positions along x (y). Any integer, taken modulo the row (column) length as
        RosettaSciIO does (``-1`` rolls by ``length - 1``); ignored without winding.
        ``"auto"``: estimated from a bounded sample of the pixels
        (:func:`intake_tvips.estimate_hysteresis`); the value, its confidence and why
        are in ``original_metadata["hysteresis_estimate"]``. When the pixels cannot
        tell, a ``HysteresisUndecidedWarning`` says so and 0 is used.
    rechunking : "auto", False or dict
        Lazy chunking: ``"auto"``: by dask's ``array.chunk-size``, whole scan rows per
        chunk; ``False``: one chunk per part (a scan: the rows each part starts); a dict
        ``{axis: chunks}`` as for :meth:`dask.array.Array.rechunk`, checked at open
        (per axis: a positive integer, ``-1``/``None`` for the whole axis, ``"auto"``
        or a byte size, or positive integers summing to the axis length).
    storage_options : dict, optional
        Passed to fsspec (e.g. ``{"client_kwargs": {"endpoint_url": ...}}`` for S3).
    scan_step : float or str, optional
        The scan step, which TVIPS files do not hold: the navigation axes' scale, in nm
        for a number, or text with units (``"2.5 nm"``). Default: 1 nm, as RosettaSciIO.
    pattern_scale : float or str, optional
        The detector calibration per pixel: the signal axes' scale (a number keeps the
        file's units, e.g. ``1/nm`` in diffraction; text sets them: ``"0.08 mrad"``).
        Default: the series header's pixel size.

    Returns
    -------
    list of dict
        One dict with ``data``, ``axes``, ``metadata``, ``original_metadata`` and
        ``mapping``, as RosettaSciIO's ``file_reader`` returns.
    """
    rec = open_recording(filename, storage_options)  # a bad file is named first
    if not (
        rechunking == "auto"
        or rechunking is False
        or rechunking is None
        or isinstance(rechunking, dict)
    ):
        raise ValueError(
            f"rechunking must be 'auto', False or a dict {{axis: chunks}}, got {rechunking!r}"
        )
    params = ScanParameters.parse(
        scan_shape, scan_start_frame, winding_scan_axis, hysteresis
    ).calibrated(scan_step, pattern_scale)
    opened = open_signal(rec, params)
    fmap = opened.fmap
    if lazy:
        nav_chunks, rest = plan_chunks(
            rechunking, fmap, rec.layout.frame_shape, rec.layout.dtype, rec.index.part_starts
        )
        data = build_dask_array(rec.parts, rec.index, fmap, nav_chunks)
        if rest:
            data = data.rechunk(rest)
    else:
        data = read_eager(rec.parts, rec.index, fmap, _eager_chunks(fmap.shape, rec))
    return [opened.signal(data)]


def _eager_chunks(nav_shape: tuple[int, ...], rec: Recording):
    """Blocks along the first navigation axis only, so each is a contiguous slice."""
    per_index = math.prod(nav_shape[1:]) * rec.layout.pixel_bytes
    step = max(1, EAGER_BLOCK_BYTES // max(per_index, 1))
    n0 = nav_shape[0]
    first = tuple(min(step, n0 - i) for i in range(0, n0, step)) or (0,)
    return (first,) + tuple((n,) for n in nav_shape[1:])
