"""Where the whole scan from the pixels must stay undecided or say it guessed: short
rows, few rows, and parked frames that add up to whole rows (each class once gave
confident wrong answers on recordings of ``tests/scan_textures.py``)."""

from __future__ import annotations

import numpy as np
import pytest
import scan_textures as st

import intake_tvips
from intake_tvips.maths.periodicity import lag_profile, period_within
from intake_tvips.maths.pixel_raster import (
    MIRROR_CONFIDENCE,
    PERIODIC_DEPTH,
    PERIODIC_SNAKE_CONFIDENCE,
    TIE_CONFIDENCE,
)
from intake_tvips.maths.row_seams import seam_period
from intake_tvips.recording.scan_pixels import (
    ASSUMED_START_CONFIDENCE,
    MIN_DECIDED_COLUMNS,
    MIN_DECIDED_ROWS,
)


def _assert_found(found, shape, start, winding) -> None:
    assert found.method == "pixels", found.reason
    assert st.scan_of(found) == (shape, start, winding), found.reason


# each was read wrong with confidence 0.6-1.0 before rows and columns had a minimum:
# (128, 4) winding y as a snake, (64, 5) winding y as (32, 10), (64, 4) plain as a
# snake, (64, 10) plain as winding y, (10, 24) and (12, 64) winding y as plain,
# (11, 128) lamellae as 88 rows of 16
SHORT_OR_FEW = [
    ((128, 4), "diagonal", "y", 20.0, "blank", 33, 24),
    ((64, 5), "diagonal", "y", 20.0, "blank", 33, 24),
    ((64, 4), "diagonal", None, None, "parked_off", 3, 4),
    ((64, 10), "diagonal", None, 20.0, "parked_off", 6, 0),
    ((10, 24), "gradient", "y", None, "parked_off", 6, 2),
    ((12, 64), "stripes", "y", 20.0, "parked", 0, 0),
    ((11, 128), "diagonal", "y", 20.0, "parked_off", 1, 0),
]


@pytest.mark.parametrize(
    ("shape", "texture", "winding", "dose", "junk", "before", "after"), SHORT_OR_FEW
)
def test_short_rows_or_few_rows_are_undecided(
    tmp_path, shape, texture, winding, dose, junk, before, after
):
    found = st.detected(
        tmp_path, shape, texture_name=texture, winding=winding, hysteresis=3 if winding else 0,
        dose=dose, seed=0, junk=junk, junk_before=before, junk_after=after,
    )  # fmt: skip
    assert found.method == "none", found.reason
    told = ("not told from the pixels", "fit about as well", "periodic along the scan")
    assert any(why in found.reason for why in told), found.reason


def test_rows_at_the_minimum_are_still_found(tmp_path):
    shape = (MIN_DECIDED_ROWS + 8, MIN_DECIDED_COLUMNS + 4)
    found = st.detected(
        tmp_path, shape, texture_name="gradient", winding=None, dose=200.0, seed=1,
        junk="blank", junk_before=4, junk_after=2,
    )  # fmt: skip
    _assert_found(found, shape, 4, None)


# parked frames before and after the scan that add up to whole rows leave no frame
# beyond whole rows: the start was taken as frame 0 with confidence 1.0
@pytest.mark.parametrize(
    ("shape", "texture", "winding", "dose", "before", "after"),
    [
        ((48, 32), "particles", "x", None, 25, 7),
        ((64, 48), "smiley", "x", None, 40, 8),
        ((48, 24), "grains", "y", 200.0, 24, 0),
        ((64, 32), "smiley", None, 20.0, 25, 7),
        ((32, 48), "gradient", None, None, 6, 42),
    ],
)
def test_parked_frames_of_whole_rows_never_give_a_confident_start(
    tmp_path, shape, texture, winding, dose, before, after
):
    found = st.detected(
        tmp_path, shape, texture_name=texture, winding=winding, hysteresis=2 if winding else 0,
        dose=dose, seed=4, junk="parked", junk_before=before, junk_after=after,
    )  # fmt: skip
    if found.method == "pixels" and st.scan_of(found) != (shape, before, winding):
        assert found.confidence <= ASSUMED_START_CONFIDENCE, found.reason
        assert "start is assumed" in found.reason


