"""The whole scan from the pixels when the headers carry no positions
(``detect_scan(pixels=True)``, ``method="pixels"``): right where the pixels tell,
undecided (``method="none"``) where they cannot, never a confident wrong raster."""

from __future__ import annotations

import numpy as np
import pytest
import scan_textures as st

import intake_tvips
from intake_tvips.maths.periodicity import periodic_events, step_distances
from intake_tvips.maths.pixel_raster import PLAIN_ALTERNATION, Y_ALTERNATION, alternation
from intake_tvips.maths.scan_ends import (
    among_scan,
    moving_end,
    parked_ends,
    parked_on_scan,
    scan_start,
    still_lead,
)
from intake_tvips.recording.scan_pixels import scan_from_pixels

#: the generated recording's settings unless a test says otherwise
DEFAULTS = dict(winding=None, hysteresis=0, junk_before=5, junk_after=3, dose=200.0, seed=3)


def _found(tmp_path, shape=(24, 40), **kw):
    frames, _ = st.recording(shape, **{**DEFAULTS, **kw})
    path = st.write(tmp_path / "scan.tvips", frames)
    return intake_tvips.detect_scan(path, pixels=True)


@pytest.mark.parametrize("texture", ["gradient", "diagonal", "particles"])
def test_plain_raster_with_blanked_frames_is_found(tmp_path, texture):
    found = _found(tmp_path, texture_name=texture)
    assert found.method == "pixels", found.reason
    assert (found.scan_shape, found.scan_start_frame) == ((24, 40), 5)
    assert found.winding_scan_axis is None
    assert found.confidence > 0.2
    assert "MiB" in found.reason


def test_rows_longer_than_the_first_read_allows_are_found(tmp_path):
    # 1024 frames hold 5 rows of 200: the run read from the start doubles until 8 do
    frames, _ = st.recording(
        (16, 200), texture_name="grains", winding=None, junk_before=4, junk_after=2, seed=5
    )
    rec = intake_tvips.open_recording(st.write(tmp_path / "wide.tvips", frames))
    found = scan_from_pixels(rec, max_bytes=1024 * rec.layout.record_bytes)
    assert (found.method, found.scan_shape, found.scan_start_frame) == ("pixels", (16, 200), 4)
    assert "in 3 reads" in found.reason  # the head read twice, the tail once


def test_snake_and_its_hysteresis_are_found(tmp_path):
    found = _found(
        tmp_path, (30, 40), texture_name="gradient", winding="x", hysteresis=3,
        junk_before=2, junk_after=1, dose=None, seed=1,
    )  # fmt: skip
    assert found.method == "pixels", found.reason
    assert (found.scan_shape, found.scan_start_frame, found.winding_scan_axis) == ((30, 40), 2, "x")
    assert found.hysteresis_source == "pixels"
    assert found.hysteresis == 3
    kwargs = found.reader_kwargs()
    assert kwargs["scan_shape"] == (30, 40) and kwargs["hysteresis"] == 3


@pytest.mark.parametrize("hysteresis", [0, 3, 7])
def test_winding_y_is_never_taken_for_a_plain_raster(tmp_path, hysteresis):
    # a texture changing little along y made these look plain (confidence 1.0) before
    # the steps' alternation was measured
    found = _found(
        tmp_path, (24, 24), texture_name="gradient", winding="y", hysteresis=hysteresis,
        junk_before=3, junk_after=0, dose=None,
    )  # fmt: skip
    if hysteresis < 7:  # at 7 the alternation is between plain's and y's: undecided
        assert found.method == "pixels", found.reason
    if found.method == "pixels":
        assert (found.scan_shape, found.scan_start_frame) == ((24, 24), 3)
        assert found.winding_scan_axis == "y"
        assert found.hysteresis_source != "pixels" or found.hysteresis == hysteresis


