"""The start of a scan no blanked frame marks, told by where its rows break
(:func:`intake_tvips.maths.scan_phase.start_by_breaks`): among the starts the frames
beyond whole rows leave open, the fly-back's phase, unless a sample's own edge could
be it. The recordings below (a probe parked on the scan before and after it) were
undecided in the accuracy benchmark ("0 frames before and 0 after are unlike their
neighbours a row away, but N are beyond whole rows"); samples whose borders look alike
around an edge, or that change the same way across every row's end, stay undecided
by the breaks, and a snake's start is never taken from them."""

from __future__ import annotations

import numpy as np
import pytest
import scan_textures as st
from tvips_factory import reference_grid

import intake_tvips
from intake_tvips.maths.scan_phase import (
    junk_rows,
    neighbour_rows_break,
    seam_steps,
    start_by_breaks,
)
from intake_tvips.recording.scan_pixels import BREAKS_START_CONFIDENCE

#: (shape, recording arguments): the benchmark's seed and case in the comment
PARKED = [
    # seed 1, case 55: grains, clean, plain raster
    ((64, 64), dict(texture_name="grains", dose=None, winding=None, hysteresis=0,
                    seed=842869670, junk_before=1, junk_after=4)),
    # seed 1, case 69: a texture running diagonally, dose 20, plain raster
    ((96, 64), dict(texture_name="diagonal", dose=20.0, winding=None, hysteresis=0,
                    seed=778885569, junk_before=5, junk_after=2)),
    # seed 1, case 99: the same at dose 200, winding y, hysteresis 1
    ((24, 96), dict(texture_name="diagonal", dose=200.0, winding="y", hysteresis=1,
                    seed=197759547, junk_before=3, junk_after=4)),
    # seed 2, case 97: grains, dose 200, winding y, hysteresis 2
    ((96, 48), dict(texture_name="grains", dose=200.0, winding="y", hysteresis=2,
                    seed=1818791472, junk_before=2, junk_after=2)),
]  # fmt: skip


@pytest.mark.parametrize(("shape", "kw"), PARKED)
def test_a_parked_probe_s_scan_starts_where_its_rows_break(tmp_path, shape, kw):
    found = st.detected(tmp_path, shape, junk="parked", **kw)
    assert found.method == "pixels", found.reason
    assert st.scan_of(found) == (shape, kw["junk_before"], kw["winding"])
    assert f"the rows break at start {kw['junk_before']}" in found.reason
    assert 0 < found.confidence <= BREAKS_START_CONFIDENCE


def _features(sample: np.ndarray, start: int, winding=None, noise=0.02, seed=0):
    """One feature per frame: the sample under the scan (``reference_grid``'s order),
    beginning ``start`` frames before the second row (the first row's tail) so that
    the true start among the frames is ``start``, with Gaussian noise."""
    ny, nx = sample.shape
    grid = reference_grid(sample.shape, 0, winding, 0)
    order = np.empty(sample.size)
    order[grid.reshape(-1)] = sample.reshape(-1)
    z = order[nx - start :] + np.random.default_rng(seed).normal(0, noise, ny * nx - nx + start)
    return z[:, None]


def _grains(shape, seed):
    return st.texture("grains", shape, np.random.default_rng(seed))


OPEN = [(0, 3), (2, 2), (5, 9), (7, 11)]


@pytest.mark.parametrize("winding", [None, "y"])
@pytest.mark.parametrize(("start", "extra"), OPEN)
def test_the_fly_back_s_phase_is_the_start_among_those_left_open(winding, start, extra):
    z = _features(_grains((48, 40), seed=0), start, winding)
    assert start_by_breaks(z, 40, winding, extra)[0] == start


def test_grains_whose_borders_look_alike_leave_the_start_open_never_wrong():
    found = [
        start_by_breaks(_features(_grains((48, 40), seed), start, winding), 40, winding, extra)[0]
        for seed in range(1, 9)
        for start, extra in OPEN
        for winding in (None, "y")
    ]
    truth = [start for _ in range(1, 9) for start, _ in OPEN for _ in (None, "y")]
    assert all(f is None or f == t for f, t in zip(found, truth))
    assert 0.5 < np.mean([f is not None for f in found]) < 1  # some undecided, most not


def test_an_edge_of_the_sample_between_alike_borders_is_not_taken_for_the_rows_end():
    # a ramp rising to a cliff at column 25 on a uniform background: the cliff breaks
    # every row, the rows' true end (background to background) barely
    nx, start = 32, 6
    row = np.where((np.arange(nx) >= 6) & (np.arange(nx) <= 25), np.linspace(0, 1, nx), 0.0)
    z = _features(np.tile(row, (48, 1)), start)
    steps = seam_steps(z, None)
    cliff, rows_end = steps[nx - 1 :: nx][:40], steps[nx + start - 1 :: nx][:40]
    assert (cliff > rows_end).mean() > 0.9  # the cliff would win on the breaks alone
    found, why, lean, one_way = start_by_breaks(z, nx, None, extra=8)
    assert found is None
    assert "point one way" in why, why
    assert lean == 0  # the cliff's phase: a guess to look at, and here not the start (6)
    assert one_way  # only the direction turned it away: the pixels cannot tell more


def test_a_sample_changing_the_same_way_across_every_row_s_end_stays_open():
    y, x = np.mgrid[0:48, 0:40]
    found, why, lean, one_way = start_by_breaks(
        _features((x / 40.0) ** 2 + 0.0 * y, 3), 40, None, extra=6
    )
    assert found is None
    assert "point one way" in why, why
    assert lean == 3 and one_way  # the fly-back: trusted no more than the edge above


