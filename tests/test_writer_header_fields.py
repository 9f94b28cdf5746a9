"""``file_writer(frame_header_fields=...)``: per-frame header values, read back."""

import numpy as np
import pytest
from tvips_factory import make_frames

from intake_tvips import file_writer, frame_headers


def stack(frames):
    n, dy, dx = frames.shape
    axes = [
        {"name": "time", "size": n, "scale": 1, "offset": 0, "units": "s", "navigate": True},
        {"name": "dy", "size": dy, "scale": 1, "offset": 0, "units": "1/nm", "navigate": False},
        {"name": "dx", "size": dx, "scale": 1, "offset": 0, "units": "1/nm", "navigate": False},
    ]
    return {"data": frames, "axes": axes, "metadata": {}}


def test_given_scan_positions_are_written(tmp_path):
    frames = make_frames(7, (3, 4))
    sx = np.array([2, 2, 1, 0, 0, 1, 2], dtype=np.float32)
    sy = np.array([0, 0, 0, 0, 1, 1, 1], dtype=np.float32)
    url = str(tmp_path / "s.tvips")
    file_writer(
        url,
        stack(frames),
        max_file_size=256 + 3 * (76 + 24),
        frame_header_extra_bytes=16,
        frame_header_fields={"Scan_x": sx, "Scan_y": sy},
        show_progressbar=False,
    )
    table = frame_headers(str(tmp_path / "s_000.tvips"))
    np.testing.assert_array_equal(table["Scan_x"], sx)
    np.testing.assert_array_equal(table["Scan_y"], sy)
    np.testing.assert_array_equal(table["part"], [0, 0, 0, 1, 1, 1, 1])  # 3, then 5 a part
    np.testing.assert_array_equal(table["rotidx"], np.arange(1, 8))  # the rest as before


def test_unknown_field_names_the_extra_bytes(tmp_path):
    with pytest.raises(ValueError, match="frame_header_extra_bytes >= 16"):
        file_writer(
            str(tmp_path / "a.tvips"),
            stack(make_frames(2)),
            frame_header_fields={"Scan_x": [0, 1]},
            show_progressbar=False,
        )


def test_wrong_length_is_refused(tmp_path):
    with pytest.raises(ValueError, match="must hold 3 numbers"):
        file_writer(
            str(tmp_path / "a.tvips"),
            stack(make_frames(3)),
            frame_header_extra_bytes=16,
            frame_header_fields={"Scan_y": [0, 1]},
            show_progressbar=False,
        )
