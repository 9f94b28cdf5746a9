"""What a recording holds, from its headers only: parts, frames, timing, detected scan."""

from __future__ import annotations

import numpy as np

from intake_tvips.reading.metadata import json_safe
from intake_tvips.recording.core import Recording, open_recording
from intake_tvips.recording.detect import detect_scan, headers_and_scan
from intake_tvips.recording.scan_pixels import detect_with_pixels

#: series header fields not worth showing (``dummy`` is padding)
_HIDDEN_HEADER_FIELDS = {"dummy"}


def timing(
    times: np.ndarray, frames: np.ndarray | None = None, n_frames: int | None = None
) -> dict:
    """First/last frame time, duration and frame rate from ``time`` (datetime64[ms]).

    ``frames``: the frame of each time when only some were read (the first and the last
    among them; ``n_frames`` of the recording): the median interval is then taken over
    the consecutive frames read.
    """
    n = int(times.size if n_frames is None else n_frames)
    out = {
        "first_frame_time": None,
        "last_frame_time": None,
        "duration_s": None,
        "frame_rate_hz": None,
        "median_frame_interval_s": None,
    }
    if n == 0:
        return out
    ms = times.astype("datetime64[ms]").astype(np.int64)
    out["first_frame_time"] = str(times[0].astype("datetime64[ms]")) + "Z"
    out["last_frame_time"] = str(times[-1].astype("datetime64[ms]")) + "Z"
    duration = (int(ms[-1]) - int(ms[0])) / 1000.0
    out["duration_s"] = duration
    if n > 1:
        steps = np.diff(ms) if frames is None else np.diff(ms)[np.diff(frames) == 1]
        if steps.size:
            out["median_frame_interval_s"] = float(np.median(steps)) / 1000.0
        if duration > 0:
            out["frame_rate_hz"] = (n - 1) / duration
    return out


def recording_info(
    urlpath,
    storage_options: dict | None = None,
    *,
    progress: bool = False,
    headers=None,
    exhaustive: bool = False,
    pixels: bool = False,
) -> dict:
    """What the recording ``urlpath`` holds, from its headers (and with ``pixels=True`` a
    bounded sample of pixels for the hysteresis, or the whole scan where the headers
    carry no positions).

    Parameters
    ----------
    urlpath : str, os.PathLike or Recording
        The first part (any fsspec URL), or a recording from
        :func:`intake_tvips.open_recording`.
    storage_options : dict, optional
        fsspec storage options (with a URL).
    progress : bool
        Show a progress bar while the frame headers are read.
    headers : numpy structured array, optional
        The frame header table (:func:`intake_tvips.frame_headers`), if already read.
    exhaustive : bool
        Read every frame header. Default: the scan is detected from a sample of a few
        hundred headers when the sample decides it (timing then comes from the headers
        read: first and last frame exact, the median interval over consecutive ones).
    pixels : bool
        Estimate the hysteresis of a winding scan from a bounded sample of its pixels
        (:func:`intake_tvips.estimate_hysteresis`); otherwise 0 is assumed (the headers
        never hold it). ``scan`` then says ``hysteresis_source`` (``"assumed"``,
        ``"pixels"`` or ``"undecided"``) and ``hysteresis_confidence``.

    Returns
    -------
    dict
        JSON-safe: ``url``, ``parts`` (url, bytes, frames each), ``total_bytes``,
        ``frames``, ``frame_shape``, ``dtype``, ``frame_header_bytes``,
        ``first_frame_time``, ``last_frame_time``, ``duration_s``, ``frame_rate_hz``,
        ``median_frame_interval_s``, ``header`` (the series header) and ``scan`` (what
        :func:`intake_tvips.detect_scan` found, with ``reader_kwargs``, ``sampled``,
        ``pixels_read`` (whether the pixels were looked at) and ``guess``: where the
        pixels decide no scan, the one they lean to, or ``None``),
        ``frame_headers_read``.
    """
    rec = urlpath if isinstance(urlpath, Recording) else open_recording(urlpath, storage_options)
    if headers is None:
        headers, found = headers_and_scan(rec, exhaustive=exhaustive, progress=progress)
    else:
        found = detect_scan(headers=headers)
    if pixels:
        found = detect_with_pixels(found, rec)
    layout = rec.layout
    parts = [
        {"url": rec.parts.url(i), "bytes": int(size), "frames": int(count)}
        for i, (size, count) in enumerate(zip(rec.parts.sizes, rec.index.counts))
    ]
    return json_safe(
        {
            "url": rec.name,
            "parts": parts,
            "total_bytes": sum(p["bytes"] for p in parts),
            "frames": rec.n_frames,
            "frame_shape": list(layout.frame_shape),
            "dtype": np.dtype(layout.dtype).name,
            "frame_header_bytes": layout.header_bytes,
            **timing(headers["time"], headers["frame"], rec.n_frames),
            "frame_headers_read": int(headers.size),
            "header": {k: v for k, v in rec.header.items() if k not in _HIDDEN_HEADER_FIELDS},
            "scan": {
                "method": found.method,
                "scan_shape": found.scan_shape,
                "scan_start_frame": found.scan_start_frame,
                "winding_scan_axis": found.winding_scan_axis,
                "winding_assumed": found.winding_assumed,
                "rows_assumed": found.rows_assumed,
                "hysteresis": found.hysteresis,
                "hysteresis_source": found.hysteresis_source,
                "hysteresis_confidence": found.hysteresis_confidence,
                "confidence": found.confidence,
                "use_auto": found.use_auto,
                "sampled": found.sampled,
                "shifted": found.shifted,
                "positions_trusted": found.positions_trusted,
                "reason": found.reason,
                "reader_kwargs": found.reader_kwargs(),
                "pixels_read": bool(pixels),
                "guess": found.guess,
            },
        }
    )
