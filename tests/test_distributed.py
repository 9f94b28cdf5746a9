"""The lazy graph on a real dask.distributed cluster with worker processes."""

import os

import numpy as np
import pytest
from distributed import Client, LocalCluster
from tvips_factory import make_frames, reference_scan, tvips_bytes, write_parts

from intake_tvips import file_reader


@pytest.fixture(scope="module")
def client():
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster, Client(cluster) as client:
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
    np.testing.assert_array_equal(
        client.compute(vbf).result(), vbf.compute(scheduler="threads")
    )
