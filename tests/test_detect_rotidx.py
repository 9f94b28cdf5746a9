"""The rotator index beyond RosettaSciIO's square rule: a few corrupt values passed over
as strays, and non-square scans whose rows the positions give; RosettaSciIO's answer
wherever its rule gives one (tests/test_rsciio_suite.py keeps that contract)."""

import numpy as np
import pytest
from test_headers_detect import raster_positions, with_fields
from tvips_factory import make_frames, tvips_bytes, write_parts

from intake_tvips import file_reader
from intake_tvips.maths.scan import auto_scan_indices, rotator_strays
from intake_tvips.recording.core import open_recording
from intake_tvips.recording.detect import detect_scan, sample_scan
from intake_tvips.recording.detect_rotidx import SQUARE_ASSUMED_CONFIDENCE

CORRUPT = 4294836225


def _file(tmp_path, name, rot, sx=None, sy=None, fhb=76):
    n = rot.size
    blobs = tvips_bytes(make_frames(n, (2, 2), "<u1"), frameheaderbytes=fhb, rotidx=rot)
    if sx is not None:
        blobs = with_fields(blobs, fhb, (2, 2), "<u1", Scan_x=sx, Scan_y=sy)
    return write_parts(tmp_path / name, blobs)


def test_rotator_strays():
    r = np.array([0, 0, 1, 2, 3, 4, 5, 6, 6, 0, 0])
    assert not rotator_strays(r).any()  # a count, a repeat, the fall back to 0
    for i, value in [(4, CORRUPT), (4, 0), (5, 1000), (10, CORRUPT)]:
        bad = r.copy()
        bad[i] = value
        np.testing.assert_array_equal(np.flatnonzero(rotator_strays(bad)), [i])
    # passed over: the stray's frame takes the place of the position it skipped
    r = np.r_[0, np.arange(1, 10), 0]
    r[4] = CORRUPT
    grid = auto_scan_indices(r, pass_strays=True)
    np.testing.assert_array_equal(grid.ravel(), np.arange(1, 10))
    with pytest.raises(ValueError, match="positions per recorded frame"):
        auto_scan_indices(np.r_[0, np.arange(1, 10), CORRUPT])  # RosettaSciIO's rule


def test_any_row_length_the_count_allows():
    r = np.r_[0, 0, np.arange(1, 13), 12]
    np.testing.assert_array_equal(
        auto_scan_indices(r, row_length=4), np.arange(2, 14).reshape(3, 4)
    )
    with pytest.raises(ValueError, match="not a square"):
        auto_scan_indices(r)
    with pytest.raises(ValueError, match="not a square"):
        auto_scan_indices(r, row_length=5)  # 12 positions are no rows of 5


@pytest.mark.parametrize("n_side", [16, 32])
def test_a_corrupt_last_rotator_value_is_a_stray(tmp_path, n_side):
    """RosettaSciIO's rule takes the corrupt value for the scan's size and refuses the
    recording; it is one stray frame after the scan."""
    total = n_side * n_side
    rot = np.r_[np.zeros(3, int), np.arange(1, total + 1), total, CORRUPT].astype(np.uint32)
    first = _file(tmp_path, "c", rot, fhb=60)
    d = detect_scan(first)
    assert (d.method, d.scan_shape, d.scan_start_frame) == ("rotidx", (n_side, n_side), 3)
    assert d.confidence == SQUARE_ASSUMED_CONFIDENCE and d.rows_assumed  # the square assumed
    assert f"{total / (total + 1):.1%} of positions hold a frame with their own" in d.reason
    assert "1 frame(s) with a rotator value off the count" in d.reason
    assert not d.use_auto and not d.sampled  # the sample (1029 frames) leaves it to all
    frames = make_frames(rot.size, (2, 2), "<u1")
    data = file_reader(first, scan_shape="auto")[0]["data"]
    np.testing.assert_array_equal(data, frames[3 : 3 + total].reshape(n_side, n_side, 2, 2))
    np.testing.assert_array_equal(data, file_reader(first, **d.reader_kwargs())[0]["data"])


def test_a_stray_inside_the_scan_is_read_as_rosettasciio_reads_it(tmp_path):
    rot = np.r_[0, np.arange(1, 26), 0].astype(np.uint32)
    rot[10] = CORRUPT  # frame 10 holds position 10 (0-based 9)
    first = _file(tmp_path, "i", rot, fhb=60)
    d = detect_scan(first)
    assert (d.method, d.scan_shape, d.scan_start_frame) == ("rotidx", (5, 5), 1)
    # RosettaSciIO's rule already gives this scan (its later runs paint over the stray's)
    assert d.confidence == SQUARE_ASSUMED_CONFIDENCE and d.use_auto and "strays" not in d.reason
    assert "96.0% of positions hold a frame with their own rotator value" in d.reason
    data = file_reader(first, scan_shape="auto")[0]["data"]
    frames = make_frames(rot.size, (2, 2), "<u1")
    # as RosettaSciIO's run rule: the frame before the stray repeats at its position
    np.testing.assert_array_equal(data, frames[auto_scan_indices(rot)])
    assert auto_scan_indices(rot).ravel()[9] == 9


def test_a_non_square_count_takes_its_rows_from_the_positions(tmp_path):
    """A 12 x 20 scan whose Scan_x is spoilt in a third of the frames (not trusted) and
    whose rotator counts to 240: the rows start where Scan_y changes."""
    n, shape, start = 3 + 240 + 2, (12, 20), 3
    sx, sy = raster_positions(n, shape, start)
    sx[start + 1 : start + 240 : 3] = 37
    rot = np.r_[np.zeros(start, int), np.arange(1, 241), 240, 240].astype(np.uint32)
    first = _file(tmp_path, "w", rot, sx, sy)
    d = detect_scan(first)
    assert d.method == "scan_xy" and not d.positions_trusted
    data = file_reader(first, scan_shape="auto")[0]["data"]
    want = file_reader(first, scan_shape=shape, scan_start_frame=start)[0]["data"]
    np.testing.assert_array_equal(data, want)


def test_a_non_square_count_without_positions_is_undecided(tmp_path):
    rot = np.r_[0, np.arange(1, 601), 0].astype(np.uint32)  # 600 = 20 x 30, or 24 x 25, ...
    first = _file(tmp_path, "u", rot, fhb=60)
    d = detect_scan(first)
    assert d.method == "none" and "not a square" in d.reason
    with pytest.raises(ValueError, match="not a square"):
        file_reader(first, scan_shape="auto")
    got = sample_scan(open_recording(first)).detection
    assert got is not None and got.method == "none"  # the sample says so too
