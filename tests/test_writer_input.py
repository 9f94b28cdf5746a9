"""The writer refuses, before writing, what its reader would refuse; bad metadata is named.

Also: 32- and 64-bit pixels (RosettaSciIO writes and reads them), ``max_file_size`` below
one record (RosettaSciIO's rule), and the writer's pieces on their own.
"""

from __future__ import annotations

import os

import dask.array as da
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_writer import make_signal, tvips_files
from tvips_factory import make_frames

from intake_tvips import file_reader, file_writer
from intake_tvips.format.layout import RecordLayout, frame_header_dtype
from intake_tvips.writers.tvips.header import frame_fields, series_header
from intake_tvips.writers.tvips.records import chunk_groups, pack_records, record_slabs
from intake_tvips.writers.tvips.signal import check_data

# --- pixels of 32 and 64 bits --------------------------------------------------------


@pytest.mark.parametrize("dtype", ["<u4", "<u8"])
@pytest.mark.parametrize("lazy", [False, True])
def test_32_and_64_bit_pixels_round_trip(tmp_path, dtype, lazy, rsciio_reader):
    frames = make_frames(6, dtype=dtype)
    frames[0, 0, 1] = np.iinfo(np.dtype(dtype)).max
    data = da.from_array(frames, chunks=2) if lazy else frames
    with pytest.warns(UserWarning, match="only 8 and 16 bits"):
        file_writer(tmp_path / "w.tvips", make_signal(data), show_progressbar=False)
    back = file_reader(tmp_path / "w.tvips", lazy=lazy)[0]["data"]
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(np.asarray(back), frames)
    header = (tmp_path / "w_000.tvips").read_bytes()[:256]
    assert int.from_bytes(header[16:20], "little") == 8 * np.dtype(dtype).itemsize
    theirs = rsciio_reader(str(tmp_path / "w_000.tvips"), scan_shape=(2, 3))[0]["data"]
    np.testing.assert_array_equal(theirs, frames.reshape(2, 3, 4, 5))


# --- max_file_size -----------------------------------------------------------------------


def test_max_file_size_below_one_record_warns_and_uses_the_smallest(tmp_path):
    frames = make_frames(3)  # records of 60 + 40 bytes: the smallest part is 356 bytes
    with pytest.warns(UserWarning, match="max_file_size=100 .*using 356 bytes"):
        file_writer(tmp_path / "m.tvips", make_signal(frames), max_file_size=100)
    names = tvips_files(tmp_path)
    assert [os.path.getsize(tmp_path / n) for n in names] == [356, 200]  # 1, then 356 // 100
    np.testing.assert_array_equal(file_reader(tmp_path / "m.tvips")[0]["data"], frames)


# --- what the reader would refuse (class 5) ----------------------------------------------


def _refused(tmp_path, signal, match, **kwargs):
    with pytest.raises(ValueError, match=match):
        file_writer(tmp_path / "r.tvips", signal, show_progressbar=False, **kwargs)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("shape", [(2, 0, 5), (2, 4, 0), (0, 0, 0), (3, 2, 0, 1)])
def test_zero_size_frames_refused(tmp_path, shape):
    _refused(tmp_path, make_signal(np.zeros(shape, np.uint8)), "frames of .* pixels")


@pytest.mark.parametrize("nav", [(0, 3), (3, 0), (2, 0, 2)])
def test_scans_with_no_position_refused(tmp_path, nav):
    _refused(tmp_path, make_signal(np.zeros(nav + (4, 5), np.uint8)), "scan of shape")


def test_empty_stack_still_written_and_read(tmp_path):
    file_writer(tmp_path / "e.tvips", make_signal(np.zeros((0, 4, 5), np.uint16)))
    assert file_reader(tmp_path / "e.tvips")[0]["data"].shape == (0, 4, 5)


@pytest.mark.parametrize("shape", [(1, 1, 65537), (1, 65537, 1)])
def test_frames_beyond_65536_pixels_refused(tmp_path, shape):
    data = da.zeros(shape, dtype=np.uint8, chunks=shape)
    _refused(tmp_path, make_signal(data), "1..65536 pixels")


def test_frame_header_extra_bytes_beyond_the_limit_refused(tmp_path):
    sig = make_signal(make_frames(1))
    _refused(tmp_path, sig, "frame_header_extra_bytes=1048517", frame_header_extra_bytes=2**20 - 59)
    file_writer(tmp_path / "ok.tvips", sig, frame_header_extra_bytes=2**20 - 60)
    np.testing.assert_array_equal(file_reader(tmp_path / "ok.tvips")[0]["data"], make_frames(1))


