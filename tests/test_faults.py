"""Remote faults through a fault-injecting proxy in front of the real S3 and HTTP servers.

HTTP (fsspec + aiohttp) does not retry: our reads retry transient failures (5xx, resets,
timeouts, bodies cut short) a bounded number of times (``filesystem.REMOTE_ATTEMPTS``).
S3 reads run twice, through each client: obstore (its RetryConfig: 5xx, resets, cut
bodies; we add only answers that came back short) and s3fs (retried by botocore and s3fs),
so we do not retry either again. Request counts through the proxy show the retries
happened, and that 404/403 are not retried.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import fsspec
import numpy as np
import pytest
from proxy import FaultProxy
from tvips_factory import make_frames, tvips_bytes

from intake_tvips import file_reader
from intake_tvips.errors import ShortReadError
from intake_tvips.storage import filesystem, obstore_io

PARTS = [10, 10, 10]


@pytest.fixture(scope="module")
def http_proxy(http_server):
    proxy = FaultProxy(http_server.url)
    yield proxy
    proxy.stop()


@pytest.fixture
def hproxy(http, http_proxy):
    http_proxy.clear()
    yield http_proxy
    http_proxy.clear()


@pytest.fixture(scope="module")
def s3_proxy(s3_server):
    proxy = FaultProxy(s3_server.endpoint)
    yield proxy
    proxy.stop()


@pytest.fixture(params=["obstore", "s3fs"])
def sproxy(request, s3, s3_proxy, monkeypatch):
    """The S3 proxy; the test runs once with S3 read through obstore, once through s3fs."""
    monkeypatch.setenv(obstore_io.ENV_SWITCH, "1" if request.param == "obstore" else "0")
    s3_proxy.client = request.param
    s3_proxy.clear()
    yield s3_proxy
    s3_proxy.clear()


def _frames(seed=0):
    frames = make_frames(sum(PARTS), (8, 8), seed=seed)
    return frames, tvips_bytes(frames, records_per_part=PARTS)


def _put_http(server, proxy, name, seed=0):
    frames, blobs = _frames(seed)
    for k, blob in enumerate(blobs):
        (Path(server.root) / f"{name}_{k:03d}.tvips").write_bytes(blob)
    return frames, f"{proxy.url}/{name}_000.tvips"


def _s3_opts(server, proxy, **extra) -> dict:
    opts = dict(server.storage_options, **extra)
    opts["client_kwargs"] = dict(opts["client_kwargs"], endpoint_url=proxy.url)
    return opts


def _put_s3(server, proxy, name, seed=0, **extra):
    frames, blobs = _frames(seed)
    fs = fsspec.filesystem("s3", **server.storage_options)
    for k, blob in enumerate(blobs):
        fs.pipe_file(f"tvips/{name}_{k:03d}.tvips", blob)
    opts = _s3_opts(server, proxy, **extra)
    fsspec.filesystem("s3", **opts).invalidate_cache()
    proxy.clear()
    url = f"s3://tvips/{name}_000.tvips"
    # the client the test is about is the one that reads
    assert obstore_io.usable(file_reader_spec(url, opts)) == (proxy.client == "obstore")
    return frames, url, opts


def file_reader_spec(url, opts):
    from intake_tvips.storage.filesystem import FileSystemSpec, resolve

    return FileSystemSpec.from_fs(resolve(url, opts)[0])


def _lazy(url, opts=None):
    return file_reader(url, lazy=True, rechunking={0: 15}, storage_options=opts)[0]["data"]


def _gets(proxy, part: str) -> int:
    return proxy.log.count("GET", ranged=True, contains=f"_{part}.tvips")


# ---------------------------------------------------------------- HTTP: transient faults

TRANSIENT = {
    "503": lambda p, **m: p.fail(503, times=2, **m),
    "500": lambda p, **m: p.fail(500, times=2, **m),
    "reset": lambda p, **m: p.reset(times=2, **m),
    "cut body": lambda p, **m: p.truncate(times=2, keep=0.3, **m),
    "short body": lambda p, **m: p.truncate(times=2, keep=0.3, honest=True, **m),
}


@pytest.mark.parametrize("fault", sorted(TRANSIENT))
def test_http_transient_pixel_read_faults_are_retried(hproxy, http, fault):
    frames, url = _put_http(http, hproxy, "tr")
    data = _lazy(url)  # chunks [0, 15) and [15, 30): one range each of parts 0, 1, 1, 2
    hproxy.clear()
    TRANSIENT[fault](hproxy, path="_001", ranged=True)
    np.testing.assert_array_equal(data.compute(), frames)
    assert len(hproxy.faulted) == 2
    assert _gets(hproxy, "001") == 2 + 2  # two ranges of part 1, two asked again
    assert _gets(hproxy, "000") == _gets(hproxy, "002") == 1


def test_http_eager_read_retries_too(hproxy, http):
    frames, url = _put_http(http, hproxy, "eager")
    hproxy.fail(503, times=1, path="_002", ranged=True)
    hproxy.reset(times=1, path="_001", ranged=True)
    np.testing.assert_array_equal(file_reader(url)[0]["data"], frames)
    assert len(hproxy.faulted) == 2


def test_http_timeout_is_retried(hproxy, http):
    aiohttp = pytest.importorskip("aiohttp")
    frames, url = _put_http(http, hproxy, "slow")
    opts = {"client_kwargs": {"timeout": aiohttp.ClientTimeout(total=0.5)}}
    data = _lazy(url, opts)
    hproxy.clear()
    hproxy.delay(2.0, times=1, path="_002", ranged=True)
    t0 = time.perf_counter()
    np.testing.assert_array_equal(data.compute(), frames)
    assert time.perf_counter() - t0 < 2.0  # the slow answer was not waited for
    assert _gets(hproxy, "002") == 2


def test_http_header_reads_and_discovery_are_retried(hproxy, http):
    frames, url = _put_http(http, hproxy, "disc")
    # part 2 answers 503 to HEAD and to fsspec's fallback GET, twice: before the retry
    # this passed for a missing part and the recording silently ended after part 1
    hproxy.fail(503, times=2, path="_002", method="HEAD")
    hproxy.fail(503, times=2, path="_002", method="GET", ranged=False)
    hproxy.reset(times=1, path="_000", ranged=True)  # the series header read
    out = file_reader(url)[0]["data"]
    np.testing.assert_array_equal(out, frames)
    assert len(hproxy.faulted) == 5
    assert hproxy.log.count("HEAD", contains="_002") == 3


# ---------------------------------------------------------------- HTTP: lasting faults


def test_http_server_that_keeps_failing_is_a_clear_error_in_bounded_time(hproxy, http):
    _, url = _put_http(http, hproxy, "down")
    data = _lazy(url)
    hproxy.clear()
    hproxy.fail(503, times=None, path="_001", ranged=True)
    t0 = time.perf_counter()
    with pytest.raises(OSError) as err:
        # one chunk at a time: with threads, a chunk still retrying when another one has
        # already failed would be cut off mid-retries and blur the count below
        data.compute(scheduler="sync")
    elapsed = time.perf_counter() - t0
    msg = str(err.value)
    assert re.search(r"http://127\.0\.0\.1:\d+/down_001\.tvips bytes \d+-\d+", msg), msg
    assert "3 attempts" in msg and "503" in msg
    assert not isinstance(err.value, ShortReadError)
    assert elapsed < 5, elapsed  # 0.2 + 0.4 s of back-off, not minutes
    # every range of part 1 that was asked for, three times; never more
    assert _gets(hproxy, "001") % filesystem.REMOTE_ATTEMPTS == 0
    assert _gets(hproxy, "001") <= 2 * filesystem.REMOTE_ATTEMPTS


def test_http_discovery_that_keeps_failing_names_the_part(hproxy, http):
    _, url = _put_http(http, hproxy, "nodisc")
    hproxy.fail(502, times=None, path="_001")
    t0 = time.perf_counter()
    with pytest.raises(OSError, match=r"nodisc_001\.tvips: could not tell whether.*3 attempts"):
        file_reader(url)
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize("status", [403, 416])
def test_http_client_errors_are_not_retried(hproxy, http, status):
    _, url = _put_http(http, hproxy, f"c{status}")
    data = _lazy(url)
    hproxy.clear()
    hproxy.fail(status, times=None, path="_002", ranged=True)
    with pytest.raises(OSError, match=rf"c{status}_002\.tvips bytes .*1 attempt\b.*{status}"):
        data.compute()
    assert _gets(hproxy, "002") == 1


def test_http_part_gone_after_open_is_not_retried(hproxy, http):
    _, url = _put_http(http, hproxy, "gone")
    data = _lazy(url)
    (Path(http.root) / "gone_002.tvips").unlink()
    hproxy.clear()
    with pytest.raises(FileNotFoundError, match=r"gone_002\.tvips bytes \d+-\d+.*disappeared"):
        data.compute()
    assert _gets(hproxy, "002") == 1


@pytest.mark.parametrize("honest", [True, False])
def test_http_body_cut_short_for_good_never_gives_pixels(hproxy, http, honest):
    _, url = _put_http(http, hproxy, f"cut{honest}")
    data = _lazy(url)
    hproxy.clear()
    hproxy.truncate(times=None, keep=0.5, honest=honest, path="_000", ranged=True)
    # honest: a consistent shorter answer -> ShortReadError; otherwise the connection
    # closes before Content-Length bytes -> aiohttp's payload error, asked again, OSError
    expected = ShortReadError if honest else OSError
    with pytest.raises(expected, match=r"cut\w+_000\.tvips") as err:
        data.compute()
    if honest:
        assert re.search(r"bytes \d+-\d+: got \d+ bytes, expected \d+", str(err.value))
    assert _gets(hproxy, "000") == filesystem.REMOTE_ATTEMPTS


def test_retries_can_be_turned_off(hproxy, http, monkeypatch):
    _, url = _put_http(http, hproxy, "once")
    data = _lazy(url)
    hproxy.clear()
    monkeypatch.setattr(filesystem, "REMOTE_ATTEMPTS", 1)
    hproxy.fail(503, times=1, path="_000", ranged=True)
    with pytest.raises(OSError, match="1 attempt"):
        data.compute()
    assert _gets(hproxy, "000") == 1


# ---------------------------------------------------------------- S3 (botocore retries)


@pytest.mark.parametrize("fault", ["503", "reset", "cut body"])
def test_s3_transient_faults_are_retried_by_the_client(sproxy, s3, fault):
    frames, url, opts = _put_s3(s3, sproxy, f"s3{fault[:3]}")
    data = _lazy(url, opts)
    sproxy.clear()
    TRANSIENT[fault](sproxy, path="_001", ranged=True)
    np.testing.assert_array_equal(data.compute(), frames)
    assert len(sproxy.faulted) == 2
    assert _gets(sproxy, "001") == 2 + 2


def test_s3_listing_and_header_faults_are_retried(sproxy, s3):
    frames, url, opts = _put_s3(s3, sproxy, "s3list")
    sproxy.fail(503, times=2, path="list-type")
    sproxy.fail(500, times=1, path="_000", ranged=True)
    np.testing.assert_array_equal(file_reader(url, storage_options=opts)[0]["data"], frames)
    assert len(sproxy.faulted) == 3


def test_s3_that_keeps_failing_is_a_clear_error_in_bounded_time(sproxy, s3):
    # botocore's default is 5 attempts with random back-off up to 1+2+4+8 s; bounded by
    # the client configuration, which is the user's to choose
    retries = {"max_attempts": 2, "mode": "standard"}
    _, url, opts = _put_s3(s3, sproxy, "s3down", config_kwargs={"retries": retries})
    data = _lazy(url, opts)
    sproxy.clear()
    sproxy.fail(503, times=None, path="_002", ranged=True)
    t0 = time.perf_counter()
    with pytest.raises(OSError, match=r"s3://tvips/s3down_002\.tvips bytes \d+-\d+") as err:
        data.compute()
    assert time.perf_counter() - t0 < 10
    assert not isinstance(err.value, ShortReadError)
    # the client's attempts (botocore's max_attempts counts retries: 3 in all; obstore
    # asked as many), none of ours
    assert 2 <= _gets(sproxy, "002") <= 3


def test_s3_body_cut_short_for_good_is_an_error(sproxy, s3):
    _, url, opts = _put_s3(s3, sproxy, "s3cut")
    data = _lazy(url, opts)
    sproxy.clear()
    sproxy.truncate(times=None, keep=0.5, honest=True, path="_000", ranged=True)
    # botocore checks moto's checksum before we see the bytes; either way, no pixels
    with pytest.raises(OSError, match=r"s3://tvips/s3cut_000\.tvips bytes \d+-\d+"):
        data.compute()
