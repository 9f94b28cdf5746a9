"""``intake_tvips.to_zarr`` and ``intake-tvips convert`` at cluster scale: Zarr v3 with a
shard per read task, locally, to the moto S3 server, on a 2-process LocalCluster."""

from __future__ import annotations

import json
import sys

import dask.array as da
import fsspec
import numpy as np
import pytest
import xarray as xr
import zarr
from clusters import local_client
from distributed import Client, get_task_stream
from tvips_factory import make_frames, reference_scan, tvips_bytes, write_parts

from intake_tvips import file_reader, to_zarr
from intake_tvips.cli import main
from intake_tvips.integrations.xarray_view import decode_attrs
from intake_tvips.writers import zarr as zarr_export
from intake_tvips.writers.zarr import plan_layout, write_tasks

SCAN = dict(scan_shape=(12, 10), scan_start_frame=3, winding_scan_axis="x", hysteresis=2)
FRAME = (32, 32)  # 2 KiB of uint16 per frame: 124 frames, 254 KiB in all
PARTS = [40, 41, 43]


def _frames(seed=0):
    return make_frames(sum(PARTS), FRAME, seed=seed)


@pytest.fixture
def local(tmp_path):
    frames = _frames()
    (tmp_path / "in").mkdir()
    first = write_parts(tmp_path / "in" / "scan", tvips_bytes(frames, records_per_part=PARTS))
    return frames, first


@pytest.fixture
def s3_source(s3):
    frames = _frames(seed=4)
    fs = fsspec.filesystem("s3", **s3.storage_options)
    for k, blob in enumerate(tvips_bytes(frames, records_per_part=PARTS)):
        fs.pipe_file(f"tvips/conv/scan_{k:03d}.tvips", blob)
    fs.invalidate_cache()
    return frames, "s3://tvips/conv/scan_000.tvips"


@pytest.fixture(scope="module")
def cluster_client():
    with local_client() as client:
        yield client


def _expected(frames):
    return reference_scan(frames, SCAN["scan_shape"], 3, "x", 2)


def _check(url, frames, storage_options=None, source=None, **reader):
    """Values read back with xarray and with zarr equal file_reader's (and the reference)."""
    opened = xr.open_zarr(url, storage_options=storage_options)["data"]
    assert opened.dims == ("y", "x", "dy", "dx")
    want = file_reader(source, storage_options=reader.get("source_options"), **SCAN)[0]["data"]
    np.testing.assert_array_equal(opened.values, want)
    np.testing.assert_array_equal(want, _expected(frames))
    group = zarr.open_group(url, mode="r", storage_options=storage_options)
    np.testing.assert_array_equal(group["data"][...], want)
    return group["data"]


# ---------------------------------------------------------------- the layout


@pytest.mark.parametrize(
    "chunks, frame_ndim, itemsize, limit, inner, shard",
    [
        # scan rows in 3 dask chunks of 4 rows, x whole: rows of 10 frames of 2 KiB
        (((4, 4, 4), (10,), (32,), (32,)), 2, 2, 20 * 2048, (2, 10, 32, 32), (4, 10, 32, 32)),
        # a chunk limit below a row: x (one dask chunk) split in pieces, the shard rounded up
        (((4, 4, 4), (10,), (32,), (32,)), 2, 2, 3 * 2048, (1, 3, 32, 32), (4, 12, 32, 32)),
        # frames larger than the limit: one frame per chunk
        (((4, 4), (10,), (32,), (32,)), 2, 2, 100, (1, 1, 32, 32), (4, 10, 32, 32)),
        # a stack: time split in dask chunks of 64, chunks divide them
        (((64, 64, 10), (32,), (32,)), 2, 2, 24 * 2048, (16, 32, 32), (64, 32, 32)),
        # rows of 7 in several dask chunks, limit 3 rows: a divisor of 7 -> 1 row
        (((7, 7), (5,), (8,), (8,)), 2, 1, 3 * 5 * 64, (1, 5, 8, 8), (7, 5, 8, 8)),
    ],
)
def test_plan_layout(chunks, frame_ndim, itemsize, limit, inner, shard):
    got_inner, got_shard = plan_layout(chunks, frame_ndim, itemsize, limit)
    assert (got_inner, got_shard) == (inner, shard)
    assert all(s % c == 0 for s, c in zip(got_shard, got_inner))  # whole chunks per shard
    assert np.prod(got_inner) * itemsize <= max(limit, np.prod(got_inner[-2:]) * itemsize)


