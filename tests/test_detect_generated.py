"""Header detection on recordings written the way a scan generator writes them
(tvips_factory.generated_scan): every answer is right or honestly not trusted, never
confidently wrong, from every header and from a sample alike."""

import numpy as np
import pytest
from test_headers_detect import with_fields
from tvips_factory import generated_scan, make_frames, tvips_bytes, walk_positions, write_parts

from intake_tvips import file_reader
from intake_tvips.maths.scan import ScanMap, frame_grid
from intake_tvips.recording import detect as detect_mod
from intake_tvips.recording.core import open_recording
from intake_tvips.recording.detect import detect_scan, infer_scan, sample_scan
from intake_tvips.recording.detect_frames import HeaderValues, Wanted
from intake_tvips.recording.detect_xy import PositionFinding


def _table(sx, sy, rotidx=None):
    n = sx.size
    t = np.zeros(n, [("frame", "<i8"), ("rotidx", "<u4"), ("Scan_x", "<f4"), ("Scan_y", "<f4")])
    t["frame"], t["Scan_x"], t["Scan_y"] = np.arange(n), sx, sy
    if rotidx is not None:
        t["rotidx"] = rotidx
    return t


def _file(tmp_path, name, sx, sy):
    n = sx.size
    blobs = tvips_bytes(make_frames(n, (2, 2), "<u1"), frameheaderbytes=76, rotidx=np.zeros(n))
    blobs = with_fields(blobs, 76, (2, 2), "<u1", Scan_x=sx, Scan_y=sy)
    return write_parts(tmp_path / name, blobs)


def judge(d, truth) -> str:
    """``right``: scan_shape="auto" takes it and it is the truth's map; ``undecided``:
    not taken; ``wrong``: taken, and not the truth's map (or no map expresses it)."""
    trusted = d.positions_trusted if d.method == "scan_xy" else d.method == "rotidx"
    if not trusted:
        return "undecided"
    if truth is None or tuple(d.scan_shape) != truth[0]:
        return "wrong"
    got = ScanMap(tuple(d.scan_shape), d.scan_start_frame, d.winding_scan_axis)
    same = np.array_equal(frame_grid(got), frame_grid(ScanMap(*truth)))
    return "right" if same else "wrong"


def test_positions_of_inverts_the_frame_map():
    for shape in [(3, 4), (5, 2), (1, 6), (4, 1), (6, 7)]:
        for winding in (None, "x", "y"):
            for h in (0, 1, 3):
                h = h % (shape[1] if winding == "x" else shape[0]) if winding else 0
                fmap = ScanMap(shape, 5, winding, h)
                y, x = fmap.positions_of(frame_grid(fmap).ravel())
                want_y, want_x = np.divmod(np.arange(shape[0] * shape[1]), shape[1])
                np.testing.assert_array_equal(y, want_y)
                np.testing.assert_array_equal(x, want_x)


def test_generated_recordings_from_every_header_are_never_confidently_wrong():
    counts = {"right": 0, "undecided": 0, "wrong": 0}
    for seed in range(600):
        g = generated_scan(np.random.default_rng(seed))
        d = detect_scan(headers=_table(g["scan_x"], g["scan_y"]))
        verdict = judge(d, g["truth"])
        counts[verdict] += 1
        assert verdict != "wrong", (seed, g["case"], d.reason)
        if g["truth"] is not None and np.prod(g["truth"][0]) > 2:
            # only two positions can leave two rasters the headers cannot tell apart
            assert verdict == "right", (seed, g["case"], d.reason)
    assert counts["right"] > 300 and counts["undecided"] > 100, counts


