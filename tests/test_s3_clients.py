"""S3 reads through obstore or s3fs: which one, what the storage options mean to each, the
connection pool, and secrets kept out of messages."""

from __future__ import annotations

import logging

import fsspec
import numpy as np
import pytest
from servers import S3_KEY, S3_SECRET
from tvips_factory import make_frames, reference_scan, tvips_bytes

from intake_tvips import file_reader
from intake_tvips.storage import byteranges, obstore_io
from intake_tvips.storage.filesystem import S3_POOL_CONNECTIONS, FileSystemSpec, resolve

SCAN = dict(scan_shape=(12, 10), scan_start_frame=3, winding_scan_axis="x", hysteresis=2)
PARTS = [40, 41, 43]


@pytest.fixture
def no_aws_config(monkeypatch, tmp_path):
    """No AWS credentials or region from this machine's environment or files."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
    ):
        monkeypatch.delenv(name, raising=False)  # fmt: skip
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


def _put(s3, key, seed=0):
    frames = make_frames(sum(PARTS), (16, 16), seed=seed)
    fs = fsspec.filesystem("s3", **s3.storage_options)
    for k, blob in enumerate(tvips_bytes(frames, records_per_part=PARTS)):
        fs.pipe_file(f"tvips/{key}_{k:03d}.tvips", blob)
    fs.invalidate_cache()
    return frames, f"s3://tvips/{key}_000.tvips"


class Spy:
    """Counts the calls of a function while still calling it."""

    def __init__(self, monkeypatch, module, name):
        self.calls = 0
        real = getattr(module, name)

        def counting(*args, **kwargs):
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, counting)


# ---------------------------------------------------------------- the options


def test_settings_mean_what_they_mean_to_s3fs(no_aws_config):
    ep = {"client_kwargs": {"endpoint_url": "http://127.0.0.1:9", "region_name": "eu-west-3"}}
    s = obstore_io.obstore_settings(dict(ep, key="K", secret="S", token="T"))
    assert s["config"]["endpoint"] == "http://127.0.0.1:9"
    assert s["config"]["region"] == "eu-west-3"
    assert (s["access_key_id"], s["secret_access_key"], s["token"]) == ("K", "S", "T")
    assert s["client_options"]["allow_http"] is True
    anon = obstore_io.obstore_settings({"anon": True, "endpoint_url": "https://x.example"})
    assert anon["skip_signature"] is True and anon["config"]["region"] == "us-east-1"
    assert anon["client_options"]["allow_http"] is False
    retries = {"config_kwargs": {"retries": {"max_attempts": 2}}, **ep, "anon": True}
    assert obstore_io.obstore_settings(retries)["retry_config"]["max_retries"] == 2
    budget = obstore_io.obstore_settings(retries)["retry_config"]["retry_timeout"]
    assert budget.total_seconds() <= 10  # bounded in time
    assert obstore_io.obstore_settings(dict(ep, anon=True, requester_pays=True))["config"][
        "request_payer"
    ]


@pytest.mark.parametrize(
    "options",
    [
        {"anon": True, "s3_additional_kwargs": {"SSECustomerKey": "x"}},  # no equivalent
        {"anon": True, "session": object()},
        {"anon": True, "client_kwargs": {"region_name": "x", "proxies": {}}},
        {"anon": True, "config_kwargs": {"signature_version": "s3"}},
        {"anon": True, "endpoint_url": "https://x.example", "client_kwargs": {"verify": "/ca.pem"}},
        {"key": "K", "secret": "S"},  # on AWS without a region: s3fs finds it, obstore not
        {"client_kwargs": {"endpoint_url": "http://127.0.0.1:9"}},  # no credentials at all
    ],
)
def test_options_without_an_obstore_meaning_keep_s3fs(no_aws_config, options):
    assert obstore_io.obstore_settings(options) is None
    spec = FileSystemSpec("s3", options)
    assert not obstore_io.usable(spec)


def test_environment_switch(monkeypatch, s3):
    spec = FileSystemSpec("s3", s3.storage_options)
    monkeypatch.setenv(obstore_io.ENV_SWITCH, "0")
    assert not obstore_io.usable(spec)
    monkeypatch.setenv(obstore_io.ENV_SWITCH, "1")
    assert obstore_io.usable(spec)


# ---------------------------------------------------------------- reads, both ways


@pytest.mark.parametrize("client", ["obstore", "s3fs"])
def test_reads_go_through_the_chosen_client(s3, monkeypatch, client):
    frames, url = _put(s3, f"via{client}")
    monkeypatch.setenv(obstore_io.ENV_SWITCH, "1" if client == "obstore" else "0")
    spy = Spy(monkeypatch, obstore_io, "submit_ranges")
    data = file_reader(url, lazy=True, storage_options=s3.storage_options, **SCAN)[0]["data"]
    s3.log.clear()
    np.testing.assert_array_equal(data.compute(), reference_scan(frames, (12, 10), 3, "x", 2))
    assert (spy.calls > 0) == (client == "obstore")
    assert s3.log.count("GET", ranged=True) == 3  # one chunk, one range per part


def test_profile_credentials_found_as_botocore_finds_them(s3, no_aws_config, monkeypatch):
    creds = no_aws_config / "credentials"
    creds.write_text(
        f"[bench]\naws_access_key_id = {S3_KEY}\naws_secret_access_key = {S3_SECRET}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    frames, url = _put(s3, "profile", seed=3)
    opts = {"profile": "bench", "client_kwargs": dict(s3.storage_options["client_kwargs"])}
    spy = Spy(monkeypatch, obstore_io, "submit_ranges")
    data = file_reader(url, storage_options=opts, **SCAN)[0]["data"]
    np.testing.assert_array_equal(data, reference_scan(frames, (12, 10), 3, "x", 2))
    assert spy.calls > 0


def test_s3fs_filesystems_get_a_large_pool(s3, monkeypatch):
    fs, _ = resolve("s3://tvips/x.tvips", s3.storage_options)
    assert fs.config_kwargs["max_pool_connections"] == S3_POOL_CONNECTIONS >= 64
    mine = dict(s3.storage_options, config_kwargs={"max_pool_connections": 5})
    assert resolve("s3://tvips/x.tvips", mine)[0].config_kwargs["max_pool_connections"] == 5
    assert "config_kwargs" not in resolve("memory://x", {})[0].storage_options
    # many slow small reads through s3fs: more than botocore's default 10 in flight
    from proxy import FaultProxy

    monkeypatch.setenv(obstore_io.ENV_SWITCH, "0")
    fs.pipe_file("tvips/pool.bin", bytes(range(256)) * 64)
    proxy = FaultProxy(s3.endpoint)
    try:
        opts = dict(s3.storage_options)
        opts["client_kwargs"] = dict(opts["client_kwargs"], endpoint_url=proxy.url)
        spec = FileSystemSpec.from_fs(resolve("s3://tvips/pool.bin", opts)[0])
        proxy.delay(0.3, times=None, path="pool.bin")  # every answer takes 0.3 s
        n = 40
        starts = list(range(n))
        ends = [s + 8 for s in starts]
        out = byteranges.read_byte_ranges(spec, ["tvips/pool.bin"] * n, starts, ends)
        assert [o[0] for o in out] == starts
        assert proxy.log.max_in_flight > 10
    finally:
        proxy.stop()


# ---------------------------------------------------------------- secrets


def test_obstore_errors_and_logs_hold_no_secret(s3, caplog, monkeypatch):
    secret = "sEcReT-obstore-42"
    frames, url = _put(s3, "gone", seed=5)
    opts = dict(s3.storage_options, secret=secret)  # moto takes any secret
    data = file_reader(url, lazy=True, storage_options=opts, **SCAN)[0]["data"]
    assert obstore_io.usable(FileSystemSpec.from_fs(resolve(url, opts)[0]))
    fsspec.filesystem("s3", **s3.storage_options).rm("tvips/gone_002.tvips")
    with (
        caplog.at_level(logging.DEBUG, logger="intake_tvips"),
        pytest.raises(FileNotFoundError, match=r"s3://tvips/gone_002\.tvips") as err,
    ):
        data.compute()
    assert secret not in str(err.value) and secret not in repr(err.value.__cause__)
    assert secret not in caplog.text
    assert secret not in repr(data.dask.to_dict())


# ---------------------------------------------------------------- timeouts


@pytest.mark.parametrize("client", ["obstore", "s3fs"])
def test_a_slow_answer_times_out_and_is_asked_again(s3, monkeypatch, client):
    import time

    from proxy import FaultProxy

    frames, url = _put(s3, f"slow{client}", seed=6)
    monkeypatch.setenv(obstore_io.ENV_SWITCH, "1" if client == "obstore" else "0")
    proxy = FaultProxy(s3.endpoint)
    try:
        opts = dict(s3.storage_options, config_kwargs={"read_timeout": 0.5})
        opts["client_kwargs"] = dict(opts["client_kwargs"], endpoint_url=proxy.url)
        data = file_reader(url, lazy=True, storage_options=opts, **SCAN)[0]["data"]
        proxy.clear()
        proxy.delay(3.0, times=1, path="_002", ranged=True)
        t0 = time.perf_counter()
        np.testing.assert_array_equal(data.compute(), reference_scan(frames, (12, 10), 3, "x", 2))
        assert time.perf_counter() - t0 < 3.0  # the slow answer was not waited for
        assert proxy.log.count("GET", ranged=True, contains="_002") == 2
        deadline = time.perf_counter() + 5
        while proxy.log.in_flight and time.perf_counter() < deadline:
            time.sleep(0.05)  # the delayed answer finishes before the proxy stops
    finally:
        proxy.stop()


# ---------------------------------------------------------------- what a process keeps


def test_stores_are_kept_per_bucket_bounded_and_reused(s3, monkeypatch):
    monkeypatch.setattr(obstore_io, "MAX_STORES", 2)
    monkeypatch.setattr(obstore_io, "_process", None)
    spec = FileSystemSpec.from_fs(resolve("s3://tvips/x", s3.storage_options)[0])
    clients = obstore_io._clients()
    first = clients.store(spec, "b1")
    assert clients.store(spec, "b1") is first  # reused
    clients.store(spec, "b2")
    clients.store(spec, "b1")  # b1 used last: b2 goes first
    clients.store(spec, "b3")
    assert [bucket for _, bucket in clients.stores] == ["b1", "b3"]
    other = FileSystemSpec("s3", dict(s3.storage_options, anon=True))
    for token in range(3):  # settings of many sets of options: bounded too
        clients.settings_of(FileSystemSpec("s3", dict(other.storage_options, n=token)))
    assert len(clients.settings) == 2


def test_a_forked_child_keeps_nothing_of_its_parent(s3, monkeypatch):
    spec = FileSystemSpec.from_fs(resolve("s3://tvips/x", s3.storage_options)[0])
    parent = obstore_io._clients()
    parent.store(spec, "tvips")
    assert obstore_io._clients() is parent
    monkeypatch.setattr(obstore_io.os, "getpid", lambda: parent.pid + 1)  # as after fork
    child = obstore_io._clients()
    assert child is not parent and not child.stores and child.loop_semaphore is None


def test_one_semaphore_per_event_loop():
    import asyncio

    clients = obstore_io._ProcessClients()
    loop, other = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        sem = clients.semaphore(loop)
        assert clients.semaphore(loop) is sem
        assert clients.semaphore(other) is not sem  # a new loop: the old one is dropped
        assert clients.loop_semaphore[0] is other
    finally:
        loop.close()
        other.close()