def test_alternation_of_the_steps():
    rng = np.random.default_rng(0)
    ny, nx = 40, 30
    y, x = np.mgrid[0:ny, 0:nx].astype(float)
    image = np.stack([np.sin(x / 5) + 0.5 * y / ny, np.cos(y / 7)], axis=-1)
    plain = image.reshape(-1, 2) + rng.normal(0, 0.01, (ny * nx, 2))
    bands = image.copy()
    bands[:, 0::2] = image[::-1, 0::2]  # every second column reversed along y
    wound = bands.reshape(-1, 2) + rng.normal(0, 0.01, (ny * nx, 2))
    assert alternation(plain, nx) < PLAIN_ALTERNATION
    assert alternation(wound, nx) > Y_ALTERNATION


@pytest.mark.parametrize("texture", ["flat", "noise_only"])
def test_no_contrast_is_undecided(tmp_path, texture):
    found = _found(tmp_path, texture_name=texture, seed=2)
    assert found.method == "none"
    assert found.scan_shape is None
    assert "undecided" in found.reason


def test_a_movie_without_a_scan_is_undecided(tmp_path):
    rng = np.random.default_rng(0)
    n, det = 1000, 12
    drift = np.cumsum(rng.normal(0, 0.05, n))  # slow change, no rows
    k = np.arange(det) - (det - 1) / 2
    disc = (np.hypot(*np.meshgrid(k, k)) < 3).astype(float)
    frames = rng.poisson(100 * (1 + 0.3 * np.sin(drift))[:, None, None] * disc + 2)
    path = st.write(tmp_path / "movie.tvips", frames.astype(np.uint16))
    found = intake_tvips.detect_scan(path, pixels=True)
    assert found.method == "none"


@pytest.mark.parametrize("winding", [None, "y"])
@pytest.mark.parametrize(("before", "after"), [(3, 2), (0, 2), (4, 0)])
def test_probe_parked_on_the_scan_is_junk(tmp_path, winding, before, after):
    # the parked frames repeat the scan's own patterns, but not their would-be
    # neighbours a row away
    found = _found(
        tmp_path,
        texture_name="gradient",
        winding=winding,
        hysteresis=2 if winding else 0,
        junk_before=before,
        junk_after=after,
        seed=4,
        junk="parked",
    )
    assert found.method == "pixels", found.reason
    assert (found.scan_shape, found.scan_start_frame) == ((24, 40), before)
    assert found.winding_scan_axis == winding
    assert "a probe parked" in found.reason


def test_parked_probe_on_a_flat_corner_is_undecided(tmp_path):
    # the smiley's corner is flat: the parked frames look like scan frames there, so
    # which frames lie before the scan and which after, the pixels cannot tell
    found = _found(tmp_path, texture_name="smiley", junk_before=3, junk_after=2, junk="parked")
    assert found.method == "none"
    assert "not told apart" in found.reason


@pytest.mark.parametrize("texture", ["gradient", "diagonal", "particles"])
@pytest.mark.parametrize("cut", [1, 7, 23])
def test_scan_cut_short_is_never_given_another_start(tmp_path, texture, cut):
    # the last row unfinished, no junk: its frames have neighbours a row before them
    frames, _ = st.recording((24, 40), **{**DEFAULTS, "junk_before": 0, "junk_after": 0},
                             texture_name=texture)  # fmt: skip
    path = st.write(tmp_path / "scan.tvips", frames[: frames.shape[0] - cut])
    found = intake_tvips.detect_scan(path, pixels=True)
    assert found.method == "none" or (found.scan_shape, found.scan_start_frame) == ((23, 40), 0)


def test_parked_on_scan_rule():
    rng = np.random.default_rng(2)
    ny, nx = 30, 20
    y = np.arange(ny)[:, None, None]
    image = (rng.normal(size=(1, nx, 2)) + 0.05 * y).reshape(-1, 2)  # alike along columns
    z = np.concatenate([np.repeat(image[:1], 4, 0), image, np.repeat(image[-1:], 3, 0)])
    z += rng.normal(0, 0.005, z.shape)  # steps along columns clearly above the noise
    assert parked_on_scan(z, z[-100:], nx, 7, nx, overlap=True)[:2] == (4, 3)
    assert parked_on_scan(z, z[-100:], nx, 6, nx, overlap=True)[:2] == (None, None)
    moving = image + rng.normal(0, 0.02, image.shape)  # no parked frames: none found
    assert parked_on_scan(moving[3:], moving[-100:], nx, 3, nx, overlap=True)[0] is None