def test_a_texture_repeating_along_the_rows_without_a_visible_end_stays_open():
    # stripes every 8 columns across rows of 40: the rows' ends join alike frames and
    # the texture breaks at five phases of the row
    x = np.arange(40)
    sample = np.tile(((x // 4) % 2).astype(float), (48, 1))
    assert start_by_breaks(_features(sample, 4), 40, None, extra=9)[0] is None


@pytest.mark.parametrize("cut", [3, 17])
def test_a_scan_cut_short_with_no_junk_starts_at_its_first_frame(tmp_path, cut):
    frames, _ = st.recording(
        (48, 64), texture_name="grains", winding=None, dose=200.0, seed=5,
        junk_before=0, junk_after=0,
    )  # fmt: skip
    found = intake_tvips.detect_scan(st.write(tmp_path / "cut.tvips", frames[:-cut]), pixels=True)
    assert found.method == "none" or found.scan_start_frame == 0, found.reason
    assert found.method == "none" or found.scan_shape[1] == 64, found.reason


def test_a_snake_s_start_is_not_taken_from_its_turns(tmp_path):
    found = st.detected(
        tmp_path, (64, 64), texture_name="grains", winding="x", hysteresis=3, dose=None,
        seed=842869670, junk_before=1, junk_after=4, junk="parked",
    )  # fmt: skip
    assert "the rows break at start" not in found.reason
    assert found.method == "none" or st.scan_of(found) == ((64, 64), 1, "x"), found.reason


@pytest.mark.parametrize(
    ("shape", "kw"),
    [
        ((48, 24), dict(texture_name="grains", dose=200.0, winding="y", seed=25,
                        junk_before=128, junk_after=0)),
        ((48, 32), dict(texture_name="grains", dose=200.0, winding="y", seed=19,
                        junk_before=53, junk_after=138)),
    ],
)  # fmt: skip
def test_a_probe_parked_for_whole_rows_is_not_taken_for_rows_of_the_scan(tmp_path, shape, kw):
    # the breaks tell the start modulo the row only (start 8 for 128 parked frames):
    # the rows of one repeated pattern before it must not pass for the scan's
    found = st.detected(tmp_path, shape, junk="parked", hysteresis=0, **kw)
    assert found.method == "none" or st.scan_of(found) == (shape, kw["junk_before"], "y")
    assert "repeats one pattern" in found.reason, found.reason


@pytest.mark.parametrize("cut", [2, 7])
def test_a_winding_y_scan_cut_short_is_not_given_the_full_rows_mirrored_wrong(tmp_path, cut):
    # winding y mirrors the columns over the scan's row count; with a row cut short
    # the full rows' count is one less, and the hysteresis aligning them is h + 1
    frames, _ = st.recording(
        (64, 24), texture_name="grains", winding="y", hysteresis=1, dose=200.0, seed=6,
        junk_before=0, junk_after=0,
    )  # fmt: skip
    found = intake_tvips.detect_scan(st.write(tmp_path / "cut.tvips", frames[:-cut]), pixels=True)
    assert found.method == "none"
    assert "may be a row cut short" in found.reason, found.reason


@pytest.mark.parametrize(("winding", "seed"), [(None, 6), (None, 9), ("y", 8), ("y", 9)])
def test_parked_frames_adding_up_to_a_row_are_told_by_the_breaks(tmp_path, winding, seed):
    # 5 frames before the scan and 27 after: the recording holds whole rows, so no
    # frame count tells the start; it was "assumed" 0 with one row too many
    found = st.detected(
        tmp_path, (48, 32), texture_name="grains", dose=200.0, winding=winding,
        hysteresis=2 if winding else 0, seed=seed, junk_before=5, junk_after=27,
        junk="parked",
    )  # fmt: skip
    assert st.scan_of(found) == ((48, 32), 5, winding), found.reason
    assert "the rows break at start 5" in found.reason
    assert 0 < found.confidence <= BREAKS_START_CONFIDENCE


def test_a_row_repeats_one_pattern_where_it_spreads_by_noise_alone():
    """``junk_rows`` against the frames' noise: a row across two grains spreads far less
    than the scan's typical row yet is no probe parked (it passed for one before, by a
    quarter of the typical row); a parked row spreads by its noise alone, and a
    noise-free one not at all."""
    rng = np.random.default_rng(0)
    nx, rows = 32, 24
    sample = np.repeat(rng.normal(0, 3, (rows, nx // 8, 2)), 8, axis=1)  # grains of 8
    sample[0, :, :] = [1.0, 1.0]
    sample[0, 20:] = [1.6, 1.0]  # the first row: two grains
    noisy = sample.reshape(-1, 2) + rng.normal(0, 0.1, (rows * nx, 2))
    end = noisy[-nx:]
    assert not junk_rows(noisy, nx, 0, end, 0)
    parked = noisy.copy()
    parked[:nx] = [1.0, 1.0] + rng.normal(0, 0.1, (nx, 2))  # one pattern and its noise
    assert junk_rows(parked, nx, 0, end, 0)
    clean = sample.reshape(-1, 2).copy()
    assert not junk_rows(clean, nx, 0, clean[-nx:], 0)
    clean[:nx] = [1.0, 1.0]
    assert junk_rows(clean, nx, 0, clean[-nx:], 0)


def test_breaks_repeating_with_rows_one_frame_off_put_the_row_length_in_doubt():
    """Steps whose largest repeat every 40 frames do not repeat every 39 or 41; a
    sequence holding large steps every 40 and every 41 frames (a texture's slope read
    with rows one frame short, the true rows' ends among them) does."""
    rng = np.random.default_rng(0)
    steps = rng.uniform(0, 1, 40 * 30)
    steps[7::40] += 5
    assert not neighbour_rows_break(steps, 40)
    both = steps.copy()
    both[3::41] += 5
    assert neighbour_rows_break(both, 40)
