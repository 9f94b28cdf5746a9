"""Closed-form blocks against the array-based scan map, value for value.

The reference is the previous implementation, kept here: the frames of a block are
``ScanMap.frames`` of its flat positions (``block_positions``), the ranges
``FrameIndex.ranges`` of the distinct frames, each frame read into the first slot that
shows it, and ``rechunking=False`` rows from every row's frames. The index grid itself is
checked against RosettaSciIO's rule written naively (``np.roll`` on the full grid).
"""

from __future__ import annotations

import itertools
import math
import os
import pickle
import sys

import dask
import numpy as np
import pytest
from tvips_factory import make_frames, reference_grid, reference_scan, tvips_bytes, write_parts

from intake_tvips import file_reader
from intake_tvips.format.layout import RecordLayout
from intake_tvips.graph import blockread
from intake_tvips.graph.build import BlockFrames, iter_blocks
from intake_tvips.graph.chunking import per_part_chunks, plan_chunks
from intake_tvips.maths.frame_index import FrameIndex, plan_reads
from intake_tvips.maths.scan import (
    IndexMap,
    ScanMap,
    StackMap,
    as_scan_map,
    block_positions,
    frame_grid,
    make_scan_map,
)
from intake_tvips.storage import localio

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

LAYOUT = RecordLayout(60, 2, 3, "<u1")


# ------------------------------------------------------------------ the references


def naive_grid(shape, start, winding, hysteresis) -> np.ndarray:
    """RosettaSciIO's rule on the full index grid; -1 before the recording."""
    idx = reference_grid(shape, start, winding, hysteresis)
    return np.where(idx >= 0, idx, -1)


def old_block_frames(fmap, start, shape) -> np.ndarray:
    slices = tuple(slice(a, a + n) for a, n in zip(start, shape))
    return fmap.frames(block_positions(fmap.shape, slices))


def old_plan(index: FrameIndex, slot_frames: np.ndarray, max_gap: int):
    """The previous ``block_task`` + ``read_frames``: unique frames, first slots, a dict."""
    needed = np.unique(slot_frames[slot_frames >= 0])
    ranges = index.ranges(needed, max_gap=max_gap)
    uniq, first = np.unique(slot_frames, return_index=True)
    dest_of = dict(zip(uniq.tolist(), first.tolist()))
    dest_of.pop(-1, None)
    dests = [
        np.array([dest_of.get(f, -1) for f in range(r.first_frame, r.first_frame + r.n_records)])
        for r in ranges
    ]
    return ranges, dests


def old_row_first_frames(fmap) -> np.ndarray:
    nx = fmap.shape[-1]
    return fmap.frames(np.arange(math.prod(fmap.shape))).reshape(-1, nx).min(axis=1)


def old_per_part_chunks(nav_shape, part_starts, row_first_frames):
    part_of_row = np.searchsorted(part_starts, row_first_frames, side="right") - 1
    new_part = np.flatnonzero(np.diff(part_of_row) != 0) + 1
    ny = nav_shape[-2]
    bounds = sorted({0, ny} | {int(r) % ny for r in new_part})
    y_chunks = tuple(b - a for a, b in zip(bounds[:-1], bounds[1:]))
    return tuple((1,) * n for n in nav_shape[:-2]) + (y_chunks, (nav_shape[-1],))


def apply_plan(plan, n_slots: int) -> np.ndarray:
    """What a block shows after reading ``plan``, with record ``f`` holding the value ``f``."""
    out = np.full(n_slots, -99, dtype=np.int64)
    for r, d in zip(plan.ranges, plan.dests):
        recs = np.arange(r.first_frame, r.first_frame + r.n_records)
        keep = d >= 0
        out[d[keep]] = recs[keep]
    out[plan.copy_dst] = out[plan.copy_src]
    out[plan.empty] = -1
    return out


def index_of(counts) -> FrameIndex:
    return FrameIndex(LAYOUT, tuple(counts), tuple([256] + [0] * (len(counts) - 1)))


def check_block(fmap, index, start, shape, max_gap, distinct=True):
    new = fmap.block(start, shape)
    old = old_block_frames(fmap, start, shape)
    np.testing.assert_array_equal(new, old)
    plan = plan_reads(index, new, max_gap, distinct)
    ranges, dests = old_plan(index, old, max_gap)
    assert list(plan.ranges) == list(ranges)
    if distinct:  # each frame at one slot: the very same destinations
        for a, b in zip(plan.dests, dests):
            np.testing.assert_array_equal(a, b)
        assert plan.copy_dst.size == 0
    np.testing.assert_array_equal(apply_plan(plan, new.size), old)


