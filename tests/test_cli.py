"""The ``info``, ``catalog``, ``preview`` and ``convert`` subcommands: local, memory://, S3."""

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import fsspec
import intake
import numpy as np
import pytest
import yaml
from servers import S3_KEY, S3_SECRET
from test_headers_detect import raster_positions, with_fields
from tvips_factory import DEFAULT_TIMESTAMP, make_frames, reference_scan, tvips_bytes, write_parts

from intake_tvips import file_reader
from intake_tvips.cli import main

SHAPE = (6, 8)  # scan (ny, nx)
START = 3  # junk frames before the scan
N = START + SHAPE[0] * SHAPE[1] + 2
FRAME = (9, 10)
PARTS = [20, 20, N - 40]
SCAN_KW = dict(scan_shape=SHAPE, scan_start_frame=START, winding_scan_axis="x", hysteresis=0)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def recording_parts():
    """A 6 x 8 snake scan (winding x) from frame 3, Scan_x/Scan_y in 76-byte headers, 100 Hz."""
    frames = make_frames(N, FRAME)
    i = np.arange(N)
    parts = tvips_bytes(
        frames,
        frameheaderbytes=76,
        records_per_part=PARTS,
        timestamps=DEFAULT_TIMESTAMP + i // 100,
        ms=(i * 10) % 1000,
    )
    sx, sy = raster_positions(N, SHAPE, START, "x")
    return frames, with_fields(parts, 76, FRAME, "<u2", Scan_x=sx, Scan_y=sy)


@pytest.fixture(scope="module")
def frames():
    return recording_parts()[0]


@pytest.fixture
def local(tmp_path):
    (tmp_path / "data").mkdir()
    return write_parts(tmp_path / "data" / "scan", recording_parts()[1])


@pytest.fixture
def mem(memfs):
    return "memory://" + write_parts("/tvips-test/cli/scan", recording_parts()[1], fs=memfs)


@pytest.fixture
def s3url(s3):
    fs = fsspec.filesystem("s3", **s3.storage_options)
    first = write_parts("tvips/run1/scan", recording_parts()[1], fs=fs)
    fs.invalidate_cache()
    return "s3://" + first


def s3_cli_options(s3) -> list[str]:
    opts = []
    for key, value in s3.storage_options.items():
        opts += ["--storage-option", f"{key}={json.dumps(value)}"]
    return opts


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, err, *needles):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("intake-tvips: error: "), err
    for needle in needles:
        assert needle in lines[0]


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_MAGIC) and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# ---------------------------------------------------------------------------- info


def check_info_json(info, url_end):
    assert info["url"].endswith(url_end)
    assert info["frames"] == N
    assert [p["frames"] for p in info["parts"]] == PARTS
    assert info["frame_shape"] == list(FRAME) and info["dtype"] == "uint16"
    assert info["duration_s"] == pytest.approx((N - 1) * 0.01)
    assert info["frame_rate_hz"] == pytest.approx(100.0)
    assert info["median_frame_interval_s"] == pytest.approx(0.01)
    assert info["first_frame_time"] == "1993-06-18T10:34:56.000Z"
    scan = info["scan"]
    assert scan["method"] == "scan_xy" and scan["confidence"] == 1.0
    assert scan["scan_shape"] == list(SHAPE) and scan["scan_start_frame"] == START
    assert scan["winding_scan_axis"] == "x"
    assert info["header"]["dimx"] == FRAME[1] and "dummy" not in info["header"]


def test_info_local_table_and_json(local, capsys):
    code, out, err = run(capsys, "info", local)
    assert code == 0, err
    assert "frames            53 of 9 x 10 uint16" in out
    assert "frame rate        100 Hz (median interval 10 ms)" in out
    assert "method            scan_xy" in out and "winding           x" in out
    assert "duration          0.520 s" in out
    code, out, err = run(capsys, "info", local, "--json")
    assert code == 0, err
    check_info_json(json.loads(out), "scan_000.tvips")


def test_info_memory(mem, capsys):
    code, out, err = run(capsys, "info", "--json", mem)
    assert code == 0, err
    check_info_json(json.loads(out), "/tvips-test/cli/scan_000.tvips")


def test_info_s3_with_storage_options(s3url, s3, capsys):
    code, out, err = run(capsys, "info", s3url, "--json", *s3_cli_options(s3))
    assert code == 0, err
    check_info_json(json.loads(out), "tvips/run1/scan_000.tvips")


def test_info_progress_bar_goes_to_stderr(local, capsys):
    code, out, err = run(capsys, "info", local, "--json", "--progress", "--exhaustive")
    assert code == 0
    json.loads(out)  # stdout stays clean JSON
    assert "frame headers of scan_000.tvips" in err


# ---------------------------------------------------------------------------- catalog


