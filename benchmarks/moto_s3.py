"""moto's S3 server for the benchmarks: ``tests/servers.py s3`` in a process of its own,
on 127.0.0.1, with the credentials and options every S3 benchmark uses."""

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
