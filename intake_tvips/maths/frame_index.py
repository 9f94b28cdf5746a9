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


#: a block's frames are planned through a lookup table over their span when the span
#: is at most this many times the number of frames (else by sorting them)
DENSE_SPAN_FACTOR = 4


@dataclass(frozen=True, eq=False)
class ReadPlan:
    """How to fill a block of output slots from the records of a recording.

    ``ranges[i]`` is read record by record into slots ``dests[i]`` (``-1``: the record
    is read and dropped); then ``frames[copy_dst] = frames[copy_src]`` (a frame shown at
    several slots is read once) and ``frames[empty] = 0`` (slots with no frame).
    """

    ranges: tuple[ByteRange, ...]
    dests: tuple[np.ndarray, ...]
    copy_dst: np.ndarray
    copy_src: np.ndarray
    empty: np.ndarray


def plan_reads(
    index: FrameIndex, slot_frames: np.ndarray, max_gap: int = 0, distinct: bool = False
) -> ReadPlan:
    """The ranges and output slots that fill ``slot_frames`` (global frames, ``-1``: none).

    The ranges are those of :meth:`FrameIndex.ranges` for the distinct frames shown;
    each distinct frame is read into one slot showing it, the others copy that slot.
    Numpy only: a lookup table over the frames' span when it is dense (whole scan rows:
    no sort at all), else one sort; Python work is per range, never per frame.
    ``distinct``: the caller knows no frame repeats (an explicit scan), so a block whose
    frames fill their span (whole scan rows) is planned in a few passes.
    """
    s = np.asarray(slot_frames, dtype=np.int64).reshape(-1)
    valid = s >= 0
    if valid.all():
        slots, sv, empty = np.arange(s.size, dtype=np.int64), s, np.zeros(0, np.int64)
    else:
        slots = np.flatnonzero(valid)
        sv, empty = s[slots], np.flatnonzero(~valid)
    none = np.zeros(0, dtype=np.int64)
    if sv.size == 0:
        return ReadPlan((), (), none, none, empty)
    lo, hi = int(sv.min()), int(sv.max())
    if distinct and hi - lo + 1 == sv.size:  # a permutation of frames lo .. hi
        if sv.size < 2 or bool((sv[1:] > sv[:-1]).all()):
            table = slots  # in order: the k-th frame goes to the k-th valid slot
        else:
            table = np.empty(sv.size, dtype=np.int64)
            table[sv - lo] = slots
        ranges, dests = _span_runs(index, lo, table)
        return ReadPlan(ranges, dests, none, none, empty)
    if hi - lo + 1 <= DENSE_SPAN_FACTOR * sv.size:
        table = np.full(hi - lo + 1, -1, dtype=np.int64)
        table[sv - lo] = slots  # a repeated frame: one of its slots, the others copy it
        src = table[sv - lo]
        needed = np.flatnonzero(table >= 0)
        dests_of = table[needed]
    else:
        order = np.argsort(sv, kind="stable")
        u, slot_sorted = sv[order] - lo, slots[order]
        first = np.ones(u.size, dtype=bool)
        first[1:] = u[1:] != u[:-1]
        needed, dests_of = u[first], slot_sorted[first]
        src = np.empty_like(slots)
        src[order] = dests_of[np.cumsum(first) - 1]
        table = None
    dup = src != slots
    ranges, dests = _runs(index, needed, dests_of, table, lo, max_gap)
    return ReadPlan(ranges, dests, slots[dup], src[dup], empty)


def _span_runs(index: FrameIndex, lo: int, table: np.ndarray):
    """Ranges over every frame ``lo .. lo + table.size - 1``, cut where parts start."""
    starts = index.part_starts
    hi = lo + table.size
    cuts = [int(b) for b in starts if lo < b < hi]
    rb = index.layout.record_bytes
    ranges, dests = [], []
    for a, b in zip([lo, *cuts], [*cuts, hi]):
        if a == b:
            continue
        p = int(np.searchsorted(starts, a, side="right")) - 1
        start = index.data_offsets[p] + (a - int(starts[p])) * rb
        ranges.append(ByteRange(p, start, b - a, a))
        dests.append(table[a - lo : b - lo])
    return tuple(ranges), tuple(dests)


def _runs(index: FrameIndex, needed, dests_of, table, lo: int, max_gap: int):
    """Ranges (with their slots) over sorted distinct frames ``lo + needed``."""
    cuts = [np.flatnonzero(np.diff(needed) > max_gap + 1) + 1]
    starts = index.part_starts
    inner = starts[(starts > lo + needed[0]) & (starts <= lo + needed[-1])]
    if inner.size:  # a range never crosses into the next part
        cuts.append(np.searchsorted(needed, inner - lo))
    bounds = np.concatenate([[0], *cuts, [needed.size]])
    bounds = np.unique(bounds) if len(cuts) > 1 else bounds
    a, b = bounds[:-1], bounds[1:] - 1
    f0, f1 = needed[a] + lo, needed[b] + lo
    part = np.searchsorted(starts, f0, side="right") - 1
    rb = index.layout.record_bytes
    offs = np.asarray(index.data_offsets, dtype=np.int64)[part] + (f0 - starts[part]) * rb
    ranges, dests = [], []
    for i, (p, o, n, f) in enumerate(
        zip(part.tolist(), offs.tolist(), (f1 - f0 + 1).tolist(), f0.tolist())
    ):
        ranges.append(ByteRange(p, o, n, f))
        if table is not None:
            dests.append(table[f - lo : f - lo + n])
        else:
            d = np.full(n, -1, dtype=np.int64)
            d[needed[a[i] : b[i] + 1] + lo - f] = dests_of[a[i] : b[i] + 1]
            dests.append(d)
    return tuple(ranges), tuple(dests)