@pytest.mark.parametrize(
    "texture, why",
    [
        ("smiley", "start is assumed"),
        # a gradient along the rows: start 0 is where the rows break, all one way, as a
        # sample's edge would: no surer than an assumption
        ("gradient", "the breaks at start 0 all point one way"),
    ],
)
def test_whole_rows_without_junk_give_start_0_as_an_assumption(tmp_path, texture, why):
    found = st.detected(
        tmp_path, (32, 40), texture_name=texture, winding=None, dose=200.0, seed=2,
        junk="blank", junk_before=0, junk_after=0,
    )  # fmt: skip
    _assert_found(found, (32, 40), 0, None)
    assert found.confidence <= ASSUMED_START_CONFIDENCE
    assert why in found.reason


@pytest.mark.parametrize("dose", [None, 200.0])
def test_a_probe_parked_off_the_scan_for_long(dose):
    # runs longer than the 64 frames looked for at first: found around the run of
    # frames alike the first ones (before: none found, or a run too long)
    from intake_tvips.maths.scan_ends import parked_ends
    from intake_tvips.recording.pixels import cell_sums

    found = []
    for texture in ("particles", "grains", "stripes", "diagonal"):
        for before, after in ((150, 120), (90, 3), (0, 200), (70, 70)):
            frames, _ = st.recording(
                (32, 48), texture_name=texture, winding="x", hysteresis=2, dose=dose,
                seed=before, junk_before=before, junk_after=after, junk="parked_off",
            )  # fmt: skip
            got = parked_ends(cell_sums(frames, 8))
            assert got[0] <= before and got[1] <= after, (texture, got)
            found.append(got == (before, after))
    assert sum(found) >= 14, found


def test_a_long_parked_off_run_gives_the_start(tmp_path):
    found = st.detected(
        tmp_path, (32, 48), texture_name="grains", winding=None, dose=200.0, seed=3,
        junk="parked_off", junk_before=130, junk_after=90,
    )  # fmt: skip
    _assert_found(found, (32, 48), 130, None)


# samples periodic along the rows, drawn by ``benchmarks/scan_pixels_stress.py --kind
# grating --seed 1``: the cross gratings were read as rows of several true rows with
# confidence 1.0 (they repeat every few rows along y too, so those rows repeat exactly),
# the lamellae along y (wound along y) as a plain raster with confidence 0.5 (their
# period divides the rows: the fly-back continues it)
PERIODIC = [
    ((96, 48), "cross/16/6", "x", 8, 200.0, "blank", 4, 1, 1782511688),
    ((96, 48), "cross/6/4", "x", 3, None, "parked_off", 3, 1, 1914879824),
    ((32, 48), "lamellae/6/4", "y", 7, 200.0, "parked_off", 5, 2, 783847129),
    # noise-free lamellae along y under a snake: rows of two true rows, mirrored, and the
    # snake both repeat exactly; read as plain rows of 96 with confidence 0.5
    ((64, 48), "lamellae/6/1", "x", 3, None, "blank", 3, 2, 1),
    # a period that is no whole number of frames along the recording (16 along x, the
    # rows shift it): read as 16 rows of 576 with confidence 0.99 (``--seed 3``)
    ((96, 96), "oblique/16/6", None, 0, 20.0, "parked_off", 6, 3, 287145947),
]


@pytest.mark.parametrize(
    ("shape", "texture", "winding", "h", "dose", "junk", "before", "after", "seed"), PERIODIC
)
def test_a_sample_periodic_along_the_rows_is_undecided(
    tmp_path, shape, texture, winding, h, dose, junk, before, after, seed
):
    found = st.detected(
        tmp_path, shape, texture_name=texture, winding=winding, hysteresis=h, dose=dose,
        seed=seed, junk=junk, junk_before=before, junk_after=after,
    )  # fmt: skip
    assert found.method == "none", found.reason
    # the noise-free cross grating ties exactly (rows of 192 and a snake of 96 both
    # repeat perfectly) before the period is looked at
    assert "periodic along the scan" in found.reason or "fit about as well" in found.reason


