"""The viewer without a browser: its maths (cell sums, detectors, scan maps), the first
pass, its API over HTTP, the ``view`` command's options, and its one-line errors."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest
from tvips_factory import make_frames, tvips_bytes, write_parts

import intake_tvips
from intake_tvips import MissingDependencyError, file_reader
from intake_tvips.cli import main
from intake_tvips.viewer.state import (
    CellGrid,
    CellSums,
    Detector,
    ScanChoice,
    ViewError,
    binned,
    choose_step,
    display_bin,
    find_disc,
)

FRAME = (24, 20)
SCAN = (5, 7)
START = 2
N = START + SCAN[0] * SCAN[1] + 1


@pytest.fixture
def local(tmp_path):
    frames = make_frames(N, FRAME)
    first = write_parts(tmp_path / "scan", tvips_bytes(frames, records_per_part=[20, N - 20]))
    return str(first), frames


def direct_image(frames, detector, scan):
    """The virtual image the slow way: the mask over every pixel of every frame read."""
    mask = detector.mask(FRAME)
    values = (frames.astype(np.float64) * mask).sum(axis=(1, 2))
    grid = scan.frames(len(frames))
    return np.where(grid >= 0, values[np.maximum(grid, 0)], np.nan)


def test_grid_fits_the_budget_and_is_exact_when_it_can():
    assert choose_step(1000, (64, 64)) == 1
    grid = CellGrid((512, 512), choose_step(65536, (512, 512), budget=256 * 2**20))
    gy, gx = grid.shape
    assert gy * gx * 4 * 65536 <= 256 * 2**20 and gy == gx >= 30
    assert CellGrid((4096, 4096), choose_step(10, (4096, 4096))).shape == (128, 128)


def test_exact_cells_give_the_exact_image(local):
    url, frames = local
    sums = CellSums(N, FRAME)
    assert sums.grid.exact
    sums.add(0, frames)
    scan = ScanChoice(SCAN, START, "x", 3)
    for det in (Detector(11.0, 9.5, 6.0), Detector(12.2, 8.0, 9.0, 3.5)):
        np.testing.assert_allclose(
            sums.image(det, scan), direct_image(frames, det, scan), rtol=1e-5
        )


def test_coarse_cells_approximate_the_image():
    """Patterns as a detector sees them (a bright disc whose brightness varies)."""
    rng = np.random.default_rng(2)
    ky, kx = np.indices(FRAME)
    disc = np.clip(7.5 - np.hypot(ky - 11.7, kx - 9.6), 0, 1)
    frames = rng.uniform(50, 200, N)[:, None, None] * disc + rng.normal(5, 1, (N, *FRAME))
    sums = CellSums(N, FRAME, budget=N * 4 * 6 * 5)  # 6 x 5 cells of 4 x 4 pixels
    assert sums.grid.shape == (6, 5) and not sums.grid.exact
    sums.add(0, frames)
    det, scan = Detector(11.5, 9.5, 8.0), ScanChoice(SCAN, START, "x", 0)
    approx, exact = sums.image(det, scan), direct_image(frames, det, scan)
    assert np.corrcoef(approx.ravel(), exact.ravel())[0, 1] > 0.99
    # cells wholly inside or outside are exact: a detector on cell edges is exact
    edge = Detector(11.5, 9.5, 100.0)
    np.testing.assert_allclose(sums.image(edge, scan), direct_image(frames, edge, scan), rtol=1e-5)


def test_frames_not_read_yet_are_nan_and_the_scan_map_is_the_readers(local):
    url, frames = local
    sums = CellSums(N, FRAME)
    sums.add(0, frames[:20])
    scan = ScanChoice(SCAN, START, "x", 2)
    image = sums.image(Detector(10, 10, 50), scan)
    grid = scan.frames(N)
    assert np.isnan(image[grid >= 20]).all() and np.isfinite(image[grid < 20]).all()
    sums.add(20, frames[20:])
    data = file_reader(url, **scan.reader_kwargs())[0]["data"]
    np.testing.assert_allclose(
        sums.image(Detector(10, 10, 50), scan), data.sum(axis=(-2, -1)), rtol=1e-5
    )
    # a scan running past the recording shows NaN there, not an error
    longer = ScanChoice((SCAN[0] + 1, SCAN[1]), START, None, 0)
    assert np.isnan(sums.image(Detector(10, 10, 50), longer)[-1, 1:]).all()


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Detector(1, 1, -2), "radii"),
        (lambda: Detector(1, 1, 3, 4), "inner < outer"),
        (lambda: Detector(float("nan"), 1, 3), "finite"),
        (lambda: ScanChoice((10**6, 10**6)).frames(100), "more positions"),
        (lambda: ScanChoice((4, 4), 0, "z").frames(100), "winding_scan_axis"),
    ],
)
def test_bad_values_are_named(make, match):
    with pytest.raises(ViewError, match=match):
        make()


def test_find_disc_finds_the_bright_disc():
    ky, kx = np.indices((64, 64))
    mean = np.where(np.hypot(ky - 30, kx - 25) <= 8, 100.0, 1.0)
    d = find_disc(mean)
    assert abs(d.cy - 30) < 0.5 and abs(d.cx - 25) < 0.5 and 8 < d.r_out < 12


def test_cell_sums_of_coarse_grid_are_the_pixel_sums():
    frames = np.random.default_rng(1).integers(0, 1000, (3, 10, 9), dtype=np.uint16)
    grid = CellGrid((10, 9), 4)
    assert grid.shape == (3, 3)
    sums = grid.sums(frames).reshape(3, 3, 3)
    ey, ex = grid.edges_y, grid.edges_x
    for i in range(3):
        for j in range(3):
            block = frames[:, ey[i] : ey[i + 1], ex[j] : ex[j + 1]].sum(axis=(1, 2))
            np.testing.assert_allclose(sums[:, i, j], block)


def get(viewer, path, token=True):
    headers = {"X-Token": viewer.token} if token else {}
    base = viewer.url.split("?")[0]
    request = urllib.request.Request(base + path, headers=headers)
    with urllib.request.urlopen(request, timeout=20) as r:
        return r.headers, r.read()


def test_the_api_over_http(local, tmp_path):
    url, frames = local
    cat = tmp_path / "c.yaml"
    viewer = intake_tvips.view(
        url, scan_shape=SCAN, scan_start_frame=START, winding_scan_axis="x", catalog=cat
    )
    try:
        assert viewer.session.scan_pass.join(30)
        assert f'<iframe src="{viewer.url}"' in viewer._repr_html_()  # Jupyter's display
        assert viewer.url.startswith("http://127.0.0.1:") and "?token=" in viewer.url
        info = json.loads(get(viewer, "api/info")[1])
        assert info["scan"] == {"ny": 5, "nx": 7, "start": 2, "winding": "x", "hysteresis": 0}
        status = json.loads(get(viewer, "api/status")[1])
        assert status["done"] == status["total"] == N and status["finished"]
        q = "cy=10&cx=10&r_out=50&ny=5&nx=7&start=2&winding=x&hysteresis=1"
        headers, body = get(viewer, "api/image?" + q)
        image = np.frombuffer(body, "<f4").reshape(5, 7)
        data = file_reader(
            url, scan_shape=SCAN, scan_start_frame=START, winding_scan_axis="x", hysteresis=1
        )[0]["data"]
        np.testing.assert_allclose(image, data.sum(axis=(-2, -1)), rtol=1e-5)
        headers, body = get(viewer, "api/pattern?y=1&x=3&ny=5&nx=7&start=2&winding=x")
        frame = int(headers["X-Frame"])
        assert frame == intake_tvips.scan_frame_numbers(SCAN, START, "x")[1, 3]
        np.testing.assert_array_equal(np.frombuffer(body, "<f4").reshape(FRAME), frames[frame])
        with pytest.raises(urllib.error.HTTPError) as e:
            get(viewer, "api/pattern?y=9&x=3&ny=5&nx=7&start=2")
        assert e.value.code == 400 and "outside" in json.loads(e.value.read())["error"]
        with pytest.raises(urllib.error.HTTPError) as e:
            get(viewer, "api/image?" + q, token=False)
        assert e.value.code == 403
    finally:
        viewer.stop()


def test_the_suggestion_comes_from_estimate_hysteresis_when_it_exists(local, monkeypatch):
    url, _ = local
    calls = []

    class Estimate:
        hysteresis, confidence, reason = 3, 0.9, "rows line up at 3"

    def estimate(urlpath, scan_shape, scan_start_frame=0, winding_scan_axis="x", **kw):
        calls.append((scan_shape, scan_start_frame, winding_scan_axis))
        return Estimate()

    monkeypatch.setattr(intake_tvips, "estimate_hysteresis", estimate, raising=False)
    viewer = intake_tvips.view(url, scan_shape=SCAN, scan_start_frame=START, winding_scan_axis="x")
    try:
        viewer.session.scan_pass.join(30)
        for _ in range(100):
            if viewer.session.suggestion is not None:
                break
            import time

            time.sleep(0.05)
        status = json.loads(get(viewer, "api/status")[1])
    finally:
        viewer.stop()
    assert calls == [(SCAN, START, "x")]  # (the recording opened is passed as urlpath)
    assert status["suggestion"] == {
        "hysteresis": 3,
        "confidence": 0.9,
        "reason": "rows line up at 3",
    }


def test_view_command_options_and_errors(tmp_path, capsys):
    assert main(["view", "--help"]) == 0
    assert "--no-browser" in capsys.readouterr().out
    assert main(["view", "--no-browser"]) == 2
    assert "give a URL, or --catalog and --entry" in capsys.readouterr().err
    assert main(["view", str(tmp_path / "missing.tvips"), "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing" in err


def test_without_aiohttp_the_extra_is_named(local, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    with pytest.raises(MissingDependencyError, match=r"intake-tvips\[view\]"):
        intake_tvips.view(local[0])
    assert main(["view", local[0], "--no-browser"]) == 2
    assert "pip install 'intake-tvips[view]'" in capsys.readouterr().err


def test_large_patterns_are_binned_for_display():
    assert display_bin((64, 64)) == 1 and display_bin((512, 512)) == 1
    assert display_bin((2048, 2048)) == 4 and display_bin((1030, 600)) == 3
    a = np.arange(7 * 9, dtype=np.float64).reshape(7, 9)
    b = binned(a, 3)
    assert b.shape == (2, 3) and b[1, 2] == a[3:6, 6:9].mean()


def test_an_entry_is_viewed_and_written_back(local, tmp_path, capsys):
    """``intake-tvips view --catalog exp.yaml --entry NAME`` (no URL): the entry's
    parameters on the page; writing replaces it in place, the file's comments kept."""
    url, _ = local
    cat = tmp_path / "exp.yaml"
    cat.write_text("# our catalog\nsources: {}\n")
    argv = ["catalog", url, "--name", "s1", "--scan-shape", "5x7", "--scan-start-frame", "2"]
    assert main([*argv, "--winding", "x", "-o", str(cat)]) == 0
    capsys.readouterr()
    import intake

    source = intake.open_catalog(str(cat)).s1
    viewer = intake_tvips.view(source, catalog=cat, entry="s1")
    try:
        info = viewer.session.info()
        assert info["scan"] == {"ny": 5, "nx": 7, "start": 2, "winding": "x", "hysteresis": 0}
        assert info["catalog"]["replace"] is True
        got = viewer.session.write_catalog(ScanChoice(SCAN, START, "x", 4), replace=True)
    finally:
        viewer.stop()
    assert got["what"] == "replaced"
    text = cat.read_text()
    assert text.startswith("# our catalog\n") and "hysteresis: 4" in text
    assert intake.open_catalog(str(cat)).s1.hysteresis == 4


