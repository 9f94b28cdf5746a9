"""The xarray backend ``tvips``: open_dataset/open_dataarray, laziness, netCDF and Zarr."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import fsspec
import numpy as np
import pytest
import xarray as xr
from test_cli import FRAME, SCAN_KW, SHAPE, START, recording_parts
from tvips_factory import make_frames, reference_scan, tvips_bytes, write_parts

from intake_tvips import file_reader
from intake_tvips.integrations.intake_source import TVIPSSource
from intake_tvips.integrations.xarray_backend import TVIPSBackendEntrypoint
from intake_tvips.integrations.xarray_view import decode_attrs

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).parent.parent
ENGINE = TVIPSBackendEntrypoint  # the name "tvips" needs the installed entry point


@pytest.fixture
def local(tmp_path):
    return write_parts(tmp_path / "scan", recording_parts()[1])


@pytest.fixture
def stack(tmp_path):
    frames = make_frames(5, (3, 4))
    return frames, write_parts(tmp_path / "stack", tvips_bytes(frames, records_per_part=[2, 3]))


def test_entry_point_declared_in_pyproject():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    target = meta["project"]["entry-points"]["xarray.backends"]["tvips"]
    assert target == "intake_tvips.integrations.xarray_backend:TVIPSBackendEntrypoint"


def test_scan_dataset_matches_to_xarray_and_reader(local):
    ds = xr.open_dataset(local, engine=ENGINE, **SCAN_KW)
    expected = TVIPSSource(local, **SCAN_KW).to_xarray()
    arr = ds["data"]
    assert arr.dims == expected.dims == ("y", "x", "dy", "dx")
    assert arr.dtype == np.uint16
    for dim in arr.dims:
        xr.testing.assert_identical(arr.coords[dim], expected.coords[dim])
    assert arr.attrs == expected.attrs
    frames = recording_parts()[0]
    np.testing.assert_array_equal(arr.values, reference_scan(frames, SHAPE, START, "x"))
    attrs = decode_attrs(arr.attrs)
    assert attrs["tvips_header"]["dimx"] == FRAME[1]
    assert attrs["scan_parameters"]["winding_scan_axis"] == "x"


@pytest.mark.filterwarnings("ignore:The specified chunks separate:UserWarning")
def test_lazy_by_default_and_dask_with_chunks(local):
    lazy = xr.open_dataset(local, engine=ENGINE, **SCAN_KW)
    assert lazy["data"].chunks is None and not lazy["data"].variable._in_memory
    chunked = xr.open_dataset(local, engine=ENGINE, chunks={}, **SCAN_KW)
    reader = file_reader(local, lazy=True, **SCAN_KW)[0]["data"]
    assert chunked["data"].chunks == reader.chunks  # the reader's own chunks
    np.testing.assert_array_equal(chunked["data"].values, reader.compute())
    smaller = xr.open_dataset(local, engine=ENGINE, chunks={"y": 2}, **SCAN_KW)
    assert smaller["data"].chunks[0] == (2, 2, 2)
    np.testing.assert_array_equal(smaller["data"].values, reader.compute())


@pytest.mark.parametrize(
    "key",
    [
        (slice(1, 5, 2), slice(None, None, -1), 1),
        (3, -2),
        (slice(None, None, -3), slice(5, 2, -1), slice(2, 7), slice(None, None, 4)),
        (slice(2, 2),),
        ([0, 4], [1, 1, 3]),  # outer indexing: read as a basic block, then picked
    ],
)
def test_selections_read_what_they_select(local, key):
    arr = xr.open_dataset(local, engine=ENGINE, **SCAN_KW)["data"]
    expected = file_reader(local, **SCAN_KW)[0]["data"]
    got = arr[key].values
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(
        got, expected[np.ix_(*key)] if isinstance(key[0], list) else expected[key]
    )


def test_open_dataarray_and_negative_start(local):
    kw = dict(scan_shape=(3, 4), scan_start_frame=-5, winding_scan_axis="y", hysteresis=1)
    arr = xr.open_dataarray(local, engine=ENGINE, **kw)
    assert arr.name == "data"
    frames = recording_parts()[0]
    np.testing.assert_array_equal(arr.values, reference_scan(frames, (3, 4), -5, "y", 1))


def test_stack_time_is_datetime64(stack):
    frames, url = stack
    arr = xr.open_dataarray(url, engine=ENGINE)
    assert arr.dims == ("time", "dy", "dx")
    times = arr.coords["time"].values
    assert times.dtype == np.dtype("datetime64[ns]")
    assert times[0] == np.datetime64("1993-06-18T10:34:56", "ns")
    assert (np.diff(times) == np.timedelta64(10, "ms")).all()
    np.testing.assert_array_equal(arr.values, frames)


@pytest.mark.parametrize("chunks", [None, {}])
def test_netcdf_and_zarr_round_trips(local, stack, tmp_path, chunks):
    for i, (url, kw) in enumerate([(local, SCAN_KW), (stack[1], {})]):
        ds = xr.open_dataset(url, engine=ENGINE, chunks=chunks, **kw)
        # netCDF4 format (h5netcdf); netCDF3 (scipy) has no uint16
        ds.to_netcdf(tmp_path / f"{i}.nc", engine="h5netcdf")
        with xr.open_dataset(tmp_path / f"{i}.nc", engine="h5netcdf") as back:
            xr.testing.assert_identical(back.load(), ds.load())
            assert back["data"].dtype == ds["data"].dtype
        ds.to_zarr(tmp_path / f"{i}.zarr", consolidated=False)
        back = xr.open_zarr(tmp_path / f"{i}.zarr", consolidated=False)
        xr.testing.assert_identical(back.load(), ds.load())


def test_to_xarray_saves_to_netcdf(stack, tmp_path):
    arr = TVIPSSource(stack[1]).to_xarray()
    arr.to_netcdf(tmp_path / "a.nc", engine="h5netcdf")
    with xr.open_dataarray(tmp_path / "a.nc", engine="h5netcdf") as back:
        xr.testing.assert_identical(back.load(), arr.load())


def test_drop_variables_and_guess_can_open(local):
    ds = xr.open_dataset(local, engine=ENGINE, drop_variables=["dx"], **SCAN_KW)
    assert "dx" not in ds.coords and ds["data"].dims[-1] == "dx"
    entry = TVIPSBackendEntrypoint()
    assert entry.guess_can_open(local) and entry.guess_can_open(Path(local))
    assert entry.guess_can_open("s3://b/run/SCAN_000.TVIPS")
    assert not entry.guess_can_open("a.nc") and not entry.guess_can_open(b"x")


def test_bad_scan_parameters_are_clear(local):
    with pytest.raises(ValueError, match="needs frame index"):
        xr.open_dataset(local, engine=ENGINE, scan_shape=(100, 100))
    with pytest.raises(ValueError, match="winding_scan_axis"):
        xr.open_dataset(local, engine=ENGINE, scan_shape=(2, 2), winding_scan_axis="z")


def test_s3_with_storage_options(s3):
    fs = fsspec.filesystem("s3", **s3.storage_options)
    url = "s3://" + write_parts("tvips/xr/scan", recording_parts()[1], fs=fs)
    fs.invalidate_cache()
    ds = xr.open_dataset(
        url, engine=ENGINE, chunks={}, storage_options=s3.storage_options, **SCAN_KW
    )
    frames = recording_parts()[0]
    np.testing.assert_array_equal(ds["data"].values, reference_scan(frames, SHAPE, START, "x"))
    assert "testing" not in str(ds.attrs) + str(ds["data"].attrs)


def _probe_env(tmp_path) -> dict:
    """PYTHONPATH with this worktree and a dist-info declaring pyproject's xarray entry
    points (the venv's own install metadata may belong to another checkout)."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    eps = meta["project"]["entry-points"]["xarray.backends"]
    info = tmp_path / "site" / "intake_tvips_probe-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: intake-tvips-probe\nVersion: 0\n")
    lines = "".join(f"{k} = {v}\n" for k, v in eps.items())
    (info / "entry_points.txt").write_text(f"[xarray.backends]\n{lines}")
    path = os.pathsep.join([str(ROOT), str(tmp_path / "site")])
    return dict(os.environ, PYTHONPATH=path)