# ------------------------------------------------------------------ exhaustive, small


SHAPES = [(5,), (1, 7), (4, 5), (3, 1), (1, 1), (5, 2), (2, 3, 4), (2, 2, 3, 2)]
WINDINGS = [None, "x", "y"]


def _cases(shape):
    """Every winding, hysteresis (negative, past the row length) and start for ``shape``."""
    for winding in WINDINGS if len(shape) > 1 else [None]:
        row = 1 if winding is None else (shape[-1] if winding == "x" else shape[-2])
        for h in sorted({0, -1, row + 1, -2 * row - 3}):
            for start in (-7, 0, 3):
                yield make_scan_map(shape, start, winding, h)


@pytest.mark.parametrize("shape", SHAPES)
def test_every_block_of_every_chunking_matches_the_arrays(shape):
    chunkings = [
        tuple((1,) * s for s in shape),  # single positions
        tuple((s,) for s in shape),  # one block
        tuple(((s + 1) // 2, s // 2) if s > 1 else (1,) for s in shape),  # halves
    ]
    for fmap in _cases(shape):
        grid = naive_grid(shape, fmap.start, fmap.winding, fmap.hysteresis)
        np.testing.assert_array_equal(fmap.block((0,) * len(shape), shape), grid.reshape(-1))
        n = max(fmap.start + math.prod(shape), 1)
        index = index_of([n // 3, 0, n - n // 3 - 1, 1])
        for chunks, gap in itertools.product(chunkings, (0, 2)):
            for _, slices in iter_blocks(chunks):
                start_b = tuple(s.start for s in slices)
                size_b = tuple(s.stop - s.start for s in slices)
                check_block(fmap, index, start_b, size_b, gap)


@pytest.mark.parametrize("shape", [s for s in SHAPES if len(s) > 1])
def test_row_first_frames_and_per_part_chunks_match(shape):
    for fmap in _cases(shape):
        np.testing.assert_array_equal(fmap.row_first_frames(), old_row_first_frames(fmap))
        n = fmap.start + math.prod(shape)
        for counts in ([n], [1, n - 1], [n // 3, 0, n - n // 3 - 2, 2]):
            if n < 2:
                continue
            starts = index_of(counts).part_starts
            assert per_part_chunks(shape, starts, fmap) == old_per_part_chunks(
                shape, starts, old_row_first_frames(fmap)
            )


def test_one_axis_scan_chunks_per_part():
    fmap = make_scan_map((10,), 3, None, 0)
    starts = np.array([0, 5, 5, 9, 20])
    # frames 3..12: parts start at frames 5 and 9, i.e. positions 2 and 6
    assert per_part_chunks((10,), starts, fmap) == ((2, 4, 4),)
    before = make_scan_map((10,), -3, None, 0)
    assert per_part_chunks((10,), starts, before) == ((3, 5, 2),)


# ------------------------------------------------------------------ random blocks


@st.composite
def scans_and_blocks(draw):
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.integers(1, 6)) for _ in range(ndim))
    winding = draw(st.sampled_from(WINDINGS)) if ndim >= 2 else None
    fmap = make_scan_map(shape, draw(st.integers(-40, 40)), winding, draw(st.integers(-20, 20)))
    start = tuple(draw(st.integers(0, s - 1)) for s in shape)
    size = tuple(draw(st.integers(1, s - a)) for s, a in zip(shape, start))
    n = max(fmap.start + math.prod(shape), 1)
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=4)))
    counts = np.diff([0, *cuts, n]).tolist()
    return fmap, index_of(counts), start, size, draw(st.integers(0, 4))


@settings(max_examples=400, deadline=None)
@given(scans_and_blocks())
def test_random_blocks_match_the_arrays(case):
    fmap, index, start, size, gap = case
    check_block(fmap, index, start, size, gap)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-1, 30), min_size=1, max_size=40),
    st.integers(0, 3),
    st.sampled_from([[31], [10, 21], [5, 0, 6, 20]]),
)
def test_repeated_frames_read_once_and_copied(frames, gap, counts):
    """``scan_shape="auto"`` maps repeat frames: each is read once, the others copied."""
    s = np.array(frames)
    index = index_of(counts)
    plan = plan_reads(index, s, gap)
    ranges, _ = old_plan(index, s, gap)
    assert list(plan.ranges) == list(ranges)
    np.testing.assert_array_equal(apply_plan(plan, s.size), s)
    read = np.concatenate([d[d >= 0] for d in plan.dests]) if plan.dests else np.array([])
    assert np.unique(read).size == read.size == np.unique(s[s >= 0]).size


