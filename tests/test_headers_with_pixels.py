"""Header scans completed by the pixels where the headers cannot tell. A rotator index
counts the scan's positions (RosettaSciIO's rule: its start and size) but tells neither
its winding nor, where it only counts, its rows (the square is assumed);
``detect_scan(pixels=True)`` takes rows, winding and hysteresis from the scan the pixels
find where that fills the index's positions, and leaves the index's scan alone where it
does not. ``Scan_x`` alone cannot tell winding y from none: the image tells."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import scan_textures as st
from test_headers_detect import with_fields
from tvips_factory import reference_grid, tvips_bytes, write_parts

import intake_tvips
from intake_tvips.recording.detect_rotidx import SQUARE_ASSUMED_CONFIDENCE
from intake_tvips.recording.detection import ScanDetection
from intake_tvips.recording.rotator_pixels import rotator_with_pixels


def write_counted(path, frames: np.ndarray, start: int, total: int) -> str:
    """``frames`` written with 60-byte frame headers (no Scan_x/Scan_y) and a rotator
    index counting ``total`` positions from frame ``start`` (0 elsewhere); the first
    part's path (``benchmarks/rotator_pixels_accuracy.py`` writes its cases so too)."""
    rot = np.zeros(frames.shape[0], np.uint32)
    rot[start : start + total] = np.arange(1, total + 1)
    return write_parts(path, tvips_bytes(frames, frameheaderbytes=60, rotidx=rot))


def write_scan_x(path, frames: np.ndarray, shape, start: int, winding) -> str:
    """``frames`` written with Scan_x alone (each frame's commanded column, from
    ``reference_grid`` without the hysteresis; 0 before the scan, the last column after
    it), Scan_y 0 and a rotator index of zeros; the first part's path."""
    n = frames.shape[0]
    sx = np.full(n, shape[1] - 1, np.float32)
    sx[:start] = 0
    grid = reference_grid(shape, start, winding)  # commanded positions: no hysteresis
    sx[grid.reshape(-1)] = np.broadcast_to(np.arange(shape[1]), shape).reshape(-1)
    blobs = tvips_bytes(frames, frameheaderbytes=76, rotidx=np.zeros(n, np.uint32))
    blobs = with_fields(blobs, 76, frames.shape[1:], frames.dtype, Scan_x=sx, Scan_y=0 * sx)
    return write_parts(path, blobs)


def _recording(tmp_path, shape, winding, h, *, texture="particles", junk="blank"):
    """A scan after 3 junk frames (2 after it), the rotator index counting its positions
    (:func:`write_counted`)."""
    frames = st.recording(
        shape, texture_name=texture, winding=winding, hysteresis=h, dose=20.0, seed=1,
        junk=junk, junk_before=3, junk_after=2,
    )[0]  # fmt: skip
    return write_counted(tmp_path / "r", frames, 3, shape[0] * shape[1])


@pytest.mark.parametrize(
    ("shape", "winding", "h", "junk"),
    [
        ((24, 96), "x", 3, "blank"),
        ((36, 64), "x", 5, "blank"),
        ((48, 48), "y", 2, "blank"),
        ((48, 48), None, 0, "blank"),
        # a probe parked on the scan: the pixels alone seldom find such a start
        ((24, 96), "x", 4, "parked"),
        ((96, 24), "y", 6, "parked"),
    ],
)
def test_the_pixels_tell_a_rotator_scans_rows_and_winding(tmp_path, shape, winding, h, junk):
    first = _recording(tmp_path, shape, winding, h, junk=junk)
    headers = intake_tvips.detect_scan(first)
    side = int(np.sqrt(shape[0] * shape[1]))
    assert (headers.method, headers.scan_shape, headers.scan_start_frame) == (
        "rotidx", (side, side), 3,
    )  # fmt: skip
    assert headers.rows_assumed and headers.confidence == SQUARE_ASSUMED_CONFIDENCE
    found = intake_tvips.detect_scan(first, pixels=True)
    assert (found.method, found.scan_shape, found.scan_start_frame) == ("rotidx", shape, 3)
    assert found.winding_scan_axis == winding and not found.winding_assumed
    assert found.hysteresis == h and found.confidence > SQUARE_ASSUMED_CONFIDENCE
    assert "the pixels' scan fills the rotator index's" in found.reason
    data = intake_tvips.file_reader(first, **found.reader_kwargs())[0]["data"]
    assert data.shape[:2] == shape


@pytest.mark.parametrize(
    ("shape", "winding", "h", "junk"),
    [((32, 48), "y", 5, "parked"), ((48, 96), "x", 2, "parked"), ((24, 64), "x", 2, "parked_off")],
)
def test_a_count_that_is_no_square_gets_its_rows_from_the_pixels(tmp_path, shape, winding, h, junk):
    """RosettaSciIO's rule finds no scan in a count that is no square (1536 positions);
    the count and its first frame still tell where the scan is, and the pixels of those
    frames its rows and winding (the pixels alone seldom find a start after a probe
    parked on the scan)."""
    first = _recording(tmp_path, shape, winding, h, junk=junk)
    headers = intake_tvips.detect_scan(first)
    assert headers.method == "none" and headers.counted == (3, shape[0] * shape[1])
    found = intake_tvips.detect_scan(first, pixels=True)
    assert (found.method, found.scan_shape, found.scan_start_frame) == ("rotidx", shape, 3)
    assert (found.winding_scan_axis, found.hysteresis) == (winding, h)
    assert "the start and the count the rotator index tells" in found.reason


