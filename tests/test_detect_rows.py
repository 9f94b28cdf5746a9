"""Header detection where the rows are not in Scan_y nor in a running rotator index: a
rotator index that restarts every row, Scan_x alone (Scan_y always 0), a rotator index
that only counts frames, a single stray position; and on recordings of
tests/header_generator.py (positions, rotator kinds, corrupt values) never confidently
wrong, from every header and from a sample alike."""

import numpy as np
import pytest
from header_generator import generated_headers, verdict
from test_headers_detect import with_fields
from tvips_factory import make_frames, tvips_bytes, walk_positions, write_parts

from intake_tvips import file_reader
from intake_tvips.maths.rotator_rows import counts_every_frame, restarting_rows
from intake_tvips.recording import detect as detect_mod
from intake_tvips.recording.core import open_recording
from intake_tvips.recording.detect import detect_scan, sample_scan

CORRUPT = 4294836225


def _file(tmp_path, name, rot, sx=None, sy=None):
    n = rot.size
    fhb = 60 if sx is None else 76
    blobs = tvips_bytes(make_frames(n, (2, 2), "<u1"), frameheaderbytes=fhb, rotidx=rot)
    if sx is not None:
        blobs = with_fields(blobs, fhb, (2, 2), "<u1", Scan_x=sx, Scan_y=sy)
    return write_parts(tmp_path / name, blobs)


def _restarting(before, ny, nx, after, hold=True):
    r = np.zeros(before + ny * nx + after, np.int64)
    r[before : before + ny * nx] = np.tile(np.arange(1, nx + 1), ny)
    if hold:
        r[before + ny * nx :] = nx
    return r.astype(np.uint32)


def _positions(shape, walk, before, after, x_only=False):
    x, y = walk_positions(shape, walk)
    n = before + x.size + after
    sx, sy = np.zeros(n, np.float32), np.zeros(n, np.float32)
    sx[before : before + x.size] = x
    sx[before + x.size :] = x[-1]
    if not x_only:
        sy[before : before + y.size] = y
        sy[before + y.size :] = y[-1]
    return sx, sy


def test_restarting_rows_of_the_index():
    r = _restarting(5, 7, 16, 3)
    found = restarting_rows(r)
    assert (found.start, found.rows, found.row_length, found.exact) == (5, 7, 16, 112)
    assert not found.doubt
    r[5 + 3 * 16 + 4] = CORRUPT  # one corrupt value: the row still holds
    assert restarting_rows(r).exact == 111 and restarting_rows(r).rows == 7
    # a running count, a frame counter, one row: no restarts
    assert restarting_rows(np.r_[0, np.arange(1, 65), 64]) is None
    assert restarting_rows(np.arange(1, 65)) is None
    assert restarting_rows(_restarting(3, 1, 9, 3)) is None
    # rows of 2, one broken by a corrupt value between two that hold
    r = _restarting(2, 10, 2, 4, hold=False)
    r[2 + 2 * 4] = CORRUPT
    assert restarting_rows(r).rows == 10


def test_counts_every_frame():
    assert counts_every_frame(np.arange(1, 101)) and counts_every_frame(np.arange(0, 100))
    noisy = np.arange(1, 1001)
    noisy[[10, 500, 700]] = CORRUPT
    assert counts_every_frame(noisy)
    assert not counts_every_frame(np.r_[0, 0, np.arange(1, 99)])  # frames before the count
    assert not counts_every_frame(np.r_[np.arange(1, 100), 0])  # falls back: a scan's end
    assert not counts_every_frame(np.r_[0, np.arange(1, 26), 0])


@pytest.mark.parametrize("nx", [16, 12])  # 16: RosettaSciIO's rule would read a 4 x 4
def test_a_rotator_index_restarting_every_row(tmp_path, nx):
    rot = _restarting(4, 9, nx, 6)
    first = _file(tmp_path, "r", rot)
    d = detect_scan(first)
    assert (d.method, d.scan_shape, d.scan_start_frame) == ("rotidx", (9, nx), 4)
    assert d.confidence == 1.0 and not d.use_auto
    assert d.winding_assumed and d.winding_scan_axis is None
    assert f"counts 1 to {nx} and restarts, 9 times" in d.reason and "none assumed" in d.reason
    # scan_shape="auto" reads the same scan, with the winding the user gives
    frames = make_frames(rot.size, (2, 2), "<u1")
    auto = file_reader(first, scan_shape="auto")[0]["data"]
    np.testing.assert_array_equal(auto, frames[4 : 4 + 9 * nx].reshape(9, nx, 2, 2))
    wound = file_reader(first, scan_shape="auto", winding_scan_axis="x")[0]["data"]
    want = file_reader(first, scan_shape=(9, nx), scan_start_frame=4, winding_scan_axis="x")
    np.testing.assert_array_equal(wound, want[0]["data"])


