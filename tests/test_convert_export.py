"""``intake-tvips convert URL OUT.blo|OUT.tif``: the processing options' exact meanings
(checked against numpy on the reconstructed scan), locally, from and to moto's S3, and
on a LocalCluster (``--scheduler`` and ``--workers``)."""

from __future__ import annotations

import json

import fsspec
import numpy as np
import pytest
import yaml
from clusters import local_client
from tvips_factory import make_frames, reference_scan, tvips_bytes, write_parts

from intake_tvips.cli import main

rsciio_blockfile = pytest.importorskip("rsciio.blockfile")
tifffile = pytest.importorskip("tifffile")

SCAN = ["--scan-shape", "8x6", "--scan-start-frame", "2", "--winding", "x"]
FRAME = (20, 20)
PARTS = [20, 30]


def expected(frames, bin_=2, vmin=10.0, vmax=3000.0):
    x = reference_scan(frames, (8, 6), 2, "x", 0).astype(np.float64)
    ny, nx = x.shape[-2] // bin_, x.shape[-1] // bin_
    x = x[..., : ny * bin_, : nx * bin_].reshape(x.shape[:2] + (ny, bin_, nx, bin_))
    x = x.mean(axis=(-3, -1))
    return np.clip(np.round((x - vmin) / (vmax - vmin) * 255), 0, 255).astype(np.uint8)


@pytest.fixture
def local(tmp_path):
    frames = make_frames(sum(PARTS), FRAME, seed=2)
    first = write_parts(tmp_path / "scan", tvips_bytes(frames, records_per_part=PARTS))
    return frames, first


def read_blo(path):
    signal = rsciio_blockfile.file_reader(str(path))[0]
    return signal["data"], {a["name"]: float(a["scale"]) for a in signal["axes"]}