def test_catalog_prints_an_entry_with_detected_parameters(local, frames, capsys):
    code, out, err = run(capsys, "catalog", local, "--name", "scan1", "--hysteresis", "0")
    assert code == 0, err
    entry = yaml.safe_load(out)["scan1"]
    assert entry["driver"] == "tvips"
    assert entry["args"] == {
        "urlpath": str(Path(local).absolute()),
        "scan_shape": list(SHAPE),
        "scan_start_frame": START,
        "winding_scan_axis": "x",
        "hysteresis": 0,
    }
    assert "scan_xy" in entry["description"]


def test_catalog_round_trip_append_and_duplicates(local, frames, tmp_path, capsys):
    cat = tmp_path / "exp.yaml"
    cat.write_text(
        "# my experiment\nmetadata:\n  version: 1\nsources:\n  # an old entry\n"
        "  old:\n    driver: tvips\n    args:\n      urlpath: /nowhere_000.tvips\n\n# the end\n"
    )
    code, out, err = run(capsys, "catalog", local, "--name", "scan1", "-o", cat)
    assert code == 0, err
    assert "added entry 'scan1'" in out
    code, out, err = run(
        capsys, "catalog", local, "--name", "raw", "--scan-shape", "none", "-o", cat
    )
    assert code == 0, err
    text = cat.read_text()
    assert "# my experiment" in text and "# an old entry" in text and "# the end" in text
    assert "{{ CATALOG_DIR }}/data/scan_000.tvips" in text  # relative to the catalog

    code, out, err = run(capsys, "catalog", local, "--name", "scan1", "-o", cat)
    one_line_error(code, err, "already has an entry 'scan1'", "--force")
    assert cat.read_text() == text

    c = intake.open_catalog(str(cat))
    assert sorted(c) == ["old", "raw", "scan1"]
    expected = file_reader(local, **SCAN_KW)[0]["data"]
    np.testing.assert_array_equal(c.scan1.read(), expected)
    np.testing.assert_array_equal(expected, reference_scan(frames, SHAPE, START, "x"))
    np.testing.assert_array_equal(c.raw.to_dask().compute(), frames)

    # --force replaces it, with the given parameters
    code, out, err = run(
        capsys, "catalog", local, "--name", "scan1", "--scan-shape", "5x8", "--force", "-o", cat
    )
    assert code == 0, err
    assert "replaced entry 'scan1'" in out
    c = intake.open_catalog(str(cat))
    assert sorted(c) == ["old", "raw", "scan1"]
    assert c.scan1.to_dask().shape == (5, 8, *FRAME)
    assert "# the end" in cat.read_text()


def test_catalog_in_the_recordings_folder(local, frames, capsys):
    cat = Path(local).parent / "here.yaml"
    assert run(capsys, "catalog", local, "--name", "s", "-o", cat)[0] == 0
    data = intake.open_catalog(str(cat)).s.read()
    np.testing.assert_array_equal(data, reference_scan(frames, SHAPE, START, "x"))


def test_catalog_s3_writes_no_secrets(s3url, s3, frames, tmp_path, capsys, monkeypatch):
    cat = tmp_path / "s3.yaml"
    code, out, err = run(
        capsys, "catalog", s3url, "--name", "scan1", "-o", cat, *s3_cli_options(s3)
    )
    assert code == 0, err
    text = cat.read_text()
    assert S3_SECRET not in text and "secret" not in text and "key:" not in text
    assert "not written to the catalog" in err and "secret" in err
    args = yaml.safe_load(text)["sources"]["scan1"]["args"]
    endpoint = s3.storage_options["client_kwargs"]["endpoint_url"]
    assert args["storage_options"]["client_kwargs"]["endpoint_url"] == endpoint
    assert set(args["storage_options"]) == {"client_kwargs"}  # no key, no secret
    # credentials from the environment, as the note says
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
    data = intake.open_catalog(str(cat)).scan1.read()
    np.testing.assert_array_equal(data, reference_scan(frames, SHAPE, START, "x"))


# ---------------------------------------------------------------------------- preview


def test_preview_scan_and_stack(local, tmp_path, capsys):
    png = tmp_path / "p.png"
    code, out, err = run(capsys, "preview", local, "-o", png)
    assert code == 0, err
    assert "virtual bright field" in out and "(detected)" in out
    assert png_size(png.read_bytes()) == (1000, 450)
    code, out, err = run(capsys, "preview", local, "--scan-shape", "none", "-o", png)
    assert code == 0, err
    assert "intensity per frame" in out
    assert png_size(png.read_bytes()) == (1000, 450)


def test_preview_from_catalog_memory(mem, tmp_path, capsys):
    cat = tmp_path / "m.yaml"
    assert run(capsys, "catalog", mem, "--name", "m", "-o", cat)[0] == 0
    code, out, err = run(
        capsys, "preview", "--catalog", cat, "--entry", "m", "-o", "memory://tvips-test/p.png"
    )
    assert code == 0, err
    assert "catalog entry m" in out
    data = fsspec.filesystem("memory").cat_file("/tvips-test/p.png")
    fsspec.filesystem("memory").rm("/tvips-test/p.png")
    assert png_size(data) == (1000, 450)


