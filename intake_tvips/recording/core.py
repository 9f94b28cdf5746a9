"""Opening a recording: parts, series header, frame index, and the frame headers needed.

Only small byte ranges are read here: the series header with the first frame header
(one request), the second frame header (for the time axis), and, on request, every
frame header in batched concurrent ranges (for ``scan_shape="auto"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from intake_tvips.errors import TVIPSFormatError
from intake_tvips.format.layout import (
    SERIES_HEADER_SIZE,
    RecordLayout,
    parse_frame_headers,
    parse_series_header,
    record_layout,
)
from intake_tvips.maths.frame_index import FrameIndex, build_frame_index
from intake_tvips.storage.byteranges import read_byte_ranges
from intake_tvips.storage.parts import PartSet, discover_parts

#: bytes read speculatively with the series header, to get the first frame header too
FIRST_READ_BYTES = SERIES_HEADER_SIZE + 1024


@dataclass(frozen=True, eq=False)
class Recording:
    """An opened TVIPS recording: where its frames are and what its headers say.

    ``name`` is the first part's URL (a local path made absolute), ``n_frames`` the frame
    count over all parts, ``header`` the series header (a dict), ``layout`` the record
    layout (``frame_shape``, ``dtype``, ``header_bytes``), ``parts`` the part files
    (``url(i)``, ``sizes``) and ``index`` where each frame lies (``counts`` per part).
    """

    parts: PartSet
    header: dict
    index: FrameIndex
    #: the first frame header, and the second where it came with the first read
    first_frame_headers: np.ndarray

    @property
    def layout(self) -> RecordLayout:
        """The record layout: ``frame_shape``, ``dtype``, ``header_bytes``, ``version``."""
        return self.index.layout

    @property
    def n_frames(self) -> int:
        """Whole frames over all parts."""
        return self.index.n_frames

    @property
    def name(self) -> str:
        """The first part's URL (a local path made absolute)."""
        return self.parts.url(0)


def open_recording(urlpath, storage_options: dict | None = None) -> Recording:
    """Open the recording ``urlpath`` (its first part, any fsspec URL): find its parts,
    read its series header and first frame header (one small read; no pixels).

    Pass the result to :func:`intake_tvips.frame_headers` or
    :func:`intake_tvips.recording_info` to avoid opening it again.
    """
    parts = discover_parts(urlpath, storage_options)
    name = parts.url(0)
    size0 = parts.sizes[0]
    if size0 < SERIES_HEADER_SIZE:
        raise TVIPSFormatError(
            name, f"file is {size0} bytes, shorter than the {SERIES_HEADER_SIZE}-byte series header"
        )
    (head,) = read_byte_ranges(parts.fs_spec, [parts.first], [0], [min(size0, FIRST_READ_BYTES)])
    header = parse_series_header(head, name)
    layout = record_layout(header)
    index = build_frame_index(layout, parts.sizes, [parts.url(i) for i in range(len(parts.paths))])
    # the first frame header (units, metadata); the second only if already read: just a
    # stack's time axis needs it (time_axis_headers)
    n = min(2, index.n_frames)
    if n == 2 and not _prefetched(*index.locate(np.array([1])), layout.header_bytes, head)[0]:
        n = 1
    first = _frame_headers_at(parts, index, np.arange(n), prefetched=head)
    return Recording(parts, header, index, first)


def time_axis_headers(rec: Recording) -> np.ndarray:
    """The first two frame headers (one small read if the second is not at hand yet)."""
    n = min(2, rec.n_frames)
    if len(rec.first_frame_headers) >= n:
        return rec.first_frame_headers[:n]
    have = rec.first_frame_headers
    rest = _frame_headers_at(rec.parts, rec.index, np.arange(len(have), n))
    return np.concatenate([have, rest])


def _prefetched(part: np.ndarray, offs: np.ndarray, hb: int, prefetched: bytes) -> np.ndarray:
    """Which headers (at ``offs`` in ``part``) lie within the bytes read from part 0."""
    return (part == 0) & (offs + hb <= len(prefetched))


def _frame_headers_at(
    parts: PartSet, index: FrameIndex, frames: np.ndarray, prefetched: bytes = b""
) -> np.ndarray:
    """The frame headers of ``frames`` (a few), reusing bytes already read from part 0."""
    hb = index.layout.header_bytes
    part, offs = index.locate(frames)
    have = _prefetched(part, offs, hb, prefetched)
    todo = np.flatnonzero(~have)
    got = iter(
        read_byte_ranges(
            parts.fs_spec,
            [parts.paths[part[i]] for i in todo],
            [int(offs[i]) for i in todo],
            [int(offs[i]) + hb for i in todo],
        )
        if todo.size
        else []
    )
    chunks = [prefetched[o : o + hb] if h else next(got) for h, o in zip(have, offs.tolist())]
    return parse_frame_headers(b"".join(chunks), index.layout)
