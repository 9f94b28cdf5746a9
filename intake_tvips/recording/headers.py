"""Frame headers of a recording, as numpy structured arrays: all of them, or chosen ones.

Only header bytes are wanted, but they sit between the frames' pixels, so how they are
read depends on where the recording is:

* Local files: one exact read (``os.pread``) of ``header_bytes`` per frame, one open file
  per part. No pixel byte is copied; the kernel pages in what it must.
* Any other filesystem (S3, HTTP, ...): ranges fetched concurrently with
  ``fs.cat_ranges`` (at most ``REMOTE_IN_FLIGHT`` at once), chosen by a cost model. A
  request costs ``latency / in_flight`` (requests overlap), a byte ``1 / bandwidth``.
  Reading k consecutive headers as k small ranges costs
  ``k * (latency / in_flight + header_bytes / bandwidth)``; as one range over their
  records, ``latency / in_flight + ((k - 1) * record_bytes + header_bytes) / bandwidth``.
  Per frame the difference is ``latency / in_flight - record_bytes / bandwidth``: one
  choice per recording, whole runs of records (coalesced ranges of about
  ``COALESCE_RANGE_BYTES``) when records are small, else one range per header. With the
  defaults (an object store: 15 ms, 100 MB/s, 32 requests in flight) the break-even
  record is 47 kB: 32 KiB frames are read as runs, 512 KiB frames header by header.

:class:`HeaderReader` reads chosen headers (for sampled scan detection) by the same
rule, run by run, and remembers what it read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from intake_tvips.format.layout import RecordLayout
from intake_tvips.recording.core import Recording, open_recording
from intake_tvips.storage.byteranges import read_byte_ranges

#: remote cost model: seconds per request (an object store's first byte: 10-20 ms)
REMOTE_LATENCY_S = 0.015
#: remote cost model: bytes per second of one reader
REMOTE_BANDWIDTH_BPS = 100e6
#: remote: most header ranges in flight at once (fsspec's ``batch_size``; s3fs is also
#: bounded by botocore's ``max_pool_connections``)
REMOTE_IN_FLIGHT = 32
#: remote: about this many bytes per coalesced range (S3 recommends 8-16 MB ranges)
COALESCE_RANGE_BYTES = 16 * 2**20
#: remote: ranges per ``cat_ranges`` call (single-header ranges)
REMOTE_BATCH_RANGES = 4096
#: remote: bytes per ``cat_ranges`` call (coalesced ranges)
REMOTE_BATCH_BYTES = 64 * 2**20
#: local: headers read per batch (one progress step)
LOCAL_BATCH = 1 << 16


@dataclass(frozen=True)
class ReadCost:
    """The remote cost model: ``latency`` s per request, ``in_flight`` requests
    overlapping, ``bandwidth`` bytes/s. ``None`` fields take the module constants."""

    latency: float | None = None
    bandwidth: float | None = None
    in_flight: int | None = None

    def resolved(self) -> ReadCost:
        return ReadCost(
            REMOTE_LATENCY_S if self.latency is None else float(self.latency),
            REMOTE_BANDWIDTH_BPS if self.bandwidth is None else float(self.bandwidth),
            REMOTE_IN_FLIGHT if self.in_flight is None else max(1, int(self.in_flight)),
        )

    def seconds(self, requests: int, nbytes: int) -> float:
        """What ``requests`` ranges holding ``nbytes`` in all cost, in seconds."""
        c = self.resolved()
        return requests * c.latency / c.in_flight + nbytes / c.bandwidth

    def coalesce(self, layout: RecordLayout) -> bool:
        """Whole runs of records (True) or one range per header (False)."""
        rb, hb = layout.record_bytes, layout.header_bytes
        per = max(1, COALESCE_RANGE_BYTES // rb)  # records per coalesced range
        whole = self.seconds(1, (per - 1) * rb + hb)
        apart = self.seconds(per, per * hb)
        return whole < apart


def header_table_dtype(layout: RecordLayout) -> np.dtype:
    """``frame``, ``part``, the known header fields of ``layout``, then ``time``."""
    hdt = layout.frame_header_dtype()
    return np.dtype(
        [("frame", "<i8"), ("part", "<i4")]
        + [(name, hdt.fields[name][0]) for name in hdt.names]
        + [("time", "<M8[ms]")]
    )


def frame_headers(
    urlpath,
    storage_options: dict | None = None,
    *,
    progress: bool = False,
    cost: ReadCost | None = None,
) -> np.ndarray:
    """Every frame header of the recording ``urlpath`` (a URL, or a :class:`Recording`
    from :func:`intake_tvips.open_recording`) as a numpy structured array.

    Fields: ``frame`` (global frame index, int64), ``part`` (part file number, int32),
    every field the file's frame headers hold under the format reference's names
    (version 1: ``num, timestamp, ms``; version 2: the 60-byte fields, then as many of
    ``DENS_Power, TEM_Obj_current, Scan_x, Scan_y, DENS_Bias_*`` as fit in
    ``frameheaderbytes``), and ``time`` (``timestamp`` + ``ms``, datetime64[ms], UTC).

    Only header bytes are read locally; remote recordings are read in concurrent
    batches of byte ranges, whole runs of records or one range per header, whichever
    ``cost`` (a :class:`ReadCost`; default: the module constants, an object store)
    says is cheaper (see the module docstring). ``progress=True`` shows a tqdm
    progress bar over the batches.
    """
    if not isinstance(urlpath, Recording):
        urlpath = open_recording(urlpath, storage_options)
    return frame_headers_of(urlpath, progress=progress, cost=cost)


def frame_headers_of(
    rec: Recording, *, progress: bool = False, cost: ReadCost | None = None
) -> np.ndarray:
    """:func:`frame_headers` of an already opened :class:`~.core.Recording`."""
    n, hb = rec.n_frames, rec.layout.header_bytes
    raw = np.empty((n, hb), dtype=np.uint8)
    bar = _progress_bar(n, rec.name) if progress else None
    try:
        if rec.parts.fs_spec.is_local:
            _read_local(rec, raw, bar)
        else:
            _read_remote(rec, raw, bar, cost or ReadCost())
    finally:
        if bar is not None:
            bar.close()
    return header_table(rec, np.arange(n), raw)


def header_table(rec: Recording, frames: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """The table rows of ``frames`` from their raw header bytes ``(len(frames), hb)``."""
    layout, index = rec.layout, rec.index
    hdrs = raw.view(layout.frame_header_dtype()).reshape(len(frames))
    out = np.empty(len(frames), dtype=header_table_dtype(layout))
    out["frame"] = frames
    out["part"] = np.searchsorted(index.part_starts, frames, side="right") - 1
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


def _remote_pieces(rec: Recording, coalesce: bool) -> list[tuple[int, int, int, int]]:
    """``(part, byte start, first global frame, records)`` of each range to read."""
    index, layout = rec.index, rec.layout
    rb = layout.record_bytes
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


def _read_remote(rec: Recording, raw: np.ndarray, bar, cost: ReadCost) -> None:
    """Concurrent ranges per batch: runs of records or single headers, by ``cost``."""
    hb, rb = rec.layout.header_bytes, rec.layout.record_bytes
    paths = rec.parts.paths
    in_flight = cost.resolved().in_flight
    for batch in _remote_batches(_remote_pieces(rec, cost.coalesce(rec.layout)), rb):
        blobs = read_byte_ranges(
            rec.parts.fs_spec,
            [paths[p] for p, *_ in batch],
            [s for _, s, _, _ in batch],
            [s + (k - 1) * rb + hb for _, s, _, k in batch],
            batch_size=in_flight,
        )
        for (_, _, f0, k), blob in zip(batch, blobs):
            raw[f0 : f0 + k] = _strided_headers(blob, k, hb, rb)
        if bar is not None:
            bar.update(sum(k for *_, k in batch))


def _strided_headers(blob: bytes, k: int, hb: int, rb: int) -> np.ndarray:
    arr = np.frombuffer(blob, dtype=np.uint8)
    return np.lib.stride_tricks.as_strided(arr, shape=(k, hb), strides=(rb, 1), writeable=False)


class HeaderReader:
    """Reads chosen frame headers of an opened recording and remembers them.

    :meth:`read` fetches the headers of some frames (those not read yet), all in one
    concurrent call: each run of consecutive frames as one range over its records or
    one range per header, whichever :class:`ReadCost` says is cheaper (local files:
    always exact header reads). ``requests`` and ``bytes_read`` count what was asked.
    """

    def __init__(self, rec: Recording, cost: ReadCost | None = None):
        self.rec = rec
        self.cost = (cost or ReadCost()).resolved()
        self.frames = np.empty(0, dtype=np.int64)  # sorted, unique
        self._raw = np.empty((0, rec.layout.header_bytes), dtype=np.uint8)
        self._table: np.ndarray | None = None
        self.requests = 0
        self.bytes_read = 0

    def read(self, frames) -> None:
        """Make sure the headers of ``frames`` (any order, repeats, out of range dropped)
        have been read."""
        f = np.unique(np.asarray(frames, dtype=np.int64).reshape(-1))
        f = f[(f >= 0) & (f < self.rec.n_frames)]
        f = f[~np.isin(f, self.frames, assume_unique=True)]
        if f.size == 0:
            return
        got_frames, got_raw = self._fetch(f)
        frames = np.concatenate([self.frames, got_frames])
        order = np.argsort(frames, kind="stable")
        self.frames = frames[order]
        self._raw = np.concatenate([self._raw, got_raw])[order]
        self._table = None

    def table(self) -> np.ndarray:
        """The header table (as :func:`frame_headers`) of every frame read so far."""
        if self._table is None:
            self._table = header_table(self.rec, self.frames, self._raw)
        return self._table

    def _fetch(self, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rec = self.rec
        hb, rb = rec.layout.header_bytes, rec.layout.record_bytes
        local = rec.parts.fs_spec.is_local
        paths, starts, ends, runs = [], [], [], []
        for r in rec.index.ranges(f):
            k = r.n_records
            whole = not local and (
                k > 1 and self.cost.seconds(1, (k - 1) * rb + hb) < self.cost.seconds(k, k * hb)
            )
            per = max(1, COALESCE_RANGE_BYTES // rb) if whole else 1
            for j0, kk in [(j, min(per, k - j)) for j in range(0, k, per)]:
                s = r.start + j0 * rb
                paths.append(rec.parts.paths[r.part])
                starts.append(s)
                ends.append(s + (kk - 1) * rb + hb)
                runs.append((r.first_frame + j0, kk))
        blobs = read_byte_ranges(
            rec.parts.fs_spec, paths, starts, ends, batch_size=self.cost.in_flight
        )
        self.requests += len(blobs)
        self.bytes_read += sum(e - s for s, e in zip(starts, ends))
        raw = np.concatenate([_strided_headers(b, k, hb, rb) for b, (_, k) in zip(blobs, runs)])
        frames = np.concatenate([np.arange(f0, f0 + k) for f0, k in runs])
        return frames, raw
