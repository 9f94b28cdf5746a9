"""Writing a signal dict (as :func:`intake_tvips.file_reader` returns) to TVIPS parts.

:func:`file_writer` is three steps, each a module that can be used and tested alone:

* :mod:`~intake_tvips.writers.tvips.signal` and :mod:`~intake_tvips.writers.tvips.header`: the input
  checked; the series header and the frame header fields built from the signal;
* :mod:`~intake_tvips.writers.tvips.records`: the frames, a slab at a time, packed as records;
* :mod:`~intake_tvips.writers.tvips.sink`: the records streamed into parts, all or nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from intake_tvips.format.layout import PIXEL_DTYPES, RecordLayout
from intake_tvips.storage.filesystem import resolve
from intake_tvips.writers.tvips.header import frame_fields, series_header
from intake_tvips.writers.tvips.records import record_slabs
from intake_tvips.writers.tvips.signal import check_data, check_options, ordered_axes
from intake_tvips.writers.tvips.sink import PartSink, part_record_counts, usable_max_file_size

__all__ = ["file_writer", "part_record_counts", "WRITE_GROUP_BYTES", "WRITE_SLAB_BYTES"]

#: dask chunks computed together while writing, at most about this many bytes
WRITE_GROUP_BYTES = 64 * 2**20
#: records are built and written in slabs of about this many bytes
WRITE_SLAB_BYTES = 32 * 2**20


def file_writer(
    filename,
    signal: dict,
    max_file_size: int | None = None,
    version: int = 2,
    frame_header_extra_bytes: int = 0,
    mode: int | None = None,
    show_progressbar: bool = True,
    storage_options: dict | None = None,
    overwrite: bool = True,
    frame_header_fields: Mapping | None = None,
) -> None:
    """Write a signal to a TVIPS recording (parts ``NAME_000.tvips, NAME_001.tvips, ...``).

    Parameters
    ----------
    filename : str or os.PathLike
        ``NAME.tvips`` or ``NAME_000.tvips``, a local path or any writable fsspec URL
        (``memory://``, ``s3://``, ...). Parts are numbered from ``_000``; only ``_000``
        holds the 256-byte series header.
    signal : dict
        ``{"data", "axes", "metadata", ...}`` as :func:`~intake_tvips.file_reader`
        returns. ``data`` (numpy or dask; ``uint8`` or ``uint16``, or ``uint32``/``uint64``
        with a warning: TVIPS's own software reads only 8 and 16 bits) has shape
        ``(..., dy, dx)``: exactly the last two axes are signal axes
        (``navigate=False``); the navigation axes are flattened to frames in C order.
    max_file_size : int, optional
        Largest size of a part in bytes. Parts hold whole records, at least one each;
        smaller than the series header plus one record: that size, with a warning (as
        RosettaSciIO does). ``None``: a single part.
    version : {1, 2}
        Version 2: frame headers of ``60 + frame_header_extra_bytes`` bytes. Version 1:
        12-byte frame headers (counter, timestamp, milliseconds) that every reader
        accepts as version 1 (RosettaSciIO writes 60 bytes there, which no reader does).
    frame_header_extra_bytes : int
        Bytes appended to each version 2 frame header. When they cover the scan
        position fields (``frame_header_extra_bytes >= 16``) and the signal has at
        least two navigation axes, ``Scan_x``/``Scan_y`` hold the scan column and row.
    mode : {None, 1, 2}
        Frame header ``mode``: 1 imaging, 2 diffraction. ``None`` guesses from the signal
        axis units (length -> 1, otherwise 2).
    show_progressbar : bool
        Show a tqdm progress bar (counting frames).
    storage_options : dict, optional
        Passed to fsspec.
    overwrite : bool
        ``False``: raise ``FileExistsError`` if ``NAME_000`` exists.
    frame_header_fields : mapping, optional
        Per-frame values written instead of the computed ones: ``{field: values}`` with
        one value per frame (in file order) for fields of the frame header, e.g.
        ``{"Scan_x": ..., "Scan_y": ...}`` (with ``frame_header_extra_bytes >= 16``) for a
        scan recorded in an order other than C order, as a camera writes a snake scan.

    Notes
    -----
    Header values are RosettaSciIO's: ``pixelsize`` and the offsets are the signal axis
    scale and offsets converted to nm (length units) or 1/nm (inverse lengths) and
    rounded, ``ht`` is ``beam_energy``, frame times count from
    ``General.date/time/time_zone`` in steps of the last navigation axis' scale (1 ms
    when that is not a time), ``rotidx`` is the 1-based frame index. Where RosettaSciIO is
    wrong we differ: the pixel size comes from a signal axis (not the first navigation
    axis), stage tilts from ``TEM.Stage.tilt_alpha/beta`` (``TEM.tilt_alpha/beta`` as a
    fallback), ``num`` counts frames from 0, frame times are rounded to the nearest ms
    (not truncated), negative offsets are stored as 0 with a warning (not a crash),
    float and signed data are refused, a single image (no navigation axis) is one frame,
    ``magtotal`` is the one of ``camera_length``/``magnification`` the mode asks for,
    else the other (RosettaSciIO writes 0 when both are set or only the other is; both
    readers put ``magtotal`` into ``magnification``, so that would lose it on a round
    trip), and higher-numbered parts left by an earlier, longer recording are removed
    (all of them, across gaps). What the reader would refuse is refused before writing
    (``ValueError`` naming the parameter or metadata field): frames of 0 or more than
    65536 pixels, scans with no position, frame headers beyond 1 MiB, NaN, infinite or
    non-numeric metadata and axis values, dask arrays of unknown chunk sizes.

    On failure (e.g. an exception while computing a dask chunk, or the process killed)
    no recording mixing old and new parts is left: see :mod:`intake_tvips.writers.tvips.sink`.
    Locally an earlier recording stays intact on an exception; elsewhere the parts
    written so far are removed. The exception is re-raised.
    """
    version, fhb = check_options(version, frame_header_extra_bytes, mode, max_file_size)
    data = signal["data"]
    dtype, shape = check_data(data)
    axes = ordered_axes(signal, data)
    nav_shape = shape[:-2]
    n_frames = math.prod(nav_shape)
    layout = RecordLayout(fhb, shape[-2], shape[-1], PIXEL_DTYPES[8 * dtype.itemsize], version)
    metadata = signal.get("metadata") or {}
    header = series_header(layout, axes, metadata)
    fields = frame_fields(layout, nav_shape, axes, metadata, mode)
    fields.check_times(n_frames)
    fields = fields.with_given(frame_header_fields or {}, n_frames)
    max_file_size = usable_max_file_size(max_file_size, layout.record_bytes)
    counts = part_record_counts(n_frames, layout.record_bytes, max_file_size)

    fs, path = resolve(filename, storage_options)
    sink = PartSink(fs, path, counts, header, layout.record_bytes)
    sink.begin(overwrite)
    slabs = record_slabs(data, n_frames, layout, fields, WRITE_GROUP_BYTES, WRITE_SLAB_BYTES)
    try:
        with _progress_bar(n_frames, show_progressbar) as bar:
            for records in slabs:
                sink.write(records)
                bar.update(len(records))
        sink.commit()
    except BaseException:
        sink.abort()
        raise


class _NoBar:
    """No progress bar, and none of tqdm's locks taken (a writer killed while holding
    tqdm's process-shared lock would leave every later bar of its parent waiting)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def update(self, n: int) -> None:
        return None


def _progress_bar(total: int, show: bool):
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="frame", desc="Writing TVIPS")