@pytest.mark.parametrize("tiny", [False, True])
def test_generated_recordings_from_a_sample_are_never_confidently_wrong(
    tmp_path, monkeypatch, tiny
):
    if tiny:  # the sampled path (searches included) on these small recordings too
        monkeypatch.setattr(detect_mod, "SAMPLE_ALL_FRAMES", 0)
    decided = 0
    for seed in range(1000, 1150):
        g = generated_scan(np.random.default_rng(seed))
        rec = open_recording(_file(tmp_path, f"g{seed}", g["scan_x"], g["scan_y"]))
        got = sample_scan(rec)
        if got.detection is None:
            assert got.why
            continue
        decided += 1
        assert judge(got.detection, g["truth"]) != "wrong", (seed, g["case"], got.detection)
        every = detect_scan(headers=_table(g["scan_x"], g["scan_y"]))
        assert got.detection.reader_kwargs() == every.reader_kwargs(), g["case"]
    assert decided > 50


def _parked(shape, walk, before=20, after=20):
    x, y = walk_positions(shape, walk)
    n = before + x.size + after
    sx, sy = np.zeros(n, np.float32), np.zeros(n, np.float32)
    sx[before : before + x.size], sy[before : before + x.size] = x, y
    sx[before + x.size :], sy[before + x.size :] = x[-1], y[-1]
    return sx, sy


def test_a_raster_of_the_first_column_does_not_explain_a_column_first_scan(tmp_path):
    # y is the fast axis: the first 30 frames look like a (30, 1) raster, the 1170 after
    # it keep moving to columns it does not contain (was confidence 1.0, trusted)
    sx, sy = _parked((30, 40), "columns")
    d = detect_scan(headers=_table(sx, sy))
    assert d.scan_shape == (30, 1) and not d.positions_trusted and d.confidence < 0.05
    assert "does not explain the recording" in d.reason
    first = _file(tmp_path, "c", sx, sy)
    got = sample_scan(open_recording(first))
    assert got.detection is None and "outside it" in got.why
    # scan_shape="auto" then has only the rotator index (all zero here): it refuses
    with pytest.raises(ValueError, match="never increases"):
        file_reader(first, scan_shape="auto")


@pytest.mark.parametrize(
    ("shape", "park"), [((2, 30), "origin"), ((2, 31), "last"), ((1, 34), "origin")]
)
def test_a_snake_after_parked_junk_starts_where_it_starts(shape, park):
    # was: one frame early, one column too many, confidence 0.97
    x, y = walk_positions(shape, "x")
    sx, sy = _parked(shape, "x")
    if park == "last":
        sx[:20], sy[:20] = x[-1], y[-1]
    d = detect_scan(headers=_table(sx, sy))
    assert (d.scan_shape, d.scan_start_frame, d.winding_scan_axis) == (shape, 20, "x")
    assert d.confidence == 1.0


def test_two_rasters_the_headers_cannot_tell_apart_are_not_trusted():
    # a 1 x 2 scan from frame 3 (x forwards), the probe parked at its last position
    # before it: frames 2, 3 are as good a reversed row (winding "x") as frames 3, 4
    sx = np.array([1, 1, 1, 0, 1, 1, 1], np.float32)
    d = detect_scan(headers=_table(sx, np.zeros(7, np.float32)))
    # (Scan_y is 0: with x alone, rows of 2 could also be a walk down columns)
    assert d.confidence <= 0.5 and not d.positions_trusted
    assert "cannot tell them apart" in d.reason


def test_the_inference_asks_for_frames_and_never_reads():
    """From a few frames' values the pure inference answers with the frames it wants;
    given them, it asks for more or answers; from every header it answers at once."""
    sx, sy = _parked((40, 50), "x", before=700, after=5)
    table = _table(sx, sy)
    read = np.r_[0:16, table.size - 16 : table.size]
    for _ in range(20):
        found = infer_scan(HeaderValues(table.size, table[read], complete=False))
        if not isinstance(found, Wanted):
            break
        assert found.frames.size and not np.isin(found.frames, read).any()
        read = np.union1d(read, found.frames)
    notes, finding = found
    assert isinstance(finding, PositionFinding) and not finding.complete
    assert (finding.raster.shape, finding.raster.start, finding.raster.winding) == (
        (40, 50),
        700,
        "x",
    )
    assert read.size < table.size // 4
    notes, every = infer_scan(HeaderValues(table.size, table, complete=True))
    assert (every.raster.shape, every.raster.start) == ((40, 50), 700) and every.confidence == 1
