"""``intake_tvips.view`` in a real browser: the system's headless Chromium driven by
Playwright (``.ci/run`` installs Debian's chromium; never ``playwright install``).

What the page draws is checked from screenshots: the virtual image is not blank, a click
shows that position's pattern, the hysteresis that unwinds the demo's smiley (2) lines its
rows up best, the catalog written equals ``intake-tvips catalog``'s; locally and from the
moto S3 server; a recording without positions opens on the scan the pixels lean to;
and nothing is served without the token.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from pathlib import Path

import fsspec
import numpy as np
import pytest
import scan_camera as sp
import scan_textures as st
import yaml

import intake_tvips
from intake_tvips import file_reader, scan_frame_numbers
from intake_tvips.cli import main
from intake_tvips.cli.demo import _step_write
from intake_tvips.cli.demo_data import HYSTERESIS, JUNK_BEFORE, synthesize

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCAN = 64
DETECTED = dict(scan_shape=(SCAN, SCAN), scan_start_frame=JUNK_BEFORE, winding_scan_axis="x")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The demo's recording (``intake-tvips demo``'s writer): ``data/scan_000.tvips`` .. 003."""
    out = tmp_path_factory.mktemp("demo")
    frames, _ = synthesize(SCAN)
    (out / "data").mkdir()
    _step_write(out, frames, SCAN, lambda *a: None, {})
    return out / "data" / "scan_000.tvips"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def gray(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float64)


def cells(shot: np.ndarray, ny: int, nx: int) -> np.ndarray:
    """A screenshot of a canvas sampled at the centres of an ``ny x nx`` grid."""
    h, w = shot.shape
    ys = ((np.arange(ny) + 0.5) * h / ny).astype(int)
    xs = ((np.arange(nx) + 0.5) * w / nx).astype(int)
    return shot[np.ix_(ys, xs)]


def row_correlation(image: np.ndarray) -> float:
    """Mean Pearson r of each row with the next: rows that line up correlate."""
    r = [np.corrcoef(a, b)[0, 1] for a, b in zip(image[:-1], image[1:]) if a.std() and b.std()]
    return float(np.mean(r))


def open_page(page, viewer):
    page.goto(viewer.url)
    page.wait_for_selector("body[data-full='1']", timeout=60_000)
    return page


def set_hysteresis(page, h: int) -> np.ndarray:
    """Type ``h`` into the control; the virtual image once redrawn for it (screenshot)."""
    page.fill("#hysteresis", str(h))
    page.wait_for_selector(f"#vimage[data-hysteresis='{h}']")
    return cells(gray(page.locator("#vimage").screenshot()), SCAN, SCAN)


def click_position(page, y: int, x: int) -> int:
    """Click scan position ``(y, x)`` on the virtual image; the frame the page shows."""
    box = page.locator("#vimage").bounding_box()
    page.click(
        "#vimage",
        position={"x": (x + 0.5) * box["width"] / SCAN, "y": (y + 0.5) * box["height"] / SCAN},
    )
    page.wait_for_selector(f"#pattern[data-at='{y},{x}']")
    return int(page.get_attribute("#pattern", "data-frame"))


def check_the_page(page, viewer, url, storage_options=None):
    """Image not blank; a click shows its pattern; hysteresis 2 lines the rows up."""
    open_page(page, viewer)
    image = cells(gray(page.locator("#vimage").screenshot()), SCAN, SCAN)
    assert image.std() > 20 and np.ptp(image) > 120  # a picture, not a flat canvas
    assert (image < 80).mean() > 0.05 and (image > 180).mean() > 0.3  # smiley on light

    y, x = 20, 41
    frame = click_position(page, y, x)
    assert frame == scan_frame_numbers((SCAN, SCAN), JUNK_BEFORE, "x", 0)[y, x]
    assert f"frame {frame}" in page.text_content("#pattern-title")
    raw = file_reader(url, scan_shape=(1,), scan_start_frame=frame, storage_options=storage_options)
    expected = np.log1p(raw[0]["data"][0].astype(np.float64))
    shown = cells(gray(page.locator("#pattern").screenshot()), *expected.shape)
    assert np.corrcoef(shown.ravel(), expected.ravel())[0, 1] > 0.85

    by_h = {h: row_correlation(set_hysteresis(page, h)) for h in (0, 1, 2, 3)}
    assert max(by_h, key=by_h.get) == HYSTERESIS, by_h
    assert by_h[HYSTERESIS] > by_h[0] + 0.1, by_h
    return by_h


def catalog_from_the_page(page, expected_what="created") -> None:
    page.click("#write")
    page.wait_for_selector("#catalog-status[data-what]")
    assert page.get_attribute("#catalog-status", "data-what") == expected_what