def test_blo_bin_vmin_vmax_scan_step(local, tmp_path, capsys):
    frames, first = local
    out = tmp_path / "out.blo"
    argv = ["convert", first, str(out), *SCAN, "--bin", "2", "--vmin", "10", "--vmax", "3000"]
    code = main(argv + ["--scan-step", "12.5", "--pattern-scale", "0.04", "--no-progress"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    data, scales = read_blo(out)
    np.testing.assert_array_equal(data, expected(frames))
    assert scales == {"y": 12.5, "x": 12.5, "dy": 0.04, "dx": 0.04}
    assert "vmin=10, vmax=3000 (given)" in stdout and "scan step 12.5 nm" in stdout


def test_blo_percentile_defaults_are_reported(local, tmp_path, capsys):
    frames, first = local
    out = tmp_path / "p.blo"
    code = main(["convert", first, str(out), *SCAN, "--bin", "3", "--no-progress"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    assert "binning by 3: 2 rows and 2 columns cropped" in stdout  # 20 = 3 * 6 + 2
    line = next(s for s in stdout.splitlines() if s.startswith("8 bits:"))
    vmin, vmax = (float(v.split("=")[1]) for v in line.split(" (")[0][8:].split(", "))
    assert "percentiles 0.1 and 99.9 of 48 processed frames" in line
    x = reference_scan(frames, (8, 6), 2, "x", 0).astype(np.float64)[..., :18, :18]
    binned = x.reshape(8, 6, 6, 3, 6, 3).mean(axis=(-3, -1))
    assert (vmin, vmax) == tuple(np.percentile(binned, [0.1, 99.9]))
    np.testing.assert_array_equal(read_blo(out)[0], expected(frames, 3, vmin, vmax))


def test_tiff_keeps_the_dtype_unless_asked(local, tmp_path, capsys):
    frames, first = local
    out = tmp_path / "out.tif"
    assert main(["convert", first, str(out), *SCAN, "--crop", "2:18,0:20", "--no-progress"]) == 0
    x = reference_scan(frames, (8, 6), 2, "x", 0)
    np.testing.assert_array_equal(tifffile.imread(out), x[..., 2:18, :])
    out8 = tmp_path / "out8.tif"
    argv = ["convert", first, str(out8), *SCAN, "--bin", "2", "--vmin", "10", "--vmax", "3000"]
    assert main(argv + ["--scan-step", "3", "--no-progress"]) == 0
    np.testing.assert_array_equal(tifffile.imread(out8), expected(frames))
    with tifffile.TiffFile(out8) as tif:
        assert tif.shaped_metadata[0]["scan_step"] == [3.0, 3.0]


def test_every_step_runs(local, tmp_path, capsys):
    frames, first = local
    out = tmp_path / "all.blo"
    argv = ["convert", first, str(out), *SCAN, "--crop-scan", "1:7,0:6", "--crop", "0:20,0:20"]
    argv += ["--hot-pixels", "auto", "--bin", "2", "--median", "3", "--gaussian", "0.7"]
    argv += ["--center", "--rotate", "1", "--flip", "x", "--no-progress"]
    code = main(argv)
    stdout, err = capsys.readouterr()
    assert code == 0, err
    assert read_blo(out)[0].shape == (6, 6, 10, 10)
    assert "hot pixels:" in stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--crop", "0:5"], "--crop must be Y0:Y1,X0:X1"),
        (["--hot-pixels", "lots"], "--hot-pixels must be auto or a number"),
        (["--crop", "0:20,0:10"], "square; these are 20 x 10"),
        (["--percentiles", "5"], "--percentiles must be LO,HI"),
    ],
)
def test_bad_options_are_named(local, tmp_path, capsys, extra, message):
    _, first = local
    code = main(["convert", first, str(tmp_path / "bad.blo"), *SCAN, *extra, "--no-progress"])
    assert code == 2 and message in capsys.readouterr().err


def test_zarr_refuses_processing(local, tmp_path, capsys):
    _, first = local
    assert main(["convert", first, str(tmp_path / "x.zarr"), *SCAN, "--bin", "2"]) == 2
    assert "--bin: for .blo and .tif outputs only" in capsys.readouterr().err


def test_unknown_extension(local, tmp_path, capsys):
    _, first = local
    assert main(["convert", first, str(tmp_path / "x.h5"), *SCAN]) == 2
    assert "OUT must end in .zarr, .blo, .tif or .tiff" in capsys.readouterr().err


@pytest.fixture
def s3_source(s3):
    frames = make_frames(sum(PARTS), FRAME, seed=6)
    fs = fsspec.filesystem("s3", **s3.storage_options)
    for k, blob in enumerate(tvips_bytes(frames, records_per_part=PARTS)):
        fs.pipe_file(f"tvips/blo/scan_{k:03d}.tvips", blob)
    fs.invalidate_cache()
    opts = []
    for key, value in s3.storage_options.items():
        opts += ["--storage-option", f"{key}={json.dumps(value)}"]
    return frames, "s3://tvips/blo/scan_000.tvips", opts, fs


def test_s3_to_s3_on_local_workers(s3, s3_source, tmp_path, capsys):
    frames, url, opts, fs = s3_source
    argv = ["convert", url, "s3://tvips/blo/out.blo", *SCAN, "--bin", "2", "--vmin", "10"]
    code = main(argv + ["--vmax", "3000", "--workers", "2", "--no-progress", *opts])
    assert code == 0, capsys.readouterr().err
    fs.invalidate_cache()
    fs.get("tvips/blo/out.blo", str(tmp_path / "down.blo"))
    np.testing.assert_array_equal(read_blo(tmp_path / "down.blo")[0], expected(frames))


def test_s3_to_local_on_a_scheduler_address(s3, s3_source, tmp_path, capsys):
    frames, url, opts, _ = s3_source
    with local_client() as client:
        out = tmp_path / "sched.blo"
        argv = ["convert", url, str(out), *SCAN, "--bin", "2", "--vmin", "10", "--vmax", "3000"]
        argv += ["--scheduler", client.scheduler.address, "--progress", *opts]
        code = main(argv)
        _, err = capsys.readouterr()
    assert code == 0, err
    assert "writing blockfile" in err
    np.testing.assert_array_equal(read_blo(out)[0], expected(frames))


def test_calibrations_travel_from_catalog_to_blockfile(local, tmp_path, capsys):
    """``catalog --scan-step/--pattern-scale`` writes them into the entry; ``convert`` of
    that entry stores them in the blockfile without being told again."""
    frames, first = local
    cat = tmp_path / "exp.yaml"
    argv = ["catalog", first, "--name", "s", *SCAN, "-o", str(cat), "--no-progress"]
    code = main(argv + ["--scan-step", "7.5 nm", "--pattern-scale", "0.02 cm"])
    assert code == 0, capsys.readouterr().err
    entry = yaml.safe_load(cat.read_text())["sources"]["s"]["args"]
    assert (entry["scan_step"], entry["pattern_scale"]) == ("7.5 nm", "0.02 cm")
    out = tmp_path / "cat.blo"
    argv = ["convert", "--catalog", str(cat), "--entry", "s", str(out), "--bin", "2"]
    code = main(argv + ["--vmin", "10", "--vmax", "3000", "--no-progress"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    data, scales = read_blo(out)
    np.testing.assert_array_equal(data, expected(frames))
    assert scales == {"y": 7.5, "x": 7.5, "dy": 0.02, "dx": 0.02}
    assert main(["catalog", first, "--name", "t", "--scan-step", "fast"]) == 2
    assert "--scan-step must be a number" in capsys.readouterr().err