# ---------------------------------------------------------------- local and S3


def test_to_zarr_local_one_shard_per_read_task(local, tmp_path):
    frames, first = local
    out = tmp_path / "out.zarr"
    # 12 scan rows in read chunks of 3 rows (60 KiB): 4 shards of inner chunks <= 8 KiB
    done = to_zarr(first, str(out), shard_bytes=3 * 10 * 2048, chunk_bytes=8 * 2**10, **SCAN)
    assert done["shards"] == (3, 12, 32, 32) and done["chunks"] == (1, 4, 32, 32)
    assert done["n_shards"] == 4
    arr = _check(str(out), frames, source=first)
    assert arr.shards == (3, 12, 32, 32) and arr.chunks == (1, 4, 32, 32)
    # one object per shard, nothing else under the array's chunk keys
    objects = [p for p in (out / "data" / "c").rglob("*") if p.is_file()]
    assert len(objects) == 4
    attrs = decode_attrs(xr.open_zarr(str(out))["data"].attrs)  # nested ones are JSON text
    assert attrs["scan_parameters"]["scan_shape"] == [12, 10]
    assert attrs["source"].endswith("scan_000.tvips")

    with pytest.raises(FileExistsError, match="exists"):
        to_zarr(first, str(out), **SCAN)
    again = to_zarr(first, str(out), overwrite=True, scan_shape=None)
    assert again["shape"] == (sum(PARTS), *FRAME)
    assert xr.open_zarr(str(out))["data"].dims == ("time", "dy", "dx")


def test_to_zarr_s3_writes_one_put_per_shard(s3, s3_source):
    frames, url = s3_source
    opts = s3.storage_options
    out = "s3://tvips/conv/out.zarr"
    s3.log.clear()
    done = to_zarr(
        url, out, storage_options=opts, source_options=opts, shard_bytes=4 * 10 * 2048, **SCAN
    )
    shard_puts = s3.log.count("PUT", contains="/out.zarr/data/c/")
    assert shard_puts == done["n_shards"] == 3
    _check(out, frames, storage_options=opts, source=url, source_options=opts)


def test_to_zarr_array_from_catalog_source_and_bad_input(local, tmp_path):
    frames, first = local
    from intake_tvips.integrations.xarray_view import signal_to_xarray

    signal = file_reader(first, lazy=True, rechunking={0: 5}, **SCAN)[0]  # chunks 5, 5, 2
    done = to_zarr(signal_to_xarray(signal), str(tmp_path / "a.zarr"))
    assert done["shards"][0] == 5 and done["n_shards"] == 3
    _check(str(tmp_path / "a.zarr"), frames, source=first)
    with pytest.raises(TypeError, match="xarray.DataArray or a recording"):
        to_zarr(np.zeros((2, 2)), str(tmp_path / "b.zarr"))


def test_write_tasks_store_each_block_once_and_show_no_credentials(s3, tmp_path):
    """One flag per block, each block written where it lies; the graph's text (what a
    dashboard or a log shows) holds no secret of the store's options."""
    url = "s3://tvips/conv/tasks.zarr"
    zarr.create_array(
        zarr.storage.FsspecStore.from_url(url, storage_options=s3.storage_options),
        name="data",
        shape=(6, 4),
        chunks=(1, 4),
        shards=(2, 4),
        dtype="u2",
    )
    data = da.from_array(np.arange(24, dtype="u2").reshape(6, 4), chunks=(2, 4))
    flags = write_tasks(data, zarr_export._open_target(url, s3.storage_options))
    assert flags.shape == (3, 1) and flags.npartitions == 3
    secret = s3.storage_options["secret"]
    assert secret not in str(dict(flags.__dask_graph__()))
    s3.log.clear()
    assert flags.compute(scheduler="threads").all()
    assert s3.log.count("PUT", contains="/tasks.zarr/data/c/") == 3  # a PUT per shard
    group = zarr.open_group(url, mode="r", storage_options=s3.storage_options)
    np.testing.assert_array_equal(group["data"][...], np.arange(24).reshape(6, 4))