def test_sparse_blocks_plan_by_sorting():
    """Frames far apart (x split into single columns) take the sorting path: same result."""
    fmap = make_scan_map((40, 50), 0, "y", 3)
    index = index_of([700, 1300])
    check_block(fmap, index, (0, 7), (40, 1), 1)
    check_block(fmap, index, (3, 10), (30, 2), 0)


def test_index_map_blocks_carry_only_their_own_frames():
    grid = np.arange(36).reshape(6, 6)[::-1]
    fmap = IndexMap(grid)
    np.testing.assert_array_equal(fmap.block((2, 1), (3, 4)), grid[2:5, 1:5].reshape(-1))
    frames = BlockFrames(index_of([40]), IndexMap(grid[2:5, 1:5]), (0, 0), (3, 4), 1)
    np.testing.assert_array_equal(frames.frames(), grid[2:5, 1:5].reshape(-1))


# ------------------------------------------------------------------ end to end


def _dataset(tmp_path, n=64, shape=(2, 3), parts=(13, 0, 20, 31), dtype="<u2", **kw):
    frames = make_frames(n, shape, dtype)
    return frames, write_parts(tmp_path / "rec", tvips_bytes(frames, records_per_part=list(parts)))


READS = [
    dict(scan_shape=(6,), scan_start_frame=4),
    dict(scan_shape=(60,), scan_start_frame=-5),
    dict(scan_shape=(7, 9), scan_start_frame=-2, winding_scan_axis="x", hysteresis=-1),
    dict(scan_shape=(9, 7), scan_start_frame=1, winding_scan_axis="y", hysteresis=11),
    dict(scan_shape=(2, 4, 7), scan_start_frame=-3, winding_scan_axis="x", hysteresis=9),
    dict(scan_shape=(2, 2, 3, 5), scan_start_frame=2, winding_scan_axis="y", hysteresis=-4),
]
CHUNKINGS = ["auto", False, {0: 2}, {-1: 2}, {1: 1}, {0: 1, -2: None, -1: 1}]


@pytest.mark.parametrize("rechunking", CHUNKINGS)
@pytest.mark.parametrize("kw", READS)
def test_reads_match_the_documented_rule(tmp_path, kw, rechunking):
    frames, first = _dataset(tmp_path)
    shape = kw["scan_shape"]
    want = reference_scan(
        frames,
        shape,
        kw.get("scan_start_frame", 0),
        kw.get("winding_scan_axis"),
        kw.get("hysteresis", 0),
    )
    np.testing.assert_array_equal(file_reader(first, **kw)[0]["data"], want)
    with dask.config.set({"array.chunk-size": "200B"}):
        data = file_reader(first, lazy=True, rechunking=rechunking, **kw)[0]["data"]
    np.testing.assert_array_equal(data.compute(scheduler="sync"), want)


@pytest.mark.parametrize("path", ["scatter", "copy in small pieces"])
@pytest.mark.parametrize("kw", READS[2:4])
def test_both_local_read_paths(tmp_path, monkeypatch, kw, path):
    frames, first = _dataset(tmp_path)
    if path == "scatter":
        monkeypatch.setattr(blockread, "SCATTER_MIN_PIXEL_BYTES", 0)
    else:
        monkeypatch.setattr(localio, "COPY_PIECE_BYTES", 100)  # a record or two a piece
    want = reference_scan(
        frames,
        kw["scan_shape"],
        kw["scan_start_frame"],
        kw.get("winding_scan_axis"),
        kw["hysteresis"],
    )
    for rechunking in ("auto", {-1: 2}, {0: 3, 1: 4}):
        data = file_reader(first, lazy=True, rechunking=rechunking, **kw)[0]["data"]
        np.testing.assert_array_equal(data.compute(scheduler="sync"), want)


def test_one_axis_scan_as_rosettasciio(tmp_path, rsciio_reader):
    frames, first = _dataset(tmp_path, parts=(64,))
    ours = file_reader(first, scan_shape=(6,), scan_start_frame=2)[0]
    ref = rsciio_reader(str(first), scan_shape=(6,), scan_start_frame=2)[0]
    np.testing.assert_array_equal(ours["data"], ref["data"])
    np.testing.assert_array_equal(ours["data"], frames[2:8])
    assert [a["name"] for a in ours["axes"]] == ["x", "dy", "dx"]
    assert [a["navigate"] for a in ours["axes"]] == [True, False, False]