def test_a_flat_sample_leaves_the_index_alone(tmp_path):
    """No contrast: the pixels cannot tell rows nor winding, and the index's square stays
    as it was, assumed, the pixels' answer in its reason."""
    first = _recording(tmp_path, (24, 96), "x", 3, texture="flat")
    found = intake_tvips.detect_scan(first, pixels=True)
    assert (found.method, found.scan_shape, found.scan_start_frame) == ("rotidx", (48, 48), 3)
    assert found.winding_assumed and found.confidence == SQUARE_ASSUMED_CONFIDENCE
    assert "; pixels: undecided: no contrast" in found.reason


def _index(shape, rows_assumed=True, confidence=SQUARE_ASSUMED_CONFIDENCE) -> ScanDetection:
    return ScanDetection(
        shape, 5, None, 0, "rotidx", confidence, "rotidx: ...", winding_assumed=True,
        rows_assumed=rows_assumed,
    )  # fmt: skip


def _pixels(shape, start=5, winding="x", confidence=0.9) -> ScanDetection:
    return ScanDetection(shape, start, winding, 2, "pixels", confidence, "pixels: rows")


def test_rows_the_headers_told_are_not_overruled():
    """Rows from a restarting index (not assumed) that the pixels read otherwise: the
    headers' scan stays; an assumed square gives way to the same pixels."""
    told = rotator_with_pixels(_index((6, 6), rows_assumed=False, confidence=1.0), _pixels((3, 12)))
    assert (told.scan_shape, told.winding_scan_axis, told.confidence) == ((6, 6), None, 1.0)
    assert "not the ones the headers tell" in told.reason
    square = rotator_with_pixels(_index((6, 6)), _pixels((3, 12)))
    assert (square.scan_shape, square.winding_scan_axis, square.hysteresis) == ((3, 12), "x", 2)
    assert (square.method, square.confidence) == ("rotidx", 0.9)


def test_pixels_that_confirm_the_index_keep_the_greater_confidence():
    same = rotator_with_pixels(_index((6, 6), confidence=0.5), _pixels((6, 6), confidence=0.3))
    assert (same.scan_shape, same.winding_scan_axis, same.confidence) == ((6, 6), "x", 0.5)
    undecided = replace(_pixels((6, 6)), method="none", reason="pixels: undecided: flat")
    kept = rotator_with_pixels(_index((6, 6)), undecided)
    assert kept.winding_assumed and kept.reason.endswith("; pixels: undecided: flat")


def _x_alone(tmp_path, shape, winding, h):
    """A textured scan after 3 blanked frames with Scan_x written, Scan_y 0
    (:func:`write_scan_x`)."""
    frames = st.recording(
        shape, texture_name="particles", winding=winding, hysteresis=h, dose=20.0, seed=1,
        junk="blank", junk_before=3, junk_after=2,
    )[0]  # fmt: skip
    return write_scan_x(tmp_path / "x", frames, shape, 3, winding)


@pytest.mark.parametrize(("shape", "winding", "h"), [((32, 48), "y", 3), ((32, 48), None, 0)])
def test_the_image_tells_the_winding_scan_x_alone_cannot(tmp_path, shape, winding, h):
    first = _x_alone(tmp_path, shape, winding, h)
    headers = intake_tvips.detect_scan(first)
    assert (headers.method, headers.scan_shape, headers.scan_start_frame) == ("scan_xy", shape, 3)
    assert headers.winding_assumed and headers.winding_scan_axis is None
    found = intake_tvips.detect_scan(first, pixels=True)
    assert (found.scan_shape, found.winding_scan_axis, found.hysteresis) == (shape, winding, h)
    assert not found.winding_assumed and found.confidence <= headers.confidence
    assert f"winding {winding} from the image" in found.reason


def test_hysteresis_auto_on_a_rotator_index_scan(tmp_path):
    """``scan_shape="auto"`` with the winding given: the rotator index places one frame
    per position in order, a raster, so ``hysteresis="auto"`` estimates it (it used 0
    with a warning) and reads what the value found reads."""
    first = _recording(tmp_path, (48, 48), "x", 3)
    kw = dict(scan_shape="auto", winding_scan_axis="x")
    auto = intake_tvips.file_reader(first, hysteresis="auto", **kw)[0]
    assert auto["original_metadata"]["hysteresis_estimate"]["hysteresis"] == 3
    given = intake_tvips.file_reader(first, hysteresis=3, **kw)[0]["data"]
    np.testing.assert_array_equal(auto["data"], given)
    assert not np.array_equal(given, intake_tvips.file_reader(first, **kw)[0]["data"])


def test_info_says_the_square_is_assumed(tmp_path, capsys):
    from intake_tvips.cli import main

    first = _recording(tmp_path, (24, 96), "x", 3)
    assert main(["info", "--json", first]) == 0
    scan = json.loads(capsys.readouterr().out)["scan"]
    assert scan["rows_assumed"] and scan["scan_shape"] == [48, 48] and scan["confidence"] == 0.5
    assert main(["info", "--pixels", "--json", first]) == 0
    scan = json.loads(capsys.readouterr().out)["scan"]
    assert not scan["rows_assumed"] and scan["scan_shape"] == [24, 96]
    assert (scan["winding_scan_axis"], scan["hysteresis"]) == ("x", 3)
    assert main(["info", first]) == 0
    assert "48 x 48 (the square assumed" in capsys.readouterr().out
