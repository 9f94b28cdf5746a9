"""Reading from real servers on 127.0.0.1: S3 (moto server mode) and HTTP with Range."""

from pathlib import Path

import fsspec
import numpy as np
import pytest
from tvips_factory import make_frames, reference_scan, tvips_bytes

import intake_tvips
from intake_tvips import file_reader

SCAN = dict(scan_shape=(12, 10), scan_start_frame=3, winding_scan_axis="x", hysteresis=2)
PARTS = [40, 41, 43]  # 124 frames: 3 junk + 120 scan + 1 trailing


def _dataset(seed=0):
    frames = make_frames(sum(PARTS), (16, 16), seed=seed)
    return frames, tvips_bytes(frames, records_per_part=PARTS)


def _put_s3(server, key, blobs) -> str:
    fs = fsspec.filesystem("s3", **server.storage_options)
    for k, blob in enumerate(blobs):
        fs.pipe_file(f"tvips/{key}_{k:03d}.tvips", blob)
    fs.invalidate_cache()
    server.log.clear()
    return f"s3://tvips/{key}_000.tvips"


def _put_http(server, name, blobs) -> str:
    for k, blob in enumerate(blobs):
        (Path(server.root) / f"{name}_{k:03d}.tvips").write_bytes(blob)
    return f"{server.url}/{name}_000.tvips"


def _ranged_gets(log) -> int:
    return log.count("GET", ranged=True)


# ---------------------------------------------------------------- S3


@pytest.mark.parametrize("lazy", [True, False])
def test_s3_scan_equals_reference(s3, lazy):
    frames, blobs = _dataset()
    url = _put_s3(s3, "scan", blobs)
    data = file_reader(url, lazy=lazy, storage_options=s3.storage_options, **SCAN)[0]["data"]
    np.testing.assert_array_equal(np.asarray(data), reference_scan(frames, (12, 10), 3, "x", 2))
    assert s3.log.count("GET", ranged=False, contains="scan_") == 0  # no whole-object GET


def test_s3_one_request_per_chunk_and_part(s3):
    frames, blobs = _dataset()
    url = _put_s3(s3, "req", blobs)
    file_reader(url, lazy=True, storage_options=s3.storage_options, **SCAN)
    open_gets = _ranged_gets(s3.log)
    assert open_gets <= 2  # series header + first frame headers, second frame header
    # part discovery: a HEAD (and at most a listing) per part, plus one for the missing next
    assert s3.log.count("HEAD") + s3.log.count("GET", ranged=False) <= 2 * (len(PARTS) + 1)
    s3.log.clear()

    opts = s3.storage_options
    arr = file_reader(url, lazy=True, storage_options=opts, rechunking={0: 3}, **SCAN)[0]["data"]
    assert arr.npartitions == 4
    s3.log.clear()
    np.testing.assert_array_equal(arr.compute(), reference_scan(frames, (12, 10), 3, "x", 2))
    # 4 chunks of 3 rows (30 frames): chunk 0 [3, 33) in part 0, chunk 1 [33, 63) spans
    # parts 0-1, chunk 2 [63, 93) spans parts 1-2, chunk 3 [93, 123) in part 2 -> 6 ranges
    assert _ranged_gets(s3.log) == 6
    assert s3.log.count() == 6


def test_s3_auto_scan_reads_headers_concurrently(s3):
    n = 3 + 64 + 2
    frames = make_frames(n, (256, 256))  # 128 KiB frames: a range per frame header
    rot = np.r_[[0, 0, 0], np.arange(1, 65), [0, 0]]
    url = _put_s3(s3, "auto", tvips_bytes(frames, records_per_part=[30, 39], rotidx=rot))
    data = file_reader(url, scan_shape="auto", storage_options=s3.storage_options)[0]["data"]
    np.testing.assert_array_equal(data, frames[3:67].reshape(8, 8, 256, 256))
    # every frame header is a small exact range, issued concurrently, not one by one
    assert s3.log.count("GET", ranged=True) >= n - 2
    assert s3.log.max_in_flight > 1


def test_s3_missing_first_part_names_it(s3):
    with pytest.raises(FileNotFoundError, match="s3://tvips/nothing_000.tvips"):
        file_reader("s3://tvips/nothing.tvips", storage_options=s3.storage_options)


def test_s3_credentials_stay_out_of_messages_and_graph_repr(s3):
    _, blobs = _dataset()
    url = _put_s3(s3, "secret", blobs)
    opts = dict(s3.storage_options, secret="testing")
    data = file_reader(url, lazy=True, storage_options=opts, **SCAN)[0]["data"]
    task = next(iter(data.dask.to_dict().values()))
    assert "testing" not in repr(task)
    with pytest.raises(ValueError) as err:
        file_reader(url, storage_options=opts, scan_shape=(100, 100))
    assert "testing" not in str(err.value)


