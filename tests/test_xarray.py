"""xarray views: TVIPSSource.to_xarray, the Intake 2 xarray reader, HyperSpy (if installed)."""

import json

import numpy as np
import pytest
from test_cli import FRAME, SCAN_KW, SHAPE, START, N, recording_parts
from tvips_factory import make_frames, reference_scan, tvips_bytes, write_parts

from intake_tvips import file_reader
from intake_tvips.integrations.intake_source import TVIPSSource
from intake_tvips.integrations.xarray_view import decode_attrs

xr = pytest.importorskip("xarray")


@pytest.fixture
def local(tmp_path):
    return write_parts(tmp_path / "scan", recording_parts()[1])


def test_scan_to_xarray(local):
    src = TVIPSSource(local, **SCAN_KW)
    arr = src.to_xarray()
    assert isinstance(arr, xr.DataArray) and arr.dims == ("y", "x", "dy", "dx")
    assert arr.chunks is not None  # lazy
    frames = recording_parts()[0]
    np.testing.assert_array_equal(arr.values, reference_scan(frames, SHAPE, START, "x"))
    axes = file_reader(local, **SCAN_KW)[0]["axes"]
    for dim, ax in zip(arr.dims, axes):
        coord = arr.coords[dim]
        np.testing.assert_allclose(coord.values, ax["offset"] + ax["scale"] * np.arange(ax["size"]))
        assert coord.attrs["units"] == ax["units"]
    assert arr.coords["dx"].values[:2].tolist() == [5.0, 8.0]  # offsetx 5, pixelsize 3
    attrs = decode_attrs(arr.attrs)
    assert attrs["tvips_header"]["dimx"] == FRAME[1]
    assert attrs["metadata"]["General"]["time_zone"] == "UTC"
    assert attrs["scan_parameters"]["winding_scan_axis"] == "x"
    assert attrs["source"] == local
    json.dumps(arr.attrs)  # JSON-safe
    # netCDF-safe: flat strings and numbers only
    assert all(isinstance(v, (str, int, float)) for v in arr.attrs.values())


def test_stack_and_3d_scan_dims(tmp_path):
    frames = make_frames(24, (3, 4))
    first = write_parts(tmp_path / "s", tvips_bytes(frames))
    stack = TVIPSSource(first).to_xarray()
    assert stack.dims == ("time", "dy", "dx")
    times = stack.coords["time"].values
    assert times.dtype == np.dtype("datetime64[ns]")
    assert times[0] == np.datetime64("1993-06-18T10:34:56", "ns")  # the first frame, UTC
    assert (np.diff(times) == np.timedelta64(10, "ms")).all()
    three = TVIPSSource(first, scan_shape=[2, 3, 4]).to_xarray()
    assert three.dims == ("scan_0", "y", "x", "dy", "dx")
    np.testing.assert_array_equal(three.values, frames.reshape(2, 3, 4, 3, 4))


def test_source_frame_headers_and_detect_scan(local):
    src = TVIPSSource(local)
    table = src.frame_headers()
    assert table.size == N and "Scan_x" in table.dtype.names
    assert src.frame_headers() is table  # cached
    found = src.detect_scan()
    assert found.method == "scan_xy" and found.scan_shape == SHAPE
    assert found.scan_start_frame == START and found.winding_scan_axis == "x"
    src.close()
    assert src.frame_headers() is not table


def test_intake2_xarray_reader(local):
    from intake_tvips.integrations.intake_reader import TVIPSFile, TVIPSReader, TVIPSXarrayReader

    data = TVIPSFile(local)
    reader = TVIPSXarrayReader(
        data, scan_shape=list(SHAPE), scan_start_frame=START, winding_scan_axis="x"
    )
    assert reader.output_instance == "xarray:DataArray"
    arr = reader.read()
    assert isinstance(arr, xr.DataArray) and arr.dims == ("y", "x", "dy", "dx")
    expected = TVIPSReader(data, **SCAN_KW).read().compute()
    np.testing.assert_array_equal(arr.values, expected)
    assert decode_attrs(arr.attrs)["scan_parameters"]["scan_start_frame"] == START
    # found by output type, as Intake 2 picks readers
    via = data.to_reader(outtype="xarray", scan_shape=list(SHAPE), scan_start_frame=START)
    assert isinstance(via, TVIPSXarrayReader)
    assert TVIPSXarrayReader in data.possible_readers["importable"]


def test_hyperspy_signal2d_from_file_reader(local):
    hs = pytest.importorskip("hyperspy.api")
    signal = hs.signals.Signal2D(**file_reader(local, **SCAN_KW)[0])
    assert signal.data.shape == (*SHAPE, *FRAME)
    assert signal.axes_manager.signal_shape == FRAME[::-1]
    assert signal.axes_manager.navigation_shape == SHAPE[::-1]
    assert signal.original_metadata.tvips_header.dimx == FRAME[1]