def test_among_scan_tells_a_scan_frame_from_one_off_it():
    """On a raster whose frames lie a row apart from their nearest other (time
    neighbours left out): a frame back on a scan position lies among the scan's; one
    three rows off the scan, or one just before the first frame when that frame (its
    neighbour in time) is left out of ``others``, does not."""
    rng = np.random.default_rng(4)
    y, x = (v.ravel().astype(float) for v in np.mgrid[0:20, 0:20])
    scan = np.stack([y, x, np.zeros_like(y)], axis=1) + rng.normal(0, 0.02, (400, 3))
    again = scan[210] + rng.normal(0, 0.02, 3)
    off = np.array([-3.0, 5.0, 0.0])
    lone = scan[0] - np.array([0.0, 0.9, 0.0])
    near = among_scan([(again, scan), (off, scan), (lone, scan[1:]), (lone, scan)], scan)
    assert near == [True, False, False, True]


def test_moving_end_tells_scan_frames_joined_to_a_still_run():
    """A parked run keeps still (noise alike in every step, or a slow drift); two scan
    frames joined to its end move by more than four times its median step."""
    rng = np.random.default_rng(5)
    still = rng.normal(0, 0.1, (8, 6))  # noise alone
    assert not moving_end(still)
    drifting = np.linspace(0, 1, 8)[:, None] * np.ones(6)  # a slow drift, even steps
    assert not moving_end(drifting)
    moved = np.concatenate([still, still[-1] + np.array([[1.0] + [0] * 5, [2.0] + [0] * 5])])
    assert moving_end(moved)
    assert not moving_end(moved[-3:])  # two steps do not tell
    # noise-free: the run keeps still to the count; a count's rounding is no move where a
    # floor (a share of the scan's step) is given, a scan frame's step still is
    exact = np.zeros((6, 6))
    rounded = exact.copy()
    rounded[-1, 0] = 0.01
    assert moving_end(rounded) and not moving_end(rounded, floor=0.01)
    assert moving_end(np.concatenate([exact, [[1.0] + [0] * 5]]), floor=0.01)
    assert moving_end(moved) and not moving_end(moved, factor=1e6)


@pytest.mark.parametrize("frames", [1, 2, 5, 40])
def test_too_few_frames_are_undecided(tmp_path, frames):
    stack, _ = st.recording((1, frames), texture_name="grains", junk_before=0, junk_after=0)
    found = intake_tvips.detect_scan(st.write(tmp_path / "few.tvips", stack), pixels=True)
    assert found.method == "none" and found.scan_shape is None


def test_scan_start_rules():
    assert scan_start(1000, 40, (5, 0))[0] == 5
    assert scan_start(1003, 40, (0, 3))[0] == 0
    assert scan_start(1000 + 7 + 3, 40, (0, 3))[0] == 7
    assert scan_start(1200, 40, (0, 0))[0] is None  # whole rows: parked_on_scan tells
    assert scan_start(1207, 40, (0, 0))[0] is None


@pytest.mark.parametrize("dose", [None, 200.0])
def test_probe_parked_off_the_scan_is_junk(tmp_path, dose):
    found = _found(tmp_path, texture_name="gradient", dose=dose, junk="parked_off")
    assert found.method == "pixels", found.reason
    assert (found.scan_shape, found.scan_start_frame) == ((24, 40), 5)


def test_parked_ends_find_a_repeated_pattern_unlike_the_scan():
    frames, _ = st.recording(
        (24, 40),
        texture_name="grains",
        winding=None,
        junk_before=6,
        junk_after=2,
        dose=None,
        seed=1,
        junk="parked_off",
    )
    from intake_tvips.recording.pixels import cell_sums

    assert parked_ends(cell_sums(frames, 8)) == (6, 2)
    frames, _ = st.recording((24, 40), texture_name="grains", junk_before=0, junk_after=0)
    assert parked_ends(cell_sums(frames, 8)) == (0, 0)