# ---------------------------------------------------------------------------- convert


def check_zarr(url, frames, storage_options=None):
    import xarray as xr
    import zarr

    expected = reference_scan(frames, SHAPE, START, "x")
    from intake_tvips.integrations.xarray_view import decode_attrs

    arr = xr.open_zarr(url, storage_options=storage_options)["data"]
    assert arr.dims == ("y", "x", "dy", "dx")
    np.testing.assert_array_equal(arr.values, expected)
    attrs = decode_attrs(arr.attrs)
    assert attrs["scan_parameters"]["scan_shape"] == list(SHAPE)
    assert attrs["tvips_header"]["dimx"] == FRAME[1]
    assert [a["name"] for a in attrs["axes"]] == ["y", "x", "dy", "dx"]
    assert attrs["source"].endswith("scan_000.tvips")
    assert arr.coords["dx"].attrs["units"] == "1/nm"
    group = zarr.open_group(url, mode="r", storage_options=storage_options)
    np.testing.assert_array_equal(group["data"][...], expected)


def test_convert_local_round_trip_and_overwrite(local, frames, tmp_path, capsys):
    out = tmp_path / "out.zarr"
    code, stdout, err = run(capsys, "convert", local, "--chunk-size", "2KiB", out)
    assert code == 0, err
    assert "wrote" in stdout
    check_zarr(str(out), frames)
    import xarray as xr

    lazy = file_reader(local, lazy=True, **SCAN_KW)
    assert xr.open_zarr(str(out))["data"].chunks is not None
    assert lazy[0]["data"].shape == (*SHAPE, *FRAME)

    code, _, err = run(capsys, "convert", local, out)
    one_line_error(code, err, "exists", "--overwrite")
    code, _, err = run(capsys, "convert", local, out, "--scan-shape", "none", "--overwrite")
    assert code == 0, err
    assert xr.open_zarr(str(out))["data"].dims == ("time", "dy", "dx")


def test_convert_memory_from_catalog(mem, frames, tmp_path, capsys):
    cat = tmp_path / "m.yaml"
    assert run(capsys, "catalog", mem, "--name", "m", "-o", cat)[0] == 0
    out = "memory://tvips-test/out.zarr"
    code, _, err = run(capsys, "convert", "--catalog", cat, "--entry", "m", out)
    assert code == 0, err
    check_zarr(out, frames)


def test_convert_s3(s3url, s3, frames, capsys):
    out = "s3://tvips/out.zarr"
    code, _, err = run(capsys, "convert", s3url, out, *s3_cli_options(s3))
    assert code == 0, err
    check_zarr(out, frames, s3.storage_options)


# ---------------------------------------------------------------------------- errors, help


@pytest.mark.parametrize(
    "argv, needles",
    [
        (["info", "{tmp}/missing.tvips"], ["not found", "missing_000.tvips"]),
        (["catalog", "{local}", "--name", "x", "--scan-shape", "8by8"], ["--scan-shape", "8by8"]),
        (["preview", "{local}", "--scan-shape", "0x4", "-o", "{tmp}/a.png"], ["--scan-shape"]),
        (["convert", "{local}", "{tmp}/o.zarr", "--scan-shape", "99x99"], ["last frame index"]),
        (["info", "{local}", "--storage-option", "novalue"], ["KEY=VALUE"]),
        (["catalog", "{local}", "--name", "not valid"], ["--name"]),
        (["convert", "{tmp}/o.zarr"], ["URL OUT"]),
        (["preview", "--catalog", "{tmp}/c.yaml", "-o", "{tmp}/a.png"], ["--entry"]),
    ],
)
def test_errors_are_one_line(local, tmp_path, capsys, argv, needles):
    argv = [a.format(tmp=tmp_path, local=local) for a in argv]
    code, out, err = run(capsys, *argv)
    one_line_error(code, err, *needles)
    assert not (tmp_path / "a.png").exists() and not (tmp_path / "o.zarr").exists()


@pytest.mark.parametrize("command", ["info", "catalog", "preview", "convert", "demo"])
def test_help(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: intake-tvips {command}")
    if command != "demo":
        assert "--storage-option" in out and "--progress" in out


def test_console_script(local):
    script = shutil.which("intake-tvips", path=str(Path(sys.executable).parent))
    assert script, "the intake-tvips console script is not installed"
    proc = subprocess.run(
        [script, "info", local, "--json"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["frames"] == N
    assert proc.stderr == ""  # not a terminal: no progress bar
    proc = subprocess.run(
        [script, "info", local + ".nope"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
