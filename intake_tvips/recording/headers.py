"""Every frame header of a recording, as one numpy structured array.

Only header bytes are wanted, but they sit between the frames' pixels, so how they are
read depends on where the recording is:

* Local files: one exact read (``os.pread``) of ``header_bytes`` per frame, one open file
  per part. No pixel byte is copied; the kernel pages in what it must.
* Any other filesystem (S3, HTTP, ...): ranges fetched concurrently with
  ``fs.cat_ranges``, in batches. When the pixels between two headers are few
  (``pixel_bytes <= COALESCE_GAP_BYTES``), runs of consecutive records are read as one
  range of about ``COALESCE_RANGE_BYTES`` and the headers sliced out (a request costs far
  more than a few KiB of transfer); otherwise each header is its own small range.
"""

from __future__ import annotations

import os

import numpy as np

from intake_tvips.format.layout import RecordLayout
from intake_tvips.recording.core import Recording, open_recording
from intake_tvips.storage.blockio import read_byte_ranges

#: remote: read runs of records as one range when the pixels between headers are this few
COALESCE_GAP_BYTES = 16 * 2**10
#: remote: about this many bytes per coalesced range
COALESCE_RANGE_BYTES = 2 * 2**20
#: remote: ranges per ``cat_ranges`` call (single-header ranges)
REMOTE_BATCH_RANGES = 4096
#: remote: bytes per ``cat_ranges`` call (coalesced ranges)
REMOTE_BATCH_BYTES = 64 * 2**20
#: local: headers read per batch (one progress step)
LOCAL_BATCH = 1 << 16


def header_table_dtype(layout: RecordLayout) -> np.dtype:
    """``frame``, ``part``, the known header fields of ``layout``, then ``time``."""
    hdt = layout.frame_header_dtype()
    return np.dtype(
        [("frame", "<i8"), ("part", "<i4")]
        + [(name, hdt.fields[name][0]) for name in hdt.names]
        + [("time", "<M8[ms]")]
    )


def frame_headers(
    urlpath, storage_options: dict | None = None, *, progress: bool = False
) -> np.ndarray:
    """Every frame header of the recording ``urlpath`` (a URL, or a :class:`Recording`
    from :func:`intake_tvips.open_recording`) as a numpy structured array.

    Fields: ``frame`` (global frame index, int64), ``part`` (part file number, int32),
    every field the file's frame headers hold under the format reference's names
    (version 1: ``num, timestamp, ms``; version 2: the 60-byte fields, then as many of
    ``DENS_Power, TEM_Obj_current, Scan_x, Scan_y, DENS_Bias_*`` as fit in
    ``frameheaderbytes``), and ``time`` (``timestamp`` + ``ms``, datetime64[ms], UTC).

    Only header bytes are read locally; remote recordings are read in concurrent
    batches of byte ranges (see the module docstring). ``progress=True`` shows a tqdm
    progress bar over the batches.
    """
    if not isinstance(urlpath, Recording):
        urlpath = open_recording(urlpath, storage_options)
    return frame_headers_of(urlpath, progress=progress)


def frame_headers_of(rec: Recording, *, progress: bool = False) -> np.ndarray:
    """:func:`frame_headers` of an already opened :class:`~.core.Recording`."""
    layout, index = rec.layout, rec.index
    n, hb = rec.n_frames, layout.header_bytes
    raw = np.empty((n, hb), dtype=np.uint8)
    bar = _progress_bar(n, rec.name) if progress else None
    try:
        if rec.parts.fs_spec.is_local:
            _read_local(rec, raw, bar)
        else:
            _read_remote(rec, raw, bar)
    finally:
        if bar is not None:
            bar.close()
    hdrs = raw.view(layout.frame_header_dtype()).reshape(n)
    out = np.empty(n, dtype=header_table_dtype(layout))
    out["frame"] = np.arange(n)
    out["part"] = np.repeat(np.arange(len(index.counts), dtype=np.int32), index.counts)
    for name in layout.frame_header_dtype().names:
        out[name] = hdrs[name]
    ms = hdrs["timestamp"].astype(np.int64) * 1000 + hdrs["ms"].astype(np.int64)
    out["time"] = ms.astype("<M8[ms]")
    return out


def _progress_bar(total: int, name: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="frame", desc=f"frame headers of {os.path.basename(name)}")


def _read_local(rec: Recording, raw: np.ndarray, bar) -> None:
    """One exact read of each header; never copies pixel bytes."""
    index, paths = rec.index, rec.parts.paths
    hb, rb = rec.layout.header_bytes, rec.layout.record_bytes
    for p, count in enumerate(index.counts):
        base, g0 = index.data_offsets[p], int(index.part_starts[p])
        for lo in range(0, count, LOCAL_BATCH):
            hi = min(count, lo + LOCAL_BATCH)
            offs = range(base + lo * rb, base + hi * rb, rb)
            blobs = read_byte_ranges(
                rec.parts.fs_spec, [paths[p]] * (hi - lo), offs, [o + hb for o in offs]
            )
            raw[g0 + lo : g0 + hi] = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(-1, hb)
            if bar is not None:
                bar.update(hi - lo)


def _remote_pieces(rec: Recording) -> list[tuple[int, int, int, int]]:
    """``(part, byte start, first global frame, records)`` of each range to read."""
    index, layout = rec.index, rec.layout
    rb = layout.record_bytes
    coalesce = layout.pixel_bytes <= COALESCE_GAP_BYTES
    per = max(1, COALESCE_RANGE_BYTES // rb) if coalesce else 1
    starts = index.part_starts
    pieces = []
    for p, count in enumerate(index.counts):
        base = index.data_offsets[p]
        for k in range(0, count, per):
            pieces.append((p, base + k * rb, int(starts[p]) + k, min(per, count - k)))
    return pieces


def _remote_batches(pieces, rb: int):
    """Group pieces into ``cat_ranges`` calls, bounded in ranges and in bytes."""
    batch, size = [], 0
    for piece in pieces:
        nbytes = piece[3] * rb
        if batch and (len(batch) >= REMOTE_BATCH_RANGES or size + nbytes > REMOTE_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(piece)
        size += nbytes
    if batch:
        yield batch


def _read_remote(rec: Recording, raw: np.ndarray, bar) -> None:
    """Concurrent ranges per batch; runs of small records coalesced into one range each."""
    hb, rb = rec.layout.header_bytes, rec.layout.record_bytes
    paths = rec.parts.paths
    for batch in _remote_batches(_remote_pieces(rec), rb):
        blobs = read_byte_ranges(
            rec.parts.fs_spec,
            [paths[p] for p, *_ in batch],
            [s for _, s, _, _ in batch],
            [s + (k - 1) * rb + hb for _, s, _, k in batch],
        )
        for (_, _, f0, k), blob in zip(batch, blobs):
            arr = np.frombuffer(blob, dtype=np.uint8)
            raw[f0 : f0 + k] = np.lib.stride_tricks.as_strided(
                arr, shape=(k, hb), strides=(rb, 1), writeable=False
            )
        if bar is not None:
            bar.update(sum(k for *_, k in batch))
