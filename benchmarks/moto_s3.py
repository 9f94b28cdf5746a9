"""The benchmarks' servers on 127.0.0.1, each in a process of its own: moto's S3 server
(``tests/servers.py s3``, with the credentials and options every S3 benchmark uses) and
an HTTP server with Range support (``tests/servers.py http``, aiohttp's static files).

moto keeps an object in one buffer and copies all of it for every GET, whatever the
range asked for, one request at a time: measured here, a 32 KiB range of a 64 MiB part
takes about 50 ms, of a 1 GiB object 0.8 s, with 1, 4 or 16 clients alike. Its seconds
count requests more than bytes; the HTTP server reads each range from the file, as S3
and web servers do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from servers import s3_client  # noqa: E402,F401  (a boto3 client for the server)


def start_s3() -> tuple[subprocess.Popen, str]:
    """Start the server; ``(process, endpoint URL)``. Stop it with ``process.terminate()``."""
    proc = subprocess.Popen(
        [sys.executable, str(TESTS / "servers.py"), "s3"], stdout=subprocess.PIPE, text=True
    )
    return proc, proc.stdout.readline().strip()


def start_http(root) -> tuple[subprocess.Popen, str]:
    """Serve the directory ``root``; ``(process, base URL)``. Stop it with
    ``process.terminate()``."""
    proc = subprocess.Popen(
        [sys.executable, str(TESTS / "servers.py"), "http", str(root)],
        stdout=subprocess.PIPE,
        text=True,
    )
    return proc, proc.stdout.readline().strip()


def s3_options(endpoint: str, pool: int | None = None) -> dict:
    """s3fs storage options for the server (``pool``: botocore's connection pool size)."""
    from servers import S3_KEY, S3_SECRET

    opts = {
        "key": S3_KEY,
        "secret": S3_SECRET,
        "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
    }
    if pool:
        opts["config_kwargs"] = {"max_pool_connections": pool}
    return opts


def uploaded(endpoint: str, files, bucket: str = "tvips"):
    """``files`` uploaded into a new ``bucket`` of the server: ``(s3fs options, an
    obstore S3Store of the bucket)`` (the store for plain ``obstore.get_ranges``
    baselines)."""
    import obstore.store

    opts = s3_options(endpoint)
    client = s3_client(endpoint)
    client.create_bucket(Bucket=bucket)
    for p in files:
        client.upload_file(str(p), bucket, Path(p).name)
    store = obstore.store.S3Store(
        bucket,
        endpoint=endpoint,
        access_key_id=opts["key"],
        secret_access_key=opts["secret"],
        region="us-east-1",
        client_options={"allow_http": True},
    )
    return opts, store