@pytest.mark.parametrize(
    ("shape", "h", "dose", "seed", "before", "after"),
    [((64, 96), 5, 20.0, 300657079, 5, 3), ((48, 96), 2, None, 1348020690, 7, 1)],
)
def test_rows_of_a_texture_period_are_undecided(tmp_path, shape, h, dose, seed, before, after):
    """Diagonal waves repeating every 24 positions along rows of 96 wound along y: frames
    24 apart are more alike than frames a row apart, and rows of 24 were found with
    confidence 1.0 (``scan_pixels_accuracy.py --seed 22``, case 159), though the pair
    breaks repeat every 96 frames; noise-free (fresh seed 51, case 147), where the
    breaks barely show, at 0.999 after that was fixed. Frames 4 rows of 24 apart are
    more alike than 3 rows apart: rows of 24 are a period of the sample, not the scan's
    rows, unless the breaks say so."""
    found = st.detected(
        tmp_path, shape, texture_name="diagonal", winding="y", hysteresis=h, dose=dose,
        seed=seed, junk="parked_off", junk_before=before, junk_after=after,
    )  # fmt: skip
    if found.method == "pixels":
        _assert_found(found, shape, before, "y")
    else:
        assert "breaks repeat every 96" in found.reason or "4 rows apart" in found.reason


@pytest.mark.parametrize(
    ("texture", "h", "seed", "before", "after", "breaks"),
    [("oblique/9.3/6", 5, 1467759637, 7, 1, 48), ("cross/8/6", 10, 458805750, 6, 1, 24)],
)
def test_a_snake_over_a_sample_periodic_across_its_rows_is_no_plain_raster(
    tmp_path, texture, h, seed, before, after, breaks
):
    """Gratings repeating every 6 rows under a snake of 24 (wound rows rolled): frames 6
    rows apart are alike, so plain rows of 144 fit best, and were read at 1.0
    (``scan_pixels_stress.py --kind grating``, seeds 10 and 14). Their frames break
    every 48 or 24 (the snake's turns, divisors of 144), where frames are no more alike
    than random ones: no period of the sample along the rows, but rows' ends."""
    found = st.detected(
        tmp_path, (96, 24), texture_name=texture, winding="x", hysteresis=h, dose=20.0,
        seed=seed, junk="blank", junk_before=before, junk_after=after,
    )  # fmt: skip
    assert found.method == "none", found.reason
    assert f"rows of 144 frames fit, but breaks repeat every {breaks}" in found.reason


def test_breaks_at_a_period_of_the_sample_along_plain_rows_are_excused():
    """Sharp lamellae repeating every 16 positions along plain rows of 96 break at both
    edges, every 8 frames within the rows, more regularly than the fly-back; frames 16
    apart are alike there, so those breaks are the sample's, not shorter rows'."""
    from intake_tvips.maths.pixel_raster import feature_basis, project
    from intake_tvips.maths.raster_breaks import break_period, breaks, other_breaks

    frames, _ = st.recording(
        (32, 96), texture_name="lamellae/16/8", winding=None, dose=200.0, seed=3,
        junk="blank", junk_before=0, junk_after=0,
    )  # fmt: skip
    cells = frames.reshape(frames.shape[0], -1).astype(float)
    z = project(cells, feature_basis(cells))
    steps = breaks(z, None)
    overall = break_period(steps, 192)
    assert overall is not None and overall.period == 8
    assert other_breaks(steps, 96, overall, None, z) is None
    scrambled = z[np.random.default_rng(0).permutation(z.shape[0])]  # breaks kept, alike not
    assert other_breaks(steps, 96, overall, None, scrambled) == 8


# noise-free diagonal waves whose period along the rows is half of them: rows of that
# period fitted best (frames a period apart are more alike than a row apart), and the
# fly-back, two whole periods, hides; read as 96 x 32 wound along y at 1.0
# (``scan_pixels_accuracy.py --seed 69``, case 39) and 192 x 32 plain at 0.0 (seed 65,
# case 111)
SEAMED = [
    ((48, 64), "y", 1, "blank", 6, 2, 374912436),
    ((96, 64), None, 0, "parked_off", 2, 4, 390570982),
]