@pytest.mark.parametrize("hysteresis", [-1, -5, 7, 13])
@pytest.mark.parametrize("winding", ["x", "y"])
def test_any_hysteresis_as_rosettasciio(tmp_path, rsciio_reader, winding, hysteresis):
    _, first = _dataset(tmp_path, parts=(64,))
    kw = dict(scan_shape=(5, 6), scan_start_frame=3, winding_scan_axis=winding)
    ours = file_reader(first, hysteresis=hysteresis, **kw)[0]["data"]
    ref = rsciio_reader(str(first), hysteresis=hysteresis, **kw)[0]["data"]
    np.testing.assert_array_equal(ours, ref)
    row = 6 if winding == "x" else 5
    same = file_reader(first, hysteresis=hysteresis % row, **kw)[0]["data"]
    np.testing.assert_array_equal(ours, same)


# ------------------------------------------------------------------ open in O(chunks)


SPARSE_FIRST = make_frames(2, (16, 16), "<u1")


def _sparse(tmp_path, n, parts=20, frame=(16, 16)):
    """``n`` frames as sparse files: the header and two frames written, the rest holes."""
    counts = [n // parts + (i < n % parts) for i in range(parts)]
    head = tvips_bytes(SPARSE_FIRST, frameheaderbytes=64)[0]
    rb = 64 + frame[0] * frame[1]
    names = []
    for k, c in enumerate(counts):
        name = tmp_path / f"big_{k:03d}.tvips"
        with open(name, "wb") as f:
            if k == 0:
                f.write(head)
            f.truncate((256 if k == 0 else 0) + c * rb)
        names.append(name)
    return str(names[0])


def test_open_does_no_per_frame_work(tmp_path, monkeypatch):
    first = _sparse(tmp_path, 4_000_000)

    def refuse(*_):
        raise AssertionError("a frame map was evaluated at open")

    for name in ("block", "frames"):
        monkeypatch.setattr(ScanMap, name, refuse)
    sizes = []
    for rechunking in ("auto", False, {0: 40}):
        data = file_reader(
            first,
            lazy=True,
            scan_shape=(2000, 2000),
            winding_scan_axis="x",
            hysteresis=3,
            rechunking=rechunking,
        )[0]["data"]
        sizes.append(len(pickle.dumps(dict(data.__dask_graph__()))))
    assert max(sizes) < 20_000, sizes  # a few hundred bytes a task, nothing per frame


def test_huge_sparse_recording_reads_its_corner(tmp_path):
    first = _sparse(tmp_path, 4_000_000)
    data = file_reader(first, lazy=True, scan_shape=(2000, 2000), rechunking=False)[0]["data"]
    assert data.npartitions == 20
    corner = data[:2, :3].compute()
    np.testing.assert_array_equal(corner[0, :2], SPARSE_FIRST)
    assert corner.shape == (2, 3, 16, 16) and not corner[0, 2:].any() and not corner[1].any()
    assert os.path.getsize(first) > 2**20 > os.stat(first).st_blocks * 512


# ------------------------------------------------------------------ rechunking refused


@pytest.mark.parametrize(
    "rechunking,match",
    [
        ({0: 0}, r"rechunking: axis 0 \(length 7\) has chunk size 0; allowed: a positive"),
        ({1: -2}, r"rechunking: axis 1 \(length 8\) has chunk size -2"),
        ({-1: 0}, r"rechunking: axis -1 \(length 7\) has chunk size 0"),
        (
            {0: (3, 3)},
            r"axis 0 \(length 7\) has chunks \(3, 3\), which are not positive "
            r"integers summing to the axis length 7",
        ),
        ({2: (4, 3)}, r"axis 2 \(length 6\) has chunks \(4, 3\).*summing to the axis length 6"),
        ({1: (8, 0)}, r"axis 1 .* has chunks \(8, 0\)"),
        ({0: 2.5}, r"axis 0 .* has chunks 2\.5; allowed"),
        ({0: True}, r"axis 0 .* has chunks True; allowed"),
        ({0: "big"}, r"axis 0 .* has chunks 'big'; allowed: .*'auto' or a byte size"),
        ({4: 2}, r"rechunking dict keys must be axis numbers in -4\.\.3 .* got axis 4"),
        ({-5: 2}, r"axis numbers in -4\.\.3 .* got axis -5"),
        ({0: 2, -4: 3}, r"rechunking: axis 0 is given twice"),
    ],
)
def test_bad_rechunking_dicts_are_refused_at_open(tmp_path, rechunking, match):
    _, first = _dataset(tmp_path, shape=(6, 7))
    with pytest.raises(ValueError, match=match):
        file_reader(first, lazy=True, scan_shape=(7, 8), rechunking=rechunking)


@pytest.mark.parametrize(
    "rechunking", [{0: -1}, {1: None}, {0: "auto"}, {0: "1KiB"}, {0: (3, 4), 3: (2, 5)}]
)
def test_good_rechunking_dicts_are_read(tmp_path, rechunking):
    frames, first = _dataset(tmp_path, shape=(6, 7))
    data = file_reader(first, lazy=True, scan_shape=(7, 8), rechunking=rechunking)[0]["data"]
    np.testing.assert_array_equal(data.compute(), reference_scan(frames, (7, 8)))


def test_plan_chunks_reads_rows_only_for_per_part_chunks(monkeypatch):
    fmap = make_scan_map((50, 40), 0, "y", 1)

    def refuse(*_):
        raise AssertionError("row_first_frames used")

    monkeypatch.setattr(ScanMap, "row_first_frames", refuse)
    for rechunking in ("auto", {0: 5}):
        plan_chunks(rechunking, fmap, (4, 4), "<u2", np.array([0, 1000, 2000]))


# ------------------------------------------------ placing read records into a block


@st.composite
def _slot_runs(draw):
    """Output slots of the records of one range: rows forwards or mirrored, dropped
    records (-1), and now and then single scattered slots; no slot twice."""
    n_slots = draw(st.integers(1, 60))
    free = list(draw(st.permutations(range(n_slots))))
    d: list[int] = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["fwd", "bwd", "drop", "one"]))
        length = draw(st.integers(1, 12))
        if kind == "drop":
            d += [-1] * length
        elif kind == "one" and free:
            d.append(free.pop())
        elif kind in ("fwd", "bwd"):
            start = draw(st.integers(0, n_slots - 1))
            run = [s for s in range(start, min(n_slots, start + length)) if s in free]
            for s in run:
                free.remove(s)
            d += run[::-1] if kind == "bwd" else run
    return n_slots, np.array(d or [-1], dtype=np.int64)


