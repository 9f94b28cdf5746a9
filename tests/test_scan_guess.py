"""Where the pixels decide no scan but rows fit, ``ScanDetection.guess`` holds the scan
they lean to: ``info`` shows it (never as the answer: ``reader_kwargs`` and
``scan_shape="auto"`` ignore it) and the viewer opens on it instead of a square; a
recording whose headers carry no positions opens on the scan the pixels find."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scan_camera as sp
import scan_textures as st

import intake_tvips
from intake_tvips.cli import main
from intake_tvips.maths.pixel_raster import snake_lean
from intake_tvips.recording.pixel_start import ONE_WAY_START_CONFIDENCE
from intake_tvips.viewer.session import initial_scan


def _small(tmp_path):
    """12 rows of 24 after 3 blanked frames: rows fit, too few of them to decide."""
    frames, _ = st.recording(
        (12, 24), texture_name="grains", winding=None, junk_before=3, junk_after=2, seed=1
    )
    return st.write(tmp_path / "small.tvips", frames)


def _parked(tmp_path):
    """A probe parked on the first position, a smiley's flat border: rows of 40 fit;
    the rows break at start 4, but a flat first row might be a parked one."""
    frames = sp.recording(
        (48, 40), sp.Camera(detector=32, dose=200.0), texture_name="smiley",
        junk="parked_first", junk_before=4, junk_after=2, seed=3,
    )  # fmt: skip
    return st.write(tmp_path / "parked.tvips", frames)


def test_an_undecided_scan_carries_the_guess_and_nothing_reads_it(tmp_path):
    found = intake_tvips.detect_scan(_small(tmp_path), pixels=True)
    assert found.method == "none" and found.scan_shape is None
    assert found.guess == {"scan_shape": (12, 24), "scan_start_frame": 3, "winding_scan_axis": None}
    assert found.reader_kwargs() == {"scan_shape": None}
    assert hash(found) == hash(found) and found == found  # still a value
    found = intake_tvips.detect_scan(_parked(tmp_path), pixels=True)
    assert found.method == "none"
    assert found.guess == {  # the rows, and the start where the rows break, refused
        "scan_shape": (48, 40), "scan_start_frame": 4, "winding_scan_axis": None
    }  # fmt: skip
    assert "the rows break at start 4" in found.reason


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_start_whose_breaks_all_point_one_way_is_taken_at_low_confidence(tmp_path, seed):
    """A gradient along the rows: every fly-back steps the same way, as a sample's edge
    along the columns would, and the probe parked before the scan keeps still: the
    breaks' start (5) is the answer, at no more than ``ONE_WAY_START_CONFIDENCE``."""
    frames = sp.recording(
        (32, 24), sp.Camera(detector=32, dose=30.0, descan=1.5), texture_name="gradient",
        junk="parked_origin", junk_before=5, junk_after=4, seed=seed,
    )  # fmt: skip
    found = intake_tvips.detect_scan(st.write(tmp_path / "g.tvips", frames), pixels=True)
    assert (found.method, found.scan_shape, found.scan_start_frame) == ("pixels", (32, 24), 5)
    assert 0 < found.confidence <= ONE_WAY_START_CONFIDENCE
    assert "the breaks at start 5 all point one way" in found.reason
    assert "taken all the same" in found.reason and found.guess is None


@pytest.mark.parametrize(
    "shape, before, seed", [((24, 32), 5, 382752812), ((48, 96), 1, 1261395980)]
)
def test_one_way_breaks_of_rows_one_frame_short_are_not_taken(tmp_path, shape, before, seed):
    """Noise-free waves along the diagonal, a probe parked on the scan before it: rows
    one frame short fit as well as the true ones, and the waves' steepest slope breaks
    them one way. Taken as above, these were rows of ``nx - 1`` (``scan_pixels_accuracy``
    seeds 61 and 58): the frames the start leaves move at their end (scan frames among
    them), or the breaks repeat with the true rows too."""
    frames, _ = st.recording(
        shape, texture_name="diagonal", winding=None, dose=None, junk="parked",
        junk_before=before, junk_after=0 if before == 1 else 1, seed=seed,
    )  # fmt: skip
    found = intake_tvips.detect_scan(st.write(tmp_path / "d.tvips", frames), pixels=True)
    assert found.method == "none", found
    assert "point one way" in found.reason


@pytest.mark.parametrize("seed", [0, 1])
def test_a_snake_tied_with_rows_of_its_row_pairs_is_the_guess(tmp_path, seed):
    """A gradient snake of 24 x 64 at 200 counts: rows of 128 (its row pairs) fit as
    well, undecided; a smooth sample makes every snake do so, where rows of 128 fit a
    snake only over a sample mirrored about their middle: the guess is the snake."""
    frames, _ = st.recording(
        (24, 64), texture_name="gradient", winding="x", hysteresis=3, dose=200.0, seed=seed,
        junk_before=2, junk_after=3,
    )  # fmt: skip
    found = intake_tvips.detect_scan(st.write(tmp_path / "g.tvips", frames), pixels=True)
    assert found.method == "none" and found.reader_kwargs() == {"scan_shape": None}
    assert "snake rows of 64 and rows of 128 frames fit about as well" in found.reason
    assert found.guess == {"scan_shape": (24, 64), "scan_start_frame": 2, "winding_scan_axis": "x"}