def test_the_page_on_the_demo_recording(demo, page, tmp_path, capsys):
    cat = tmp_path / "exp.yaml"
    cat.write_text("# beamtime catalog, kept as written\nsources: {}\n")
    viewer = intake_tvips.view(str(demo), catalog=cat, entry="scan")
    try:
        check_the_page(page, viewer, str(demo))  # leaves hysteresis 3 set
        # intake_tvips.estimate_hysteresis's answer, offered on the page: "use it"
        page.wait_for_selector("#suggestion button", timeout=60_000)
        assert f"hysteresis {HYSTERESIS} " in page.text_content("#suggestion")
        page.click("#suggestion button")
        page.wait_for_selector(f"#vimage[data-hysteresis='{HYSTERESIS}']")
        catalog_from_the_page(page, "added")
        page.screenshot(path=str(tmp_path / "view.png"))
    finally:
        viewer.stop()
    text = cat.read_text()
    assert text.startswith("# beamtime catalog, kept as written\n")
    ours = tmp_path / "by_catalog.yaml"
    code = main(["catalog", str(demo), "--name", "scan", "--hysteresis", "2", "-o", str(ours)])
    assert code == 0
    capsys.readouterr()
    got, want = (yaml.safe_load(p.read_text())["sources"]["scan"] for p in (cat, ours))
    assert got["args"] == want["args"] and got["driver"] == want["driver"] == "tvips"
    assert got["args"]["hysteresis"] == HYSTERESIS
    data = intake_tvips.TVIPSSource(**{**got["args"], "urlpath": str(demo)}).read()
    assert data.shape == (SCAN, SCAN, 64, 64)


@pytest.fixture
def demo_s3(demo, s3):
    fs = fsspec.filesystem("s3", **s3.storage_options)
    for part in sorted(demo.parent.glob("scan_*.tvips")):
        fs.put(str(part), f"tvips/demo/{part.name}")
    fs.invalidate_cache()
    return "s3://tvips/demo/scan_000.tvips"


def test_the_page_on_s3(demo_s3, s3, page, tmp_path, capsys):
    options = s3.storage_options
    cat = tmp_path / "s3.yaml"
    viewer = intake_tvips.view(demo_s3, storage_options=options, catalog=cat, entry="scan")
    try:
        check_the_page(page, viewer, demo_s3, options)
        set_hysteresis(page, HYSTERESIS)
        catalog_from_the_page(page, "created")
        answers = [page.content()] + [
            page.evaluate(
                "async (p) => (await fetch(p, {headers: {'X-Token': "
                "document.querySelector('meta[name=tvips-token]').content}})).text()",
                path,
            )
            for path in ("api/info", "api/status")
        ]
    finally:
        viewer.stop()
    secret = options.get("secret") or options.get("aws_secret_access_key")
    key = options.get("key") or options.get("aws_access_key_id")
    endpoint = options["client_kwargs"]["endpoint_url"]
    for answer in answers:  # the page and its answers hold no credentials, no options
        assert secret not in answer and f'"{key}"' not in answer and endpoint not in answer
    assert "storage_options (client_kwargs): written, not shown" in answers[0]
    ours = tmp_path / "by_catalog.yaml"
    so = [f"--storage-option={k}={json.dumps(v)}" for k, v in options.items()]
    code = main(["catalog", demo_s3, "--name", "scan", "--hysteresis", "2", "-o", str(ours), *so])
    assert code == 0
    capsys.readouterr()
    got, want = (yaml.safe_load(p.read_text())["sources"]["scan"] for p in (cat, ours))
    assert got["args"] == want["args"]
    assert got["args"]["urlpath"] == demo_s3
    assert secret not in cat.read_text()


def test_without_the_token_nothing_is_served(demo, page):
    viewer = intake_tvips.view(str(demo))
    try:
        base = viewer.url.split("?")[0]
        for url in (base, base + "?token=wrong", base + "static/app.js", base + "api/info"):
            response = page.goto(url)
            assert response.status == 403, url
            assert "token" in page.text_content("body")
        for path in ("api/info", "api/mean", "static/../session.py", "api/catalog"):
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(base + path, timeout=10)
            assert e.value.code == 403
        request = urllib.request.Request(base + "api/info", headers={"X-Token": viewer.token})
        with urllib.request.urlopen(request, timeout=10) as r:
            assert json.loads(r.read())["n_frames"] == SCAN * SCAN + 5
        assert page.goto(viewer.url).status == 200
    finally:
        viewer.stop()


