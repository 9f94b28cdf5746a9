"""``intake-tvips demo`` and the command line: small scans, threads and a real cluster."""

import re
import subprocess
import sys

import intake
import numpy as np
import pytest
from tvips_factory import reference_scan

from intake_tvips.cli import main
from intake_tvips.cli.demo import JUNK_BEFORE, MIN_CORRELATION, synthesize

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "intake_tvips", *args], capture_output=True, text=True, timeout=120
    )


def printed_correlation(out: str) -> float:
    return float(re.search(r"\(Pearson r\): ([0-9.]+) \(ok\)", out).group(1))


def test_demo_threads_writes_a_catalog_that_reads_back(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--scan", "16", "--no-cluster"]) == 0
    printed = capsys.readouterr().out
    assert printed_correlation(printed) > MIN_CORRELATION
    assert "threaded scheduler" in printed
    assert f'open_catalog("{out / "catalog.yaml"}").scan' in printed.splitlines()[-1]

    parts = sorted((out / "data").glob("scan_*.tvips"))
    assert [p.name for p in parts[:3]] == ["scan_000.tvips", "scan_001.tvips", "scan_002.tvips"]
    png = (out / "virtual_bright_field.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000

    frames, truth = synthesize(16)
    cat = intake.open_catalog(str(out / "catalog.yaml"))
    scan = cat.scan.to_dask()
    assert scan.shape == (16, 16, 64, 64)
    expected = reference_scan(frames, (16, 16), JUNK_BEFORE, "x", 2)
    np.testing.assert_array_equal(scan.compute(scheduler="sync"), expected)
    np.testing.assert_array_equal(cat.stack.to_dask().compute(scheduler="sync"), frames)
    assert truth.shape == (16, 16)

    # a previous demo output is replaced without --force
    assert main(["demo", "--out", str(out), "--scan", "8", "--no-cluster"]) == 0
    assert "previous demo output, replaced" in capsys.readouterr().out
    assert intake.open_catalog(str(out / "catalog.yaml")).scan.to_dask().shape[:2] == (8, 8)


def test_demo_on_a_local_cluster(tmp_path, capsys):
    out = tmp_path / "cluster"
    assert main(["demo", "--out", str(out), "--scan", "12", "--workers", "2"]) == 0
    printed = capsys.readouterr().out
    assert "distributed.LocalCluster of 2 worker processes" in printed
    assert printed_correlation(printed) > MIN_CORRELATION
    contrast = re.search(r"plain order from frame 3: r = (-?[0-9.]+)", printed)
    assert float(contrast.group(1)) < MIN_CORRELATION  # not unwinding visibly fails
    assert (out / "virtual_bright_field.png").stat().st_size > 0


def test_python_m_help():
    proc = run_cli("--help")
    assert proc.returncode == 0, proc.stderr
    assert "demo" in proc.stdout and proc.stdout.startswith("usage: intake-tvips")
    proc = run_cli("demo", "--help")
    assert proc.returncode == 0, proc.stderr
    for option in ("--out", "--scan", "--workers", "--no-cluster", "--force"):
        assert option in proc.stdout


def test_out_is_a_file_is_one_line_error(tmp_path):
    target = tmp_path / "a-file"
    target.write_text("not a directory")
    proc = run_cli("demo", "--out", str(target), "--scan", "8", "--no-cluster")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("intake-tvips: error: ")
    assert str(target) in lines[0]
    assert target.read_text() == "not a directory"


def test_refuses_a_foreign_non_empty_dir_unless_forced(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["demo", "--out", str(out), "--scan", "8", "--no-cluster"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--force" in err[0] and err[0].startswith("intake-tvips: error:")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]

    assert main(["demo", "--out", str(out), "--scan", "8", "--no-cluster", "--force"]) == 0
    assert (out / "notes.txt").read_text() == "keep me"
    assert (out / "catalog.yaml").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--scan", "2"], "--scan must be an integer in 8..256"),
        (["--workers", "0"], "--workers must be a positive integer"),
    ],
)
def test_bad_values_are_one_line_errors(tmp_path, capsys, args, message):
    out = tmp_path / "x"
    assert main(["demo", "--out", str(out), "--no-cluster", *args]) == 2
    err = capsys.readouterr().err
    assert err == f"intake-tvips: error: {message}, got {args[1]}\n"
    assert not out.exists()


def test_usage_errors_return_2(capsys):
    assert main(["demo", "--no-such-option"]) == 2
    assert main([]) == 2
    assert main(["--version"]) == 0
    captured = capsys.readouterr()
    assert "intake-tvips 0.1.0" in captured.out


def test_the_demo_recording_carries_its_scan_positions(tmp_path, capsys):
    """``info`` and ``catalog`` on the demo's files find the scan, as the README shows."""
    import json

    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--scan", "8", "--no-cluster"]) == 0
    capsys.readouterr()
    first = str(out / "data" / "scan_000.tvips")
    assert main(["info", first, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["frame_header_bytes"] == 76
    scan = info["scan"]
    assert (scan["method"], scan["scan_shape"], scan["scan_start_frame"]) == ("scan_xy", [8, 8], 3)
    assert (scan["winding_scan_axis"], scan["confidence"]) == ("x", 1.0)
    assert main(["catalog", first, "--name", "scan"]) == 0
    entry = capsys.readouterr().out
    assert "scan_shape: [8, 8]" in entry and "winding_scan_axis: x" in entry