def test_only_a_snake_against_rows_of_twice_its_length_leans():
    assert snake_lean((0.1, "x", 64, 3, 20), (0.1, None, 128)) == (64, "x")
    assert snake_lean((0.1, None, 129), (0.1, "x", 64, 0, 20)) == (64, "x")
    assert snake_lean((0.1, "x", 64, 3, 20), (0.1, "y", 128)) is None
    assert snake_lean((0.1, None, 92), (0.1, "x", 23, 0, 20)) is None  # a diagonal's
    assert snake_lean((0.1, None, 64), (0.1, None, 128)) is None


def test_the_viewer_opens_on_a_snake_guess_with_its_hysteresis(tmp_path):
    """The snake tied with rows of its row pairs (above), hysteresis 3: the page opens on
    the snake with the hysteresis estimated on the guess, not 0 (a comb at the turns)."""
    frames, _ = st.recording(
        (24, 64), texture_name="gradient", winding="x", hysteresis=3, dose=200.0, seed=0,
        junk_before=2, junk_after=3,
    )  # fmt: skip
    rec = intake_tvips.open_recording(str(st.write(tmp_path / "g.tvips", frames)))
    choice, origin = initial_scan(rec, "auto", None, None, None)
    assert (choice.shape, choice.start, choice.winding, choice.hysteresis) == ((24, 64), 2, "x", 3)
    assert origin.startswith("guessed from the pixels (rows of 64 frames, not decided: tune it)")
    assert "; hysteresis 3, from the pixels of" in origin


def test_the_viewer_offers_the_guess_s_estimate_without_making_it_again(tmp_path, monkeypatch):
    """The estimate made opening on a guess is the page's suggestion: starting the
    session asks for no second one (a bounded read again, from S3 seconds)."""
    from intake_tvips.viewer.session import ViewSession

    frames, _ = st.recording(
        (24, 64), texture_name="gradient", winding="x", hysteresis=3, dose=200.0, seed=0,
        junk_before=2, junk_after=3,
    )  # fmt: skip
    url = str(st.write(tmp_path / "g.tvips", frames))
    again = []
    monkeypatch.setattr(intake_tvips, "estimate_hysteresis", lambda *a, **k: again.append(a))
    session = ViewSession(url).start()
    try:
        session.scan_pass.join(30)
    finally:
        session.scan_pass.stop()
    assert session.scan.hysteresis == 3 and not again
    assert session.suggestion["hysteresis"] == 3 and session.suggestion["confidence"] >= 0.9
    given = ViewSession(url, scan_start_frame=2)  # another start: estimated for it
    assert given.suggestion is None


def test_no_guess_where_the_scan_is_decided_or_no_rows_fit(tmp_path):
    frames, _ = st.recording((24, 32), texture_name="grains", winding="x", hysteresis=2)
    found = intake_tvips.detect_scan(st.write(tmp_path / "ok.tvips", frames), pixels=True)
    assert found.method == "pixels" and found.guess is None
    flat, _ = st.recording((24, 32), texture_name="flat", winding=None)
    found = intake_tvips.detect_scan(st.write(tmp_path / "flat.tvips", flat), pixels=True)
    assert found.method == "none" and found.guess is None


def test_info_shows_the_guess_as_a_guess(tmp_path, capsys):
    url = str(_small(tmp_path))
    assert main(["info", url]) == 0  # without --pixels: where to look next
    assert "scan (not in the frame headers; --pixels looks for it" in capsys.readouterr().out
    assert main(["info", "--pixels", "--json", url]) == 0
    scan = json.loads(capsys.readouterr().out)["scan"]
    assert scan["guess"] == {
        "scan_shape": [12, 24], "scan_start_frame": 3, "winding_scan_axis": None
    }  # fmt: skip
    assert scan["reader_kwargs"] == {"scan_shape": None}
    assert main(["info", "--pixels", url]) == 0
    text = capsys.readouterr().out
    assert "the pixels do not decide" in text
    assert "12 x 24 from frame 3, plain rows: the pixels lean to it but do not decide" in text


def test_the_viewer_opens_on_the_pixels_scan_then_their_guess(tmp_path):
    frames, _ = st.recording(
        (24, 32), texture_name="grains", winding="x", hysteresis=2, junk_before=3
    )
    rec = intake_tvips.open_recording(str(st.write(tmp_path / "ok.tvips", frames)))
    choice, origin = initial_scan(rec, "auto", None, None, None)
    assert (choice.shape, choice.start, choice.winding, choice.hysteresis) == ((24, 32), 3, "x", 2)
    assert origin.startswith("detected (pixels, confidence")
    rec = intake_tvips.open_recording(str(_small(tmp_path)))
    choice, origin = initial_scan(rec, "auto", None, None, None)
    assert (choice.shape, choice.start, choice.winding) == ((12, 24), 3, None)
    assert origin.startswith("guessed from the pixels (rows of 24 frames, not decided")
    flat, _ = st.recording((24, 32), texture_name="flat", winding=None, junk_before=0)
    rec = intake_tvips.open_recording(str(st.write(tmp_path / "flat.tvips", flat)))
    choice, origin = initial_scan(rec, "auto", None, None, None)
    side = int(np.sqrt(rec.n_frames))
    assert choice.shape == (side, side) and "a square guess shown" in origin


def test_the_catalog_entry_stays_a_stack_and_names_the_guess(tmp_path, capsys):
    import yaml

    assert main(["catalog", str(_small(tmp_path)), "--name", "small"]) == 0
    entry = yaml.safe_load(capsys.readouterr().out)["small"]
    assert entry["args"]["scan_shape"] is None
    assert "the pixels lean to scan_shape (12, 24), scan_start_frame 3" in entry["description"]