# --- bad numbers are named (class 6) -----------------------------------------------------

TEM = "Acquisition_instrument.TEM."
METADATA_FIELDS = [
    "beam_energy",
    "beam_current",
    "magnification",
    "Stage.x",
    "Stage.y",
    "Stage.z",
    "Stage.tilt_alpha",
    "Stage.tilt_beta",
]
BAD_NUMBERS = st.sampled_from(
    [float("nan"), float("inf"), -float("inf"), "abc", "", "nan", [1], {"a": 1}, 1e300]
)


def _set(tree: dict, dotted: str, value) -> None:
    *path, last = dotted.split(".")
    for key in path:
        tree = tree.setdefault(key, {})
    tree[last] = value


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from(METADATA_FIELDS), value=BAD_NUMBERS)
def test_bad_metadata_numbers_name_the_field(tmp_path_factory, field, value):
    d = tmp_path_factory.mktemp("md")
    sig = make_signal(make_frames(2))
    _set(sig["metadata"], TEM + field, value)
    if value == 1e300 and field in ("beam_energy", "magnification"):
        match = "does not fit"  # a finite number, too big for an unsigned header field
    else:
        match = "not a (finite )?number|does not fit a 32-bit float"
    with pytest.raises(ValueError, match=match) as e:
        file_writer(d / "m.tvips", sig, show_progressbar=False)
    assert TEM + field in str(e.value)
    assert os.listdir(d) == []


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(axis=st.sampled_from([0, 1, 2]), key=st.sampled_from(["scale", "offset"]), value=BAD_NUMBERS)
def test_bad_axis_numbers_name_the_axis(tmp_path_factory, axis, key, value):
    d = tmp_path_factory.mktemp("ax")
    sig = make_signal(make_frames(2))
    sig["axes"][axis][key] = value
    used = axis == 1 or key == "offset" and axis == 2 or axis == 0 and key == "scale"
    if not used:  # the time axis' offset and dx's scale are not stored
        file_writer(d / "a.tvips", sig, show_progressbar=False)
        return
    with pytest.raises(ValueError, match=rf"axes\[{axis}\] \('\w+'\) {key}\b") as e:
        file_writer(d / "a.tvips", sig, show_progressbar=False)
    assert "cannot convert" not in str(e.value)
    assert os.listdir(d) == []


def test_dask_input_of_unknown_chunk_sizes_is_named(tmp_path):
    frames = da.from_array(make_frames(4), chunks=2)
    unknown = frames[frames[:, 0, 0] >= 0]  # boolean indexing: unknown chunk sizes
    _refused(tmp_path, {"data": unknown}, "unknown chunk sizes.*compute_chunk_sizes")


# --- the pieces on their own -------------------------------------------------------------


def test_check_data_alone():
    assert check_data(np.zeros((2, 3, 4), np.uint16)) == (np.dtype(np.uint16), (2, 3, 4))
    with pytest.raises(ValueError, match="dtype int8"):
        check_data(np.zeros((2, 3, 4), np.int8))


def test_chunk_groups_alone():
    # chunks of 3, 3, 3, 1 frames of 10 bytes, groups of up to 60 bytes; a big chunk alone
    assert chunk_groups((3, 3, 3, 1), 10, 60) == [range(0, 2), range(2, 4)]
    assert chunk_groups((9, 1), 10, 60) == [range(0, 1), range(1, 2)]
    assert chunk_groups((), 10, 60) == []


def test_series_header_and_records_alone():
    layout = RecordLayout(76, 4, 5, "<u2", 2)
    sig = make_signal(make_frames(6).reshape(2, 3, 4, 5))
    header = series_header(layout, sig["axes"], sig["metadata"])
    assert len(header) == 256 and int.from_bytes(header[36:40], "little") == 3  # pixelsize
    fields = frame_fields(layout, (2, 3), sig["axes"], sig["metadata"], None)
    records = pack_records(make_frames(6)[3:], 3, layout, fields)
    assert records.dtype.itemsize == layout.record_bytes
    np.testing.assert_array_equal(records["header"]["rotidx"], [4, 5, 6])
    np.testing.assert_array_equal(records["header"]["Scan_y"], [1, 1, 1])
    np.testing.assert_array_equal(records["header"]["Scan_x"], [0, 1, 2])
    assert records["header"].dtype == frame_header_dtype(2, 76)
    slabs = list(record_slabs(make_frames(6), 6, layout, fields, 1, 2 * layout.record_bytes))
    assert [len(s) for s in slabs] == [2, 2, 2]
    np.testing.assert_array_equal(np.concatenate([s["data"] for s in slabs]), make_frames(6))