@given(_slot_runs())
@settings(max_examples=300, deadline=None)
def test_place_puts_every_record_where_its_slot_says(case):
    n_slots, d = case
    pix = np.arange(d.size * 6, dtype=np.uint16).reshape(d.size, 2, 3) + 1
    got = np.zeros((n_slots, 2, 3), np.uint16)
    blockread.place(got, d, pix)
    want = np.zeros_like(got)
    keep = d >= 0
    want[d[keep]] = pix[keep]
    np.testing.assert_array_equal(got, want)


_PLACE_PEAK = """
import tracemalloc
import numpy as np
from intake_tvips.graph import blockread

row, rows, frame = 50, 8, (64, 64)
d = []
for r in range(rows):
    slots = list(range(r * row, (r + 1) * row))
    d += [-1, -1] + (slots[::-1] if r % 2 else slots)
d = np.array(d, dtype=np.int64)
pix = np.ones((d.size,) + frame, np.uint16)
frames = np.zeros((rows * row,) + frame, np.uint16)
peaks = []
tracemalloc.start()
for _ in range(3):
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    blockread.place(frames, d, pix)
    peaks.append(tracemalloc.get_traced_memory()[1] - base)
tracemalloc.stop()
print(int(frames.all()), min(peaks), pix.nbytes)
"""


def test_mirrored_rows_and_dropped_records_are_copied_once():
    """Winding x with hysteresis: a range's records land as rows, forwards and mirrored,
    with dropped records between; placing them makes no copy of the whole piece.
    Measured in a fresh interpreter: tracemalloc sees every thread, and threads left
    by earlier tests (a cluster's, a server's) added 264 kB to every repetition."""
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", _PLACE_PEAK], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    filled, peak, nbytes = map(int, out.stdout.split())
    assert filled
    assert peak < nbytes / 20, f"placing allocated {peak} bytes for a {nbytes}-byte piece"


@pytest.mark.parametrize("winding", [None, "x", "y"])
def test_an_index_map_in_raster_order_is_that_raster(winding):
    """``as_scan_map``: the frames of a raster as an IndexMap (a rotator index counting
    one frame per position, wound as given) are that raster; one position's frame
    repeated, or a hysteresis, is no raster of hysteresis 0: unchanged."""
    raster = ScanMap((5, 7), 4, winding, 0)
    assert as_scan_map(IndexMap(frame_grid(raster))) == raster
    repeated = frame_grid(raster).copy()
    repeated[2, 3] = repeated[2, 2]
    assert isinstance(as_scan_map(IndexMap(repeated)), IndexMap)
    if winding is not None:
        rolled = frame_grid(ScanMap((5, 7), 4, winding, 2))
        assert isinstance(as_scan_map(IndexMap(rolled)), IndexMap)
    assert as_scan_map(StackMap(9)) == StackMap(9)