@pytest.mark.parametrize("shape", [(6, 16), (2, 30), (7, 2)])
def test_a_rotator_index_of_x_plus_1_tells_the_winding(tmp_path, shape):
    """Rows 0, 2, ... counting down (the index is x + 1 of a snake): winding x, known,
    and scan_shape="auto" reads it so without being told (RosettaSciIO's rule would read
    the last row rising, as a square when it is one)."""
    x, _ = walk_positions(shape, "x")
    rot = np.r_[np.zeros(3, int), x + 1, np.zeros(5, int)].astype(np.uint32)
    first = _file(tmp_path, "xs", rot)
    d = detect_scan(first)
    assert (d.method, d.scan_shape, d.scan_start_frame, d.winding_scan_axis) == (
        "rotidx",
        shape,
        3,
        "x",
    )
    assert not d.winding_assumed and d.confidence == 1.0 and "count down" in d.reason
    auto = file_reader(first, scan_shape="auto")[0]["data"]
    want = file_reader(first, **d.reader_kwargs())[0]["data"]
    np.testing.assert_array_equal(auto, want)
    # rows 1, 3, ... counting down: no winding expresses it, not trusted
    x, _ = walk_positions(shape, "x_odd")
    rot = np.r_[np.zeros(3, int), x + 1, np.zeros(5, int)].astype(np.uint32)
    d = detect_scan(_file(tmp_path, "xo", rot))
    assert d.scan_shape == shape and d.confidence == 0.5 and d.winding_assumed


def test_a_restarting_index_with_a_corrupt_value_and_a_doubtful_first_row(tmp_path):
    rot = _restarting(4, 9, 12, 6)
    rot[4 + 30] = CORRUPT
    d = detect_scan(_file(tmp_path, "c", rot))
    assert (d.scan_shape, d.scan_start_frame) == ((9, 12), 4)
    assert d.confidence == pytest.approx(1 - 1 / 108) and "1 frame(s) of the scan off" in d.reason
    # the first row broken: the row before the rows found counts too -> not trusted
    rot = _restarting(4, 9, 3, 6)
    rot[[4, 5]] = CORRUPT
    d = detect_scan(_file(tmp_path, "d", rot))
    assert d.scan_shape == (8, 3) and d.confidence < 0.9


def test_a_large_restarting_index_is_found_from_a_sample(tmp_path):
    rot = _restarting(300, 40, 64, 100)
    rec = open_recording(_file(tmp_path, "big", rot))
    got = sample_scan(rec)
    assert got.detection is not None and got.detection.sampled
    assert (got.detection.scan_shape, got.detection.scan_start_frame) == ((40, 64), 300)
    assert got.reader.frames.size < 400 < rec.n_frames
    every = detect_scan(rec, exhaustive=True)
    assert got.detection.reader_kwargs() == every.reader_kwargs()
    auto = file_reader(rec.name, scan_shape="auto", lazy=True)[0]["data"]
    assert auto.shape[:2] == (40, 64)
    frames = make_frames(rot.size, (2, 2), "<u1")
    np.testing.assert_array_equal(auto[39].compute(), frames[300 + 39 * 64 : 300 + 40 * 64])


def test_info_says_the_winding_is_assumed(tmp_path, capsys):
    import json

    from intake_tvips.cli.main import main

    first = _file(tmp_path, "i", _restarting(4, 9, 12, 6))
    assert main(["info", str(first)]) == 0
    out = capsys.readouterr().out
    assert "winding           none (assumed: the headers cannot tell)" in out
    assert main(["info", str(first), "--json"]) == 0
    scan = json.loads(capsys.readouterr().out)["scan"]
    assert scan["winding_assumed"] and scan["scan_shape"] == [9, 12]