@pytest.mark.parametrize(("shape", "winding", "h", "junk", "before", "after", "seed"), SEAMED)
def test_rows_of_half_a_row_with_a_seam_are_not_taken(
    tmp_path, shape, winding, h, junk, before, after, seed
):
    found = st.detected(
        tmp_path, shape, texture_name="diagonal", winding=winding, hysteresis=h, dose=None,
        seed=seed, junk=junk, junk_before=before, junk_after=after,
    )  # fmt: skip
    if found.method == "pixels":
        _assert_found(found, shape, before, winding)


@pytest.mark.parametrize("winding", [None, "y"])
def test_a_seam_every_second_row_marks_rows_of_half_the_scans(winding):
    """The frames of rows of 64 over a wave repeating every 32 positions along them,
    looked at as rows of 32: every second pair of rows a seam (module
    ``row_seams``); as rows of 64, and over grains (no period), none."""
    rng = np.random.default_rng(5)
    ny, nx = 48, 64
    y, x = np.mgrid[:ny, :nx]
    wave = np.sin(2 * np.pi * (x + y) / 32.5)
    grains = rng.normal(size=(ny // 4, nx // 4)).repeat(4, 0).repeat(4, 1)
    for sample, seamed in ((wave, True), (grains, False)):
        if winding == "y":  # every second column upside down
            sample = np.where(x % 2 == 0, sample[::-1], sample)
        z = np.stack([sample, np.cos(sample)], axis=-1).reshape(ny * nx, 2)
        assert seam_period(z, nx) is None
        assert seam_period(z, nx // 2) == (2 if seamed else None)


# snakes over scikit-image's checkerboard read as plain rows of the squares' period,
# 64 x 24 at 0.62 and 64 x 20 at 1.0: rows near 24 (20) fitted alike and the frame
# count, whole rows of those as of the truth, chose among them
CHECKERBOARD_SNAKES = [
    ((24, 64), 4, 200.0, "blank", 5, 2, 68),
    ((20, 64), 4, 200.0, "parked_off", 6, 1, 131),
]


@pytest.mark.parametrize(
    ("shape", "h", "dose", "junk", "before", "after", "seed"), CHECKERBOARD_SNAKES
)
def test_rows_told_by_the_frame_count_alone_are_not_sure(
    tmp_path, shape, h, dose, junk, before, after, seed
):
    found = st.detected(
        tmp_path, shape, texture_name="image/checkerboard", winding="x", hysteresis=h,
        dose=dose, seed=seed, junk=junk, junk_before=before, junk_after=after,
    )  # fmt: skip
    if found.method == "pixels" and st.scan_of(found) != (shape, before, "x"):
        assert found.confidence <= TIE_CONFIDENCE, found.reason


def test_a_snake_over_a_sample_periodic_along_its_rows_is_not_sure(tmp_path):
    """A snake of 40 x 80 over scikit-image's checkerboard, whose frames repeat every
    21 along the rows: a snake of other rows can fold such frames as well (the second
    generator's snake of 30 x 80 over a checkerboard was read as 60 x 40 at 1.0), so
    even the right answer is worth PERIODIC_SNAKE_CONFIDENCE at most."""
    found = st.detected(
        tmp_path, (40, 80), texture_name="image/checkerboard", winding="x", hysteresis=4,
        dose=20.0, seed=64, junk="blank", junk_before=8, junk_after=3,
    )  # fmt: skip
    assert found.method == "none" or found.confidence <= PERIODIC_SNAKE_CONFIDENCE
    if found.method == "pixels":
        assert "along the rows (a periodic sample?)" in found.reason


# plain rows and winding y over crops of scikit-image's checkerboard mirror-symmetric
# about the rows' middle, read as snakes of half the rows at 1.0 and 0.62 (the
# sample is constant along the columns within its squares: both kinds of turn fold)
MIRRORED_CHECKERBOARDS = [
    ((45, 86), None, 0, None, "blank", 6, 3, 2071133634),
    ((38, 68), "y", 8, None, "blank", 1, 1, 1334498375),
    ((29, 94), None, 0, 200.0, "parked_off", 6, 4, 974967034),
]


@pytest.mark.parametrize(
    ("shape", "winding", "h", "dose", "junk", "before", "after", "seed"), MIRRORED_CHECKERBOARDS
)
def test_a_snake_whose_turns_fold_unlike_is_not_sure(
    tmp_path, shape, winding, h, dose, junk, before, after, seed
):
    found = st.detected(
        tmp_path, shape, texture_name="image/checkerboard", winding=winding, hysteresis=h,
        dose=dose, seed=seed, junk=junk, junk_before=before, junk_after=after,
    )  # fmt: skip
    if found.method == "pixels" and st.scan_of(found) != (shape, before, winding):
        assert found.confidence <= MIRROR_CONFIDENCE, found.reason
        assert "mirror-symmetric sample not ruled out" in found.reason


def test_a_period_within_the_rows_is_the_shortest_deep_dip():
    """Frames of a sample repeating every 8 positions dip at 8, 16, ...: the period
    within rows of 96 (or of 97) is 8; a texture along a diagonal with a period of
    31.7 positions dips near 32: within rows of 96, not of 80 (beyond a third)."""
    x = np.arange(96 * 40, dtype=float)
    rng = np.random.default_rng(0)
    found = {}
    for period in (8.0, 31.7):
        features = np.stack([np.sin(2 * np.pi * x / period), np.cos(2 * np.pi * x / period)], 1)
        features += rng.normal(0, 0.05, features.shape)
        found[period] = lag_profile(features, 400)
    assert period_within(found[8.0], 96, PERIODIC_DEPTH) == 8
    assert period_within(found[8.0], 97, PERIODIC_DEPTH) == 8
    assert period_within(found[31.7], 96, PERIODIC_DEPTH) == 32
    assert period_within(found[31.7], 80, PERIODIC_DEPTH) is None
    assert period_within(np.linspace(0.0, 1.0, 400), 96, PERIODIC_DEPTH) is None  # no dip


def test_a_scan_starting_on_a_dark_part_of_the_sample_is_not_blanked():
    """Where the sample's dark parts lose counts (a generator whose patterns do not keep
    the dose), a probe parked on a dark first position and the scan's first frames fell
    below half the median: taken for blanked frames, they moved the start 3 frames late
    with confidence 1.0. Blanked frames lie far below the scan's darkest frames too."""
    from intake_tvips.maths.scan_ends import junk_ends

    rng = np.random.default_rng(0)
    body = np.where(rng.random(3000) < 0.1, 0.44, 1.0) * rng.normal(1, 0.01, 3000)
    parked_dark = np.full(11, 0.47)  # 8 parked + the scan's first 3, on a dark region
    assert junk_ends(np.concatenate([parked_dark, body, np.full(3, 1.19)])) == (0, 0)
    blanked = np.full(5, 0.02)
    assert junk_ends(np.concatenate([blanked, parked_dark, body, blanked[:2]])) == (5, 2)
    # a run of blanked frames longer than a tenth of the scan is no dark part of it
    assert junk_ends(np.concatenate([np.full(180, 0.02), body[:1500], blanked])) == (180, 5)
    # dark counts at low doses: a fifth of the lit frames, still blanked
    low = rng.poisson(300, 3000).astype(float)
    assert junk_ends(np.concatenate([rng.poisson(72, 4), low, rng.poisson(72, 3)])) == (4, 3)


def test_the_last_frame_at_a_steep_corner_is_no_parked_probe(tmp_path):
    """A noise-free gradient steepest at the scan's last corner puts the last frame
    farther from its neighbours than four typical steps: taken for a probe parked off
    the scan, it moved a snake's start a frame early (with the roll 2 for 0) at
    confidence 1.0 (fresh accuracy seed 29). Its own steps to the frames before it are
    as large."""
    from intake_tvips.maths.scan_ends import parked_ends
    from intake_tvips.recording.pixels import cell_sums

    kw = dict(texture_name="gradient", winding="x", hysteresis=0, dose=None, junk="parked")
    frames, _ = st.recording((24, 96), junk_before=1, junk_after=0, **kw)
    assert parked_ends(cell_sums(frames, 8))[1] == 0
    found = intake_tvips.detect_scan(st.write(tmp_path / "g.tvips", frames), pixels=True)
    assert found.method == "none" or st.scan_of(found) == ((24, 96), 1, "x"), found.reason


@pytest.mark.parametrize("h", [0, 2, 5])
def test_a_snake_whose_parked_frames_look_like_its_border_is_undecided(tmp_path, h):
    """A noise-free snake, the probe parked on the scan 4 frames before it and 2 after:
    the parked frames are alike the scan's uniform border, so the 4 before went unseen
    and the 4 last scan frames joined the 2 parked after; the start was read as 0 with
    confidence 1.0. At that start the rows roll ``h + 8`` (a start k frames off rolls a
    snake's rows by 2 k): beyond the range the hysteresis is answered in for ``h = 5``
    (undecided for that alone before), within it for 0-3 (wrong at 1.0). The image each
    start among the parked frames makes is smoothest from the true start."""
    found = st.detected(
        tmp_path, (64, 96), texture_name="particles", winding="x", hysteresis=h, dose=None,
        seed=1693709924, junk="parked", junk_before=4, junk_after=2,
    )  # fmt: skip
    assert found.method == "none", found.reason
    assert "smoother from start 4" in found.reason, found.reason


def test_a_snake_rolled_beyond_the_range_at_its_start_is_undecided(tmp_path, monkeypatch):
    """The same snake (``h = 5``) where neither the frames next to the scan nor the image
    tell (both blocked): the rows roll 13 at the start read, beyond the range the
    hysteresis is answered in, so that start is not trusted either."""
    from intake_tvips.maths.scan_start_image import ImageStart
    from intake_tvips.recording import pixel_start

    def untold(*args, **kwargs):
        return ImageStart(None, 0.0, None, 0, "not told")

    monkeypatch.setattr(pixel_start, "start_by_image", untold)
    monkeypatch.setattr(pixel_start, "_parked_next_to_scan", lambda *args: "")
    found = st.detected(
        tmp_path, (64, 96), texture_name="particles", winding="x", hysteresis=5, dose=None,
        seed=1693709924, junk="parked", junk_before=4, junk_after=2,
    )  # fmt: skip
    assert found.method == "none", found.reason
    assert "roll beyond the range" in found.reason


def test_a_snake_whose_rows_predict_each_other_at_no_roll_is_undecided(tmp_path):
    """A snake of 128 x 64 at 200 counts, the probe parked on the scan for 29 frames
    before it and 39 after (a row and 4 frames together), its hysteresis 11 (beyond
    the range answered): its image told start 0 and 129 rows at 0.67 (stress seed 8).
    At that start no roll in the range makes the neighbouring rows predict each other:
    the start is not trusted, as where the best roll lies beyond the range."""
    found = st.detected(
        tmp_path, (128, 64), texture_name="particles", winding="x", hysteresis=11,
        dose=200.0, seed=1872634196, junk="parked", junk_before=29, junk_after=39,
        detector=12,
    )  # fmt: skip
    assert found.method == "none", found.reason
    assert "no roll in the range the hysteresis is answered in" in found.reason
    assert found.guess is not None  # the viewer still opens on the rows found


@pytest.mark.parametrize("junk", ["vacuum", "wander"])
@pytest.mark.parametrize(
    ("texture", "winding", "dose"),
    [("grains", None, 200.0), ("particles", "x", None), ("stripes", "y", 20.0)],
)
def test_junk_of_other_kinds_is_never_a_wrong_scan(tmp_path, junk, texture, winding, dose):
    """The beam beside the sample (the full disc, which the samples' most transparent
    parts match) or moving over it before and after the scan: junk neither blanked nor
    parked. Over 216 such draws (``scan_pixels_stress.py --kind junk``) nothing was
    wrong; these stay right or undecided too."""
    shape = (32, 48)
    found = st.detected(
        tmp_path, shape, texture_name=texture, winding=winding, hysteresis=3 if winding else 0,
        dose=dose, junk=junk, junk_before=5, junk_after=2, seed=11,
    )  # fmt: skip
    assert found.method in ("pixels", "none"), found.reason
    if found.method == "pixels":
        assert st.scan_of(found) == (shape, 5, winding), found.reason
