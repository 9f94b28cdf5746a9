"""Command-line errors from the storage side: one line ``intake-tvips: error: ...``, exit 2.

Missing credentials, an unreachable endpoint (given up on within seconds), a protocol
whose package is not installed. Network only to 127.0.0.1.
"""

from __future__ import annotations

import importlib.util
import socket
import time

import fsspec.config
import pytest
from fsspec.registry import known_implementations

from intake_tvips.cli import main

NO_AWS = {
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    "AWS_CONFIG_FILE": "/nonexistent/config",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture
def no_aws_credentials(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in NO_AWS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_line_error(capsys, *argv) -> str:
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("intake-tvips: error: "), err
    return lines[0]


def test_s3_without_credentials(capsys, no_aws_credentials, closed_port):
    line = _one_line_error(
        capsys,
        "info",
        "s3://tvips/rec_000.tvips",
        "-s",
        f"client_kwargs.endpoint_url=http://127.0.0.1:{closed_port}",
    )
    assert "NoCredentialsError" in line and "credentials" in line


def test_s3_unreachable_endpoint_fails_fast(capsys, closed_port):
    start = time.monotonic()
    line = _one_line_error(
        capsys,
        "info",
        "s3://tvips/rec_000.tvips",
        "-s",
        "key=k",
        "-s",
        "secret=s",
        "-s",
        f"client_kwargs.endpoint_url=http://127.0.0.1:{closed_port}",
    )
    assert time.monotonic() - start < 6  # without the CLI's bounds: about 10 s
    assert f"127.0.0.1:{closed_port}" in line
    assert "s3" not in fsspec.config.conf  # the CLI's S3 defaults end with the command


def _protocol_without_package() -> str:
    for protocol, spec in sorted(known_implementations.items()):
        module = spec["class"].split(".")[0]
        if "err" in spec and importlib.util.find_spec(module) is None:
            return protocol
    raise AssertionError("every fsspec protocol's package is installed")


def test_protocol_whose_package_is_not_installed(capsys):
    protocol = _protocol_without_package()
    line = _one_line_error(capsys, "info", f"{protocol}://bucket/rec_000.tvips")
    assert "install" in line.lower()