@pytest.mark.parametrize("n", [100, 1200])
def test_a_frame_counter_is_no_scan(tmp_path, n):
    first = _file(tmp_path, "n", np.arange(1, n + 1).astype(np.uint32))
    d = detect_scan(first)
    assert d.method == "none" and d.scan_shape is None
    assert "counts every frame" in d.reason and "a frame counter" in d.reason
    if n == 1200:  # (100 is a square: RosettaSciIO's rule reads it still, see below)
        assert "not a square" in d.reason
        with pytest.raises(ValueError, match="not a square"):
            file_reader(first, scan_shape="auto")
        assert sample_scan(open_recording(first)).detection.method == "none"


def test_a_square_frame_counter_is_no_scan_but_auto_keeps_rosettasciio(tmp_path):
    first = _file(tmp_path, "sq", np.arange(1, 101).astype(np.uint32))
    d = detect_scan(first)
    assert d.method == "none" and "still reads RosettaSciIO's 10 x 10 square" in d.reason
    assert file_reader(first, scan_shape="auto")[0]["data"].shape[:2] == (10, 10)


def test_a_counter_with_scan_positions_that_do_not_decide_is_no_raster(tmp_path):
    # positions spoilt in a third of the frames: not trusted; the counter is no scan,
    # and its 240 frames are not cut into rows where Scan_y changes
    sx, sy = _positions((12, 20), None, 0, 0)
    sx[1::3] = 37
    first = _file(tmp_path, "cp", np.arange(1, 241).astype(np.uint32), sx, sy)
    d = detect_scan(first)
    assert not d.positions_trusted
    with pytest.raises(ValueError, match="not a square"):
        file_reader(first, scan_shape="auto")


def test_a_single_stray_rotator_value_is_no_scan():
    rot = np.zeros(50, np.uint32)
    rot[20] = 1
    t = np.zeros(50, [("frame", "<i8"), ("rotidx", "<u4")])
    t["frame"], t["rotidx"] = np.arange(50), rot
    d = detect_scan(headers=t)
    assert d.method == "none" and "a single position" in d.reason


def _xy_table(sx, sy, rot=None):
    t = np.zeros(
        sx.size, [("frame", "<i8"), ("rotidx", "<u4"), ("Scan_x", "<f4"), ("Scan_y", "<f4")]
    )
    t["frame"], t["Scan_x"], t["Scan_y"] = np.arange(sx.size), sx, sy
    if rot is not None:
        t["rotidx"] = rot
    return t


@pytest.mark.parametrize("shape", [(7, 9), (25, 4), (2, 30)])
def test_scan_x_alone_gives_the_rows_where_it_turns_back(shape):
    sx, sy = _positions(shape, "x", 11, 5, x_only=True)
    d = detect_scan(headers=_xy_table(sx, sy))
    assert (d.scan_shape, d.scan_start_frame, d.winding_scan_axis) == (shape, 11, "x")
    assert d.positions_trusted and d.confidence == 1.0 and not d.winding_assumed
    assert "Scan_y is 0 in every frame" in d.reason


@pytest.mark.parametrize("walk", [None, "y"])
def test_scan_x_alone_gives_the_rows_where_it_wraps_winding_assumed(walk):
    sx, sy = _positions((8, 13), walk, 6, 9, x_only=True)
    d = detect_scan(headers=_xy_table(sx, sy))
    assert (d.scan_shape, d.scan_start_frame, d.winding_scan_axis) == ((8, 13), 6, None)
    assert d.winding_assumed and not d.positions_trusted and d.confidence == 0.5
    assert "a winding along y cannot be told from none" in d.reason


def test_scan_x_that_never_wraps_is_one_row():
    sx, sy = _positions((1, 40), None, 6, 9, x_only=True)
    d = detect_scan(headers=_xy_table(sx, sy))
    assert (d.scan_shape, d.scan_start_frame) == ((1, 40), 6)
    assert d.positions_trusted and not d.winding_assumed


def test_scan_x_alone_of_a_large_snake_is_found_from_a_sample(tmp_path):
    sx, sy = _positions((60, 50), "x", 400, 200, x_only=True)
    rot = np.zeros(sx.size, np.uint32)
    rec = open_recording(_file(tmp_path, "xs", rot, sx, sy))
    got = sample_scan(rec)
    assert got.detection is not None and got.detection.positions_trusted
    assert (got.detection.scan_shape, got.detection.scan_start_frame) == ((60, 50), 400)
    assert got.reader.frames.size < 500
    auto = file_reader(rec.name, scan_shape="auto")[0]["data"]
    want = file_reader(rec.name, scan_shape=(60, 50), scan_start_frame=400, winding_scan_axis="x")
    np.testing.assert_array_equal(auto, want[0]["data"])


