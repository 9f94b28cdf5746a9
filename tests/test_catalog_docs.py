"""What the shipped catalogs say holds: http.yaml's local server honours Range requests
(``python -m http.server``, which it warns against, does not) and serves http.yaml."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
import time

import intake
import numpy as np
import pytest
import requests
from tvips_factory import make_frames, reference_scan, tvips_bytes, write_parts

import intake_tvips

HTTP_YAML = intake_tvips.catalogs_dir() / "http.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def documented_server_command() -> list[str]:
    """The ``python -c ...`` command in http.yaml's comments, as a list of arguments."""
    comments = [line[1:] for line in HTTP_YAML.read_text().splitlines() if line.startswith("#")]
    text = "\n".join(comments)
    (command,) = re.findall(r"^ +(python -c \".*?\")$", text, flags=re.M | re.S)
    return shlex.split(command.replace("\\\n", " "))


def serve(argv: list[str], root, port: int):
    proc = subprocess.Popen(argv, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{argv[:3]} did not listen on {port}")


@pytest.fixture
def recording_dir(tmp_path):
    frames = make_frames(3 + 8 * 8 + 2, (4, 5))
    (tmp_path / "data").mkdir()
    write_parts(str(tmp_path / "data" / "scan"), tvips_bytes(frames, records_per_part=[30, 39]))
    return tmp_path, frames


def test_the_documented_server_honours_range_and_serves_the_catalog(recording_dir, monkeypatch):
    root, frames = recording_dir
    port = free_port()
    argv = documented_server_command()
    assert argv[:2] == ["python", "-c"] and "port=8000" in argv[2]
    argv = [sys.executable, "-c", argv[2].replace("port=8000", f"port={port}")]
    proc = serve(argv, root, port)
    try:
        base = f"http://127.0.0.1:{port}/data"
        r = requests.get(f"{base}/scan_000.tvips", headers={"Range": "bytes=0-99"}, timeout=10)
        assert (r.status_code, len(r.content)) == (206, 100)
        monkeypatch.setenv("TVIPS_HTTP_BASE", base)
        source = intake.open_catalog(str(HTTP_YAML)).scan(scan_shape=[8, 8])
        data = source.to_dask().compute()
        np.testing.assert_array_equal(data, reference_scan(frames, (8, 8), 3, "x", 2))
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_python_http_server_ignores_range(recording_dir):
    root, _ = recording_dir
    port = free_port()
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    proc = serve(argv, root, port)
    try:
        url = f"http://127.0.0.1:{port}/data/scan_000.tvips"
        r = requests.get(url, headers={"Range": "bytes=0-99"}, timeout=10)
        assert r.status_code == 200 and len(r.content) > 100  # the whole file
    finally:
        proc.kill()
        proc.wait(timeout=10)