# ---------------------------------------------------------------- HTTP


@pytest.mark.parametrize("lazy", [True, False])
def test_http_parts_found_by_probing(http, lazy):
    frames, blobs = _dataset(seed=1)
    url = _put_http(http, "web", blobs)
    data = file_reader(url, lazy=lazy, **SCAN)[0]["data"]
    np.testing.assert_array_equal(np.asarray(data), reference_scan(frames, (12, 10), 3, "x", 2))
    # HTTP cannot list: the parts were found by asking for each next name
    probed = {r.path for r in http.log.requests if r.method == "HEAD"}
    assert {f"/web_{k:03d}.tvips" for k in range(4)} <= probed
    # never a whole-file download: un-ranged GETs only go to names that do not exist
    # (fsspec retries a 404 HEAD with a GET), probed past the end to notice a gap
    whole = {r.path for r in http.log.requests if r.method == "GET" and r.range is None}
    assert not whole & {f"/web_{k:03d}.tvips" for k in range(3)}
    assert http.log.max_in_flight > 1  # the names are probed concurrently


def test_http_request_count_is_chunks_plus_parts(http):
    frames, blobs = _dataset(seed=2)
    url = _put_http(http, "count", blobs)
    data = file_reader(url, lazy=True, rechunking={0: 3}, **SCAN)[0]["data"]
    http.log.clear()
    np.testing.assert_array_equal(data.compute(), reference_scan(frames, (12, 10), 3, "x", 2))
    assert http.log.count() == _ranged_gets(http.log) == 6


def test_http_server_ignoring_range_is_a_clear_error(http):
    from servers import NoRangeHTTPServer

    _, blobs = _dataset(seed=3)
    _put_http(http, "norange", blobs)
    plain = NoRangeHTTPServer(http.root)  # answers every GET with the whole file
    try:
        url = f"{plain.url}/norange_000.tvips"
        with pytest.raises(OSError, match="norange_000.tvips.*(Range|short)"):
            file_reader(url, **SCAN)
    finally:
        plain.stop()


# ---------------------------------------------------------------- S3 round trip


def _written_to_s3(s3, key, n_scan=16):
    """A 3-junk-frame winding scan written to S3 with our file_writer, in 3 parts."""
    from intake_tvips import file_writer

    frames = make_frames(3 + n_scan * n_scan + 1, (16, 16), seed=7)
    url = f"s3://tvips/{key}/scan_000.tvips"
    record = 60 + frames[0].nbytes
    file_writer(
        url,
        {"data": frames},
        max_file_size=256 + 100 * record,
        show_progressbar=False,
        storage_options=s3.storage_options,
    )
    return frames, url


def test_s3_file_writer_round_trip(s3):
    frames, url = _written_to_s3(s3, "written")
    fs = fsspec.filesystem("s3", **s3.storage_options)
    fs.invalidate_cache()
    assert [p.rsplit("/", 1)[1] for p in sorted(fs.ls("tvips/written"))] == [
        "scan_000.tvips",
        "scan_001.tvips",
        "scan_002.tvips",
    ]
    kw = dict(scan_shape=(16, 16), scan_start_frame=3, winding_scan_axis="x", hysteresis=2)
    for lazy in (True, False):
        data = file_reader(url, lazy=lazy, storage_options=s3.storage_options, **kw)[0]["data"]
        np.testing.assert_array_equal(np.asarray(data), reference_scan(frames, (16, 16), 3, "x", 2))


def test_s3_catalog_endpoint_from_environment(s3, monkeypatch):
    """catalogs/s3.yaml as shipped: endpoint and bucket from the environment, credentials
    found by botocore in AWS_* variables, nothing secret in the catalog."""
    import intake

    frames, _ = _written_to_s3(s3, "run7")
    monkeypatch.setenv("TVIPS_S3_ENDPOINT", s3.endpoint)
    monkeypatch.setenv("TVIPS_S3_BUCKET", "tvips")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    catalog = intake_tvips.catalogs_dir() / "s3.yaml"
    source = intake.open_catalog(str(catalog)).scan(scan_shape=[16, 16])
    assert source.urlpath == "s3://tvips/run7/scan_000.tvips"
    data = source.to_dask()
    np.testing.assert_array_equal(data.compute(), reference_scan(frames, (16, 16), 3, "x", 2))
    assert "testing" not in repr(source)
