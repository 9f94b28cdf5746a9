"""The frame index: which bytes of which part hold global frame ``f``.

Pure arithmetic on part sizes and the record layout; no I/O. The number of frames is
stored nowhere: each part holds ``(size - header) // record_bytes`` whole records (the
series header counts only in part 0), and records never straddle parts.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from intake_tvips.errors import TVIPSFormatError
from intake_tvips.format.layout import SERIES_HEADER_SIZE, ByteRange, RecordLayout


class TruncatedRecordingWarning(UserWarning):
    """The last part ends inside a record: the acquisition stopped mid-frame."""


@dataclass(frozen=True)
class FrameIndex:
    """Frame counts and data offsets of every part of a recording."""

    layout: RecordLayout
    counts: tuple[int, ...]  # frames in each part
    data_offsets: tuple[int, ...]  # byte offset of the first record of each part

    @property
    def n_frames(self) -> int:
        return int(sum(self.counts))

    @property
    def part_starts(self) -> np.ndarray:
        """Global index of the first frame of each part (length ``n_parts + 1``)."""
        return np.concatenate([[0], np.cumsum(self.counts, dtype=np.int64)])

    def locate(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(part, byte_offset_of_record)`` of each global frame index."""
        frames = np.asarray(frames, dtype=np.int64)
        starts = self.part_starts
        part = np.searchsorted(starts, frames, side="right") - 1
        offsets = np.asarray(self.data_offsets, dtype=np.int64)[part] + (
            frames - starts[part]
        ) * np.int64(self.layout.record_bytes)
        return part, offsets

    def ranges(self, frames: np.ndarray, max_gap: int = 0) -> list[ByteRange]:
        """The byte ranges that hold ``frames`` (sorted, unique, in ``[0, n_frames)``).

        Consecutive frames make one range; frames up to ``max_gap`` records apart are
        merged into the same range (the records between are read and dropped). A range
        never crosses a part boundary, so each is one contiguous read of one part.
        """
        frames = np.asarray(frames, dtype=np.int64)
        if frames.size == 0:
            return []
        starts = self.part_starts
        part = np.searchsorted(starts, frames, side="right") - 1
        breaks = (np.diff(frames) > max_gap + 1) | (np.diff(part) != 0)
        cut = np.flatnonzero(breaks) + 1
        lo = np.concatenate([[0], cut])
        hi = np.concatenate([cut, [frames.size]]) - 1
        rb = self.layout.record_bytes
        out = []
        for a, b in zip(lo.tolist(), hi.tolist()):
            p = int(part[a])
            f0, f1 = int(frames[a]), int(frames[b])
            out.append(
                ByteRange(p, self.data_offsets[p] + (f0 - int(starts[p])) * rb, f1 - f0 + 1, f0)
            )
        return out


def build_frame_index(
    layout: RecordLayout, sizes: tuple[int, ...] | list[int], names: list[str] | None = None
) -> FrameIndex:
    """Count the records of each part from its size.

    A remainder in the last part (an acquisition stopped mid-frame) is dropped with a
    :class:`TruncatedRecordingWarning`; a remainder in any other part is an error.
    """
    names = names or [f"part {i:03d}" for i in range(len(sizes))]
    rb = layout.record_bytes
    counts, offsets = [], []
    for i, size in enumerate(sizes):
        head = SERIES_HEADER_SIZE if i == 0 else 0
        body = size - head
        if body < 0:
            raise TVIPSFormatError(names[i], f"is {size} bytes, shorter than its header")
        n, rest = divmod(body, rb)
        if rest:
            if i < len(sizes) - 1:
                raise TVIPSFormatError(
                    names[i],
                    f"holds {body} bytes of records, not a whole number of {rb}-byte "
                    f"records ({rest} bytes left over), but it is not the last part",
                )
            warnings.warn(
                f"{names[i]}: the recording ends inside a frame; {n} whole frames are "
                f"read from this part and the last {rest} bytes are dropped",
                TruncatedRecordingWarning,
                stacklevel=3,
            )
        counts.append(n)
        offsets.append(head)
    return FrameIndex(layout, tuple(counts), tuple(offsets))