def test_to_zarr_progress_on_threads(local, tmp_path, capsys):
    frames, first = local
    to_zarr(first, str(tmp_path / "p.zarr"), shard_bytes=3 * 10 * 2048, progress=True, **SCAN)
    assert "writing zarr" in capsys.readouterr().err
    _check(str(tmp_path / "p.zarr"), frames, source=first)
    to_zarr(first, str(tmp_path / "q.zarr"), shard_bytes=3 * 10 * 2048, **SCAN)
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------- on a cluster


def test_to_zarr_on_a_two_process_cluster_from_s3(cluster_client, s3, s3_source, capsys):
    frames, url = s3_source
    opts = s3.storage_options
    out = "s3://tvips/conv/cluster.zarr"
    with get_task_stream(client=cluster_client) as stream:
        done = to_zarr(
            url,
            out,
            storage_options=opts,
            source_options=opts,
            client=cluster_client,
            progress=True,
            shard_bytes=2 * 10 * 2048,
            **SCAN,
        )
    assert done["n_shards"] == 6
    err = capsys.readouterr().err
    assert "writing zarr" in err and "6/6" in err
    _check(out, frames, storage_options=opts, source=url, source_options=opts)
    # the workers wrote the shards
    assert _written_on_workers(stream) == 6


def test_to_zarr_uses_the_default_client_like_dask(cluster_client, local, tmp_path):
    frames, first = local
    with (
        Client(cluster_client.scheduler.address) as client,  # the default client from here on
        get_task_stream(client=client) as stream,
    ):
        to_zarr(first, str(tmp_path / "d.zarr"), shard_bytes=4 * 10 * 2048, **SCAN)
    assert _written_on_workers(stream) == 3
    _check(str(tmp_path / "d.zarr"), frames, source=first)


def _written_on_workers(stream) -> int:
    """How many write tasks (one per shard) the cluster's workers ran (dask fuses each
    with its read: one task reads a chunk and stores it as one shard)."""
    keys = [t["key"] for t in stream.data if isinstance(t["key"], tuple)]
    return sum(k[0].startswith("tvips-zarr-written-") for k in keys)


def test_cli_convert_on_a_scheduler_address(cluster_client, local, tmp_path, capsys):
    frames, first = local
    out = tmp_path / "sched.zarr"
    argv = ["convert", first, str(out), "--scan-shape", "12x10", "--scan-start-frame", "3"]
    argv += ["--winding", "x", "--hysteresis", "2", "--chunk-size", "40KiB"]
    code = main(argv + ["--scheduler", cluster_client.scheduler.address, "--progress"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    assert "shards of" in stdout and "writing zarr" in err
    _check(str(out), frames, source=first)


def test_cli_convert_with_local_workers_to_s3(s3, s3_source, capsys):
    frames, url = s3_source
    opts = []
    for key, value in s3.storage_options.items():
        opts += ["--storage-option", f"{key}={json.dumps(value)}"]
    out = "s3://tvips/conv/workers.zarr"
    argv = ["convert", url, out, "--scan-shape", "12x10", "--scan-start-frame", "3"]
    argv += ["--winding", "x", "--hysteresis", "2", "--workers", "2", "--no-progress", *opts]
    code = main(argv)
    stdout, err = capsys.readouterr()
    assert code == 0, err
    _check(
        out,
        frames,
        storage_options=s3.storage_options,
        source=url,
        source_options=s3.storage_options,
    )


# ---------------------------------------------------------------- zarr missing or too old


class _OldZarr:
    __version__ = "2.18.3"


@pytest.mark.parametrize("installed", [None, _OldZarr()], ids=["missing", "zarr2"])
def test_convert_without_zarr3_is_one_line_naming_the_extra(
    local, tmp_path, capsys, monkeypatch, installed
):
    _, first = local
    monkeypatch.setitem(sys.modules, "zarr", installed)  # None: "import zarr" fails
    code = main(["convert", first, str(tmp_path / "o.zarr")])
    _, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "zarr>=3" in lines[0] and "intake-tvips[convert]" in lines[0]
    assert ("2.18.3" in lines[0]) == (installed is not None)
    assert not (tmp_path / "o.zarr").exists()
    with pytest.raises(ImportError, match=r"intake-tvips\[convert\]"):
        to_zarr(first, str(tmp_path / "o.zarr"))