def test_parked_ends_at_a_low_dose():
    # at 20 counts a step between scan frames is mostly noise: the parked run stands
    # apart from the farthest any scan frame lies from its nearest other one
    from intake_tvips.recording.pixels import cell_sums

    found = []
    for texture in st.TEXTURES:
        for seed in range(3):
            frames, _ = st.recording(
                (32, 48), texture_name=texture, winding=None, dose=20.0, seed=seed,
                junk_before=5, junk_after=3, junk="parked_off",
            )  # fmt: skip
            found.append(parked_ends(cell_sums(frames, 8)))
    assert all(b <= 5 and a <= 3 for b, a in found)  # never a scan frame taken for junk
    assert sum(f == (5, 3) for f in found) >= 12, found


@pytest.mark.parametrize("dose", [None, 200.0, 20.0])
def test_a_probe_parked_on_the_scan_is_not_parked_off(dose):
    # its run ends with the scan's own first frame: taken for junk, the start would be
    # one late
    from intake_tvips.recording.pixels import cell_sums

    for texture in st.TEXTURES:
        for winding in (None, "x", "y"):
            frames, _ = st.recording(
                (24, 32), texture_name=texture, winding=winding, dose=dose,
                junk_before=4, junk_after=2, junk="parked",
            )  # fmt: skip
            before, after = parked_ends(cell_sums(frames, 8))
            assert before <= 4 and after <= 2, (texture, winding)


def test_breaks_of_a_plain_raster_repeat_with_its_rows():
    rng = np.random.default_rng(1)
    nx, ny = 37, 30
    y, x = np.mgrid[0:ny, 0:nx]
    image = np.stack([x / nx, y / ny], axis=-1).reshape(-1, 2)
    z = image + rng.normal(0, 0.01, image.shape)
    found = periodic_events(step_distances(z), 4, 200)
    assert found.period == nx and found.phase == nx - 1
    assert found.log10_p < -10
    noise = periodic_events(step_distances(rng.normal(size=(nx * ny, 2))), 4, 200)
    assert noise.log10_p > -3


@pytest.mark.parametrize("roll", [0, 3])
def test_folds_of_a_snake_sit_at_its_turns(roll):
    from tvips_factory import reference_grid

    from intake_tvips.maths.snake_fold import snake_fit

    nx, ny = 20, 12
    y, x = np.mgrid[0:ny, 0:nx].astype(float)
    image = np.stack([np.sin(x / 3), y * 0.1], axis=-1).reshape(-1, 2)
    z = np.zeros_like(image)
    z[reference_grid((ny, nx), 0, "x", roll).reshape(-1)] = image  # frames in time order
    distance, turns, found = snake_fit(z, nx)
    assert (turns, found) == ((roll - 1) % (2 * nx), roll)  # turns at 2 start + h - 1
    assert distance == pytest.approx(0.1**2)  # frames one row apart: y differs by 0.1


def test_still_lead_counts_the_steps_stiller_than_the_scan_moves_there():
    rng = np.random.default_rng(1)
    steps = rng.uniform(1.0, 2.0, 1000)  # every step moves (a descan), rows of 20
    assert still_lead(steps, 20, steps) == 0
    parked = steps.copy()
    parked[:3] = [1e-3, 2e-3, 5e-4]  # a probe parked on the first position
    assert still_lead(parked, 20, parked) == 3
    corner = steps.copy()
    corner[np.arange(1000) % 20 < 3] *= 1e-3  # a flat corner: as still a row later
    assert still_lead(corner, 20, corner) == 0
    repeats = steps.copy()
    repeats[50:80] = 0.0  # scan frames that repeat exactly (a uniform region)
    assert still_lead(np.concatenate([[0.0, 0.0], repeats[2:]]), 20, repeats) == 0
    assert still_lead(parked[:60], 20, parked) == 0  # fewer than 3 rows after: no telling
