"""The public reader: URL -> parts -> frame index -> scan map -> chunks -> array."""

from __future__ import annotations

import math

import numpy as np

from intake_tvips.graph.build import build_dask_array, read_eager
from intake_tvips.graph.chunking import plan_chunks
from intake_tvips.maths.scan import (
    IndexMap,
    StackMap,
    auto_scan_indices,
    check_scan_fits,
    make_scan_map,
)
from intake_tvips.metadata import build_metadata, original_metadata, scan_axes, stack_axes
from intake_tvips.recording.core import Recording, open_recording, time_axis_headers
from intake_tvips.recording.detect import detect_scan, sample_scan
from intake_tvips.recording.headers import frame_headers_of

#: scan_shape="auto" trusts the Scan_x/Scan_y fields when this share of frames agrees
AUTO_SCAN_XY_CONFIDENCE = 0.99
#: eager reads go block by block of about this many bytes
EAGER_BLOCK_BYTES = 64 * 2**20


def file_reader(
    filename,
    lazy: bool = False,
    scan_shape=None,
    scan_start_frame: int = 0,
    winding_scan_axis: str | None = None,
    hysteresis: int = 0,
    rechunking="auto",
    storage_options: dict | None = None,
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
        raster, that raster (any shape, its start frame and winding); otherwise
        RosettaSciIO's rule: a square scan from the rotator index. Found from a sample
        of a few hundred frame headers when the sample is unanimous, else from every
        header (the result is the same). :func:`intake_tvips.detect_scan` reports what
        was found and why.
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
    rechunking : "auto", False or dict
        Lazy chunking: ``"auto"``: by dask's ``array.chunk-size``, whole scan rows per
        chunk; ``False``: one chunk per part (a scan: the rows each part starts); a dict
        ``{axis: chunks}`` as for :meth:`dask.array.Array.rechunk`, checked at open
        (per axis: a positive integer, ``-1``/``None`` for the whole axis, ``"auto"``
        or a byte size, or positive integers summing to the axis length).
    storage_options : dict, optional
        Passed to fsspec (e.g. ``{"client_kwargs": {"endpoint_url": ...}}`` for S3).

    Returns
    -------
    list of dict
        One dict with ``data``, ``axes``, ``metadata``, ``original_metadata`` and
        ``mapping``, as RosettaSciIO's ``file_reader`` returns.
    """
    rec = open_recording(filename, storage_options)
    if not (
        rechunking == "auto"
        or rechunking is False
        or rechunking is None
        or isinstance(rechunking, dict)
    ):
        raise ValueError(
            f"rechunking must be 'auto', False or a dict {{axis: chunks}}, got {rechunking!r}"
        )
    fmap = frame_map(rec, scan_shape, scan_start_frame, winding_scan_axis, hysteresis)
    nav_shape = fmap.shape
    scan = not isinstance(fmap, StackMap)
    if scan:
        axes = scan_axes(nav_shape, rec.header, rec.first_frame_headers)
    else:
        axes = stack_axes(rec.n_frames, rec.header, time_axis_headers(rec))
    if lazy:
        nav_chunks, rest = plan_chunks(
            rechunking, fmap, rec.layout.frame_shape, rec.layout.dtype, rec.index.part_starts
        )
        data = build_dask_array(rec.parts, rec.index, fmap, nav_chunks)
        if rest:
            data = data.rechunk(rest)
    else:
        data = read_eager(rec.parts, rec.index, fmap, _eager_chunks(nav_shape, rec))
    return [
        {
            "data": data,
            "axes": axes,
            "metadata": build_metadata(rec.name, rec.header, rec.first_frame_headers),
            "original_metadata": original_metadata(rec.header),
            "mapping": {},
        }
    ]


def frame_map(rec: Recording, scan_shape, scan_start_frame, winding_scan_axis, hysteresis):
    """The frame map for the scan parameters, checked against the recording."""
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
    got = sample_scan(rec)
    found = got.detection  # None: the sample cannot decide
    headers = got.reader.table() if got.reader.frames.size == rec.n_frames else None
    if found is None:
        headers = frame_headers_of(rec)
        found = detect_scan(headers=headers)
    sure = found.sampled or found.confidence >= AUTO_SCAN_XY_CONFIDENCE
    if found.method == "scan_xy" and sure:
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
        if headers is None:
            headers = frame_headers_of(rec)
        try:
            indices = auto_scan_indices(headers["rotidx"])
        except ValueError as err:
            raise ValueError(f"{rec.name}: {err}") from None
    # winding is applied to the reconstructed grid, as for an explicit scan
    wind = make_scan_map(indices.shape, 0, winding_scan_axis, hysteresis)
    if wind.winding is not None:
        indices = indices.reshape(-1)[wind.frames(np.arange(indices.size))]
    return IndexMap(indices.reshape(wind.shape))


def _eager_chunks(nav_shape: tuple[int, ...], rec: Recording):
    """Blocks along the first navigation axis only, so each is a contiguous slice."""
    per_index = math.prod(nav_shape[1:]) * rec.layout.pixel_bytes
    step = max(1, EAGER_BLOCK_BYTES // max(per_index, 1))
    n0 = nav_shape[0]
    first = tuple(min(step, n0 - i) for i in range(0, n0, step)) or (0,)
    return (first,) + tuple((n,) for n in nav_shape[1:])