def test_scan_x_alone_without_winding_is_found_from_a_sample_winding_assumed(tmp_path):
    sx, sy = _positions((60, 50), None, 400, 200, x_only=True)
    first = _file(tmp_path, "xn", np.zeros(sx.size, np.uint32), sx, sy)
    got = sample_scan(open_recording(first))
    d = got.detection
    assert d is not None and d.sampled and got.reader.frames.size < 500
    assert (d.scan_shape, d.scan_start_frame, d.winding_scan_axis) == ((60, 50), 400, None)
    assert d.winding_assumed and not d.positions_trusted and d.confidence < 0.5
    every = detect_scan(first, exhaustive=True)
    assert every.reader_kwargs() == d.reader_kwargs() and every.confidence == 0.5


def test_moves_after_a_frame_without_position_are_not_moves():
    # a 2 x 2 walk down the columns: the first column looks like a (2, 1) raster, the
    # frames after it move outside it; a corrupt frame after must not dilute that
    sx = np.array([0, 0, 0, 1, 1, 1e9, 0, 0, 0, 0, 0, 0, 0, 1e9, 0, 0], np.float32)
    sy = np.array([0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], np.float32)
    d = detect_scan(headers=_xy_table(sx, sy))
    assert not d.positions_trusted and "does not explain the recording" in d.reason


def _known_limit(d) -> bool:
    """RosettaSciIO's rule assumes a square scan: a running count to a square the
    headers cannot tell from other rows (the reason says so)."""
    return d.method == "rotidx" and "square assumed" in d.reason


def test_generated_headers_from_every_header_are_never_confidently_wrong():
    counts = {"right": 0, "undecided": 0, "wrong": 0, "square assumed": 0}
    for seed in range(500):
        g = generated_headers(np.random.default_rng(seed))
        d = detect_scan(headers=g["table"])
        v = verdict(d, g)
        if v == "wrong" and _known_limit(d):
            v = "square assumed"
        counts[v] += 1
        case = g["case"]
        if "x 1 walked" in case or "corrupt" in case:
            assert v != "wrong" or "Scan_x corrupt" in case, (seed, case, d.reason)
            continue
        assert v != "wrong", (seed, case, d.reason)
        (ny, nx), _ = g["geometry"]
        positions, rotator = case.split("; ")[1].split(", ")
        no_positions = positions in ("positions absent", "positions zeros")
        if rotator == "rotator restart" and no_positions and ny > 1 < nx:
            assert v == "right", (seed, case, d.reason)
        if rotator == "rotator restart_x" and no_positions and ny > 1 < nx and "walked x," in case:
            assert v == "right" and d.winding_scan_axis == "x", (seed, case, d.reason)
        if "positions x_only" in case and "walked x," in case and ny > 1 and nx > 2:
            assert v == "right", (seed, case, d.reason)
    assert counts["right"] >= 90 and counts["undecided"] > 250, counts
    assert counts["wrong"] <= 2 and counts["square assumed"] <= 5, counts


@pytest.mark.parametrize("tiny", [False, True])
def test_generated_headers_from_a_sample_are_never_confidently_wrong(tmp_path, monkeypatch, tiny):
    if tiny:  # the sampled path (searches included) on these small recordings too
        monkeypatch.setattr(detect_mod, "SAMPLE_ALL_FRAMES", 0)
    decided = 0
    for seed in range(2000, 2120):
        g = generated_headers(np.random.default_rng(seed))
        t = g["table"]
        sx = t["Scan_x"] if "Scan_x" in t.dtype.names else None
        sy = t["Scan_y"] if sx is not None else None
        got = sample_scan(open_recording(_file(tmp_path, f"g{seed}", t["rotidx"], sx, sy)))
        if got.detection is None:
            assert got.why
            continue
        decided += 1
        v = verdict(got.detection, g)
        assert v != "wrong" or _known_limit(got.detection), (seed, g["case"], got.detection)
        every = detect_scan(headers=t)
        assert got.detection.reader_kwargs() == every.reader_kwargs(), g["case"]
        assert got.detection.method == every.method, g["case"]
    assert decided > 20
