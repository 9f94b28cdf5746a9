"""The lazy graph on a real dask.distributed cluster with worker processes."""

import os

import numpy as np
import pytest
from clusters import local_client
from tvips_factory import make_frames, reference_scan, tvips_bytes, write_parts

from intake_tvips import file_reader


@pytest.fixture(scope="module")
def client():
    with local_client(default=True) as client:
        yield client


def test_workers_read_their_own_ranges(client, tmp_path):
    frames = make_frames(3 + 12 * 10, (16, 16))
    first = write_parts(tmp_path / "d", tvips_bytes(frames, records_per_part=[40, 40, 43]))
    kw = dict(scan_shape=(12, 10), scan_start_frame=3, winding_scan_axis="x", hysteresis=2)
    data = file_reader(first, lazy=True, rechunking={0: 2}, **kw)[0]["data"]
    assert data.npartitions == 6

    def where_am_i(block):
        return np.full(block.shape[:2], os.getpid())

    result = data.compute()  # the distributed client is the default scheduler here
    np.testing.assert_array_equal(result, reference_scan(frames, (12, 10), 3, "x", 2))
    pids = data.map_blocks(where_am_i, drop_axis=(2, 3), dtype=int).compute()
    assert os.getpid() not in set(np.unique(pids).tolist())  # read by worker processes
    assert int(data.sum().compute()) == int(result.sum(dtype=np.int64))


def test_results_equal_threaded(client, tmp_path):
    frames = make_frames(64, (8, 8))
    first = write_parts(tmp_path / "t", tvips_bytes(frames, records_per_part=[20, 44]))
    data = file_reader(first, lazy=True, scan_shape=(8, 8), winding_scan_axis="y")[0]["data"]
    vbf = data[..., 2:6, 2:6].sum(axis=(-2, -1))
    np.testing.assert_array_equal(client.compute(vbf).result(), vbf.compute(scheduler="threads"))


def _remote_dataset(seed):
    frames = make_frames(3 + 12 * 10, (16, 16), seed=seed)
    return frames, tvips_bytes(frames, records_per_part=[50, 73])


def test_workers_read_s3_with_storage_options(client, s3):
    import fsspec

    frames, blobs = _remote_dataset(5)
    fs = fsspec.filesystem("s3", **s3.storage_options)
    for k, blob in enumerate(blobs):
        fs.pipe_file(f"tvips/cluster_{k:03d}.tvips", blob)
    kw = dict(scan_shape=(12, 10), scan_start_frame=3, winding_scan_axis="x", hysteresis=2)
    url = "s3://tvips/cluster_000.tvips"
    data = file_reader(url, lazy=True, rechunking={0: 4}, storage_options=s3.storage_options, **kw)
    data = data[0]["data"]
    s3.log.clear()
    # the graph carries only plain data: the endpoint and keys travel in storage_options
    result = client.compute(data).result()
    np.testing.assert_array_equal(result, reference_scan(frames, (12, 10), 3, "x", 2))
    np.testing.assert_array_equal(result, data.compute(scheduler="threads"))
    assert s3.log.count("GET", ranged=True) >= data.npartitions  # the workers asked the server


def test_workers_read_http(client, http):
    from pathlib import Path

    frames, blobs = _remote_dataset(6)
    for k, blob in enumerate(blobs):
        (Path(http.root) / f"cluster_{k:03d}.tvips").write_bytes(blob)
    url = f"{http.url}/cluster_000.tvips"
    data = file_reader(url, lazy=True, scan_shape=(12, 10), scan_start_frame=3)[0]["data"]
    http.log.clear()
    result = client.compute(data).result()
    np.testing.assert_array_equal(result, reference_scan(frames, (12, 10), 3))
    assert http.log.count("GET", ranged=True) >= 1


def test_xarray_backend_dataset_on_workers(client, tmp_path):
    import xarray as xr

    from intake_tvips.integrations.xarray_backend import TVIPSBackendEntrypoint

    frames = make_frames(3 + 12 * 10, (16, 16))
    first = write_parts(tmp_path / "x", tvips_bytes(frames, records_per_part=[40, 83]))
    kw = dict(scan_shape=(12, 10), scan_start_frame=3, winding_scan_axis="x", hysteresis=2)
    import dask

    with dask.config.set({"array.chunk-size": "16KiB"}):  # 3 scan rows of 5 KiB a chunk
        ds = xr.open_dataset(first, engine=TVIPSBackendEntrypoint, chunks={}, **kw)
    assert ds["data"].chunks[0] == (3, 3, 3, 3)
    vbf = ds["data"][..., 4:12, 4:12].sum(("dy", "dx"))
    expected = reference_scan(frames, (12, 10), 3, "x", 2)[..., 4:12, 4:12].sum(axis=(-2, -1))
    np.testing.assert_array_equal(client.compute(vbf.data).result(), expected)