def post(viewer, path, body: dict):
    base = viewer.url.split("?")[0]
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"X-Token": viewer.token, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as r:
        return json.loads(r.read())


def test_an_exact_pass_on_request(local, monkeypatch):
    """Coarse cells (a small budget): the image is approximate until an exact pass for
    that detector has run; then exact, and only for that detector."""
    from intake_tvips.viewer import state

    url, frames = local
    monkeypatch.setattr(state, "CELL_BUDGET_BYTES", N * 4 * 30)  # 6 x 5 cells
    scan = ScanChoice(SCAN, START, "x", 0)
    viewer = intake_tvips.view(url, scan_shape=SCAN, scan_start_frame=START, winding_scan_axis="x")
    try:
        assert viewer.session.scan_pass.join(30) and not viewer.session.info()["exact"]
        det = {"cy": 11.3, "cx": 9.2, "r_out": 6.7, "r_in": 2.1}
        q = "&".join(f"{k}={v}" for k, v in det.items()) + "&ny=5&nx=7&start=2&winding=x"
        headers, body = get(viewer, "api/image?" + q)
        assert headers["X-Exact"] == "0"
        post(viewer, "api/exact", det)
        assert viewer.session.exact_pass.join(30)
        headers, body = get(viewer, "api/image?" + q)
        assert headers["X-Exact"] == "1"
        want = direct_image(frames, Detector(**det), scan)
        np.testing.assert_allclose(np.frombuffer(body, "<f4").reshape(SCAN), want, rtol=1e-5)
        status = json.loads(get(viewer, "api/status")[1])
        assert status["exact"]["finished"] and status["exact"]["done"] == N
        headers, _ = get(viewer, "api/image?" + q.replace("r_out=6.7", "r_out=7"))
        assert headers["X-Exact"] == "0"
    finally:
        viewer.stop()