def readme_commands() -> list[str]:
    text = (Path(__file__).parents[1] / "README.md").read_text()
    block = text.split("## See the scan")[1].split("```bash\n")[1].split("```")[0]
    return [line.split("#")[0].strip() for line in block.splitlines()]


def test_the_readme_commands(demo, page, tmp_path):
    """README's "See the scan": ``intake-tvips demo`` (its recording: the ``demo``
    fixture, linked as ``tvips-demo``), then ``intake-tvips view ...`` (with
    ``--no-browser``: the test's Chromium opens the URL it prints), stopped by Ctrl-C."""
    import os
    import re
    import signal
    import subprocess
    import sys

    demo_command, view_command = readme_commands()
    assert demo_command == "intake-tvips demo"
    (tmp_path / "tvips-demo").mkdir()
    (tmp_path / "tvips-demo" / "data").symlink_to(demo.parent)
    argv = view_command.split()
    assert argv[:2] == ["intake-tvips", "view"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "intake_tvips", *argv[1:], "--no-browser"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [proc.stdout.readline() for _ in range(2)]
        assert "4101 frames; scan detected (scan_xy" in lines[0], lines
        url = re.search(r"serving (http://127\.0\.0\.1:\d+/\?token=\S+)", lines[1]).group(1)
        open_page(page, type("V", (), {"url": url}))
        image = cells(gray(page.locator("#vimage").screenshot()), SCAN, SCAN)
        assert image.std() > 20
        assert page.goto(url.split("?")[0]).status == 403
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "stopped" in out


def test_coarse_cells_and_the_exact_image_on_request(demo, page, monkeypatch):
    """Cells of 4 x 4 pixels (a small budget): the page says so, and its "exact image"
    button reads the recording again for the detector shown."""
    from intake_tvips.viewer import state

    monkeypatch.setattr(state, "CELL_BUDGET_BYTES", (SCAN * SCAN + 5) * 4 * 256)
    viewer = intake_tvips.view(str(demo))
    try:
        open_page(page, viewer)
        assert "16 × 16 detector cells" in page.text_content("footer")
        assert "from cells" in page.text_content("#vimage-caption")
        approx = cells(gray(page.locator("#vimage").screenshot()), SCAN, SCAN)
        page.click("#exact")
        page.wait_for_selector("#vimage[data-exact='1']", timeout=60_000)
        assert "exact" in page.text_content("#vimage-caption")
        exact = cells(gray(page.locator("#vimage").screenshot()), SCAN, SCAN)
        assert np.corrcoef(approx.ravel(), exact.ravel())[0, 1] > 0.9
    finally:
        viewer.stop()


def test_hysteresis_auto_opens_with_the_estimate(demo):
    """``hysteresis="auto"`` (``--hysteresis auto``): the page opens at the estimate."""
    viewer = intake_tvips.view(str(demo), hysteresis="auto")
    try:
        info = viewer.session.info()
    finally:
        viewer.stop()
    assert info["scan"]["hysteresis"] == HYSTERESIS
    assert f"hysteresis {HYSTERESIS} estimated from the pixels" in info["origin"]


def test_a_recording_without_positions_opens_on_the_pixels_guess(page, tmp_path):
    """No Scan_x/Scan_y, a probe parked on the first position: the pixels find rows of
    40 and lean to start 4 without deciding it; the page opens there, says it is a
    guess, and shows the sample where it is (the frames' sums), not as start 0 would."""
    frames = sp.recording(
        (48, 40), sp.Camera(detector=32, dose=200.0), texture_name="smiley",
        junk="parked_first", junk_before=4, junk_after=2, seed=3,
    )  # fmt: skip
    viewer = intake_tvips.view(str(st.write(tmp_path / "parked.tvips", frames)))
    try:
        open_page(page, viewer)
        assert (page.input_value("#ny"), page.input_value("#nx")) == ("48", "40")
        assert page.input_value("#start") == "4"
        head = page.text_content("#origin-head")
        assert head.startswith("Scan guessed from the pixels (rows of 40 frames, not decided")
        truth = frames[4 : 4 + 48 * 40].sum(axis=(1, 2), dtype=np.float64).reshape(48, 40)
        by_start = {}
        for start in (0, 4):  # typed: 0, then back to 4
            page.fill("#start", str(start))
            page.wait_for_selector(f"#vimage[data-key*='\"start\":{start},']")
            image = cells(gray(page.locator("#vimage").screenshot()), 48, 40)
            by_start[start] = float(np.corrcoef(image.ravel(), truth.ravel())[0, 1])
        page.screenshot(path=str(tmp_path / "guess.png"))
    finally:
        viewer.stop()
    assert by_start[4] > 0.9 and by_start[4] > by_start[0] + 0.05, by_start