def test_engine_by_name_through_the_entry_point(local, tmp_path):
    code = textwrap.dedent(
        f"""
        import xarray as xr
        assert "tvips" in xr.backends.list_engines()
        ds = xr.open_dataset({local!r}, engine="tvips", scan_shape=(6, 8), scan_start_frame=3)
        print(ds["data"].shape, xr.backends.list_engines()["tvips"].description)
        ds2 = xr.open_dataset({local!r}, scan_shape=(6, 8), scan_start_frame=3)  # guessed
        assert ds2["data"].shape == ds["data"].shape
        """
    )
    env = _probe_env(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("(6, 8, 9, 10) TVIPS")


def test_engine_by_name_installed(local):
    """Passes once the package is installed with this pyproject's entry points."""
    ds = xr.open_dataset(local, engine="tvips", **SCAN_KW)
    assert ds["data"].shape == SHAPE + FRAME


def test_open_reads_headers_only(countmem):
    frames = make_frames(40, (32, 32))
    first = write_parts(
        "countmem://xr", tvips_bytes(frames, records_per_part=[20, 20]), fs=countmem
    )
    countmem.log.clear()
    arr = xr.open_dataarray(first, engine=ENGINE, scan_shape=(5, 8))
    assert sum(r[3] for r in countmem.log if r[1] != "open") < 2048  # no pixels
    countmem.log.clear()
    np.testing.assert_array_equal(arr[2, 3].values, frames[19])  # one frame: one range
    assert [r[3] for r in countmem.log if r[1] != "open"] == [60 + 32 * 32 * 2]
