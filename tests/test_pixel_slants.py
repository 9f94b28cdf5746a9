"""Rows undecided because slanted textures fit other rows better, decided by the breaks
(:func:`intake_tvips.maths.raster_slants.rows_of_breaks`): a texture running diagonally
makes rows one frame short fit best, slanted lamellae rows of about three or ten rows
at once; only the true rows' fly-back breaks repeat. The recordings below were
undecided ("rows of N frames fit, but the frames between the junk ones are no whole
number of them", "rows of N and rows of M frames fit about as well") in the accuracy
benchmark and are decided right now; the dangerous siblings (textures repeating along
the rows or along y, flat or noise-only scans) are never read as the breaks' rows."""

from __future__ import annotations

import numpy as np
import pytest
import scan_textures as st
from tvips_factory import reference_grid

from intake_tvips.maths.pixel_raster import TIE_CONFIDENCE, feature_basis, fit_raster, project

#: (shape, recording arguments): the benchmark's seed and case in the comment
SLANTED = [
    # diagonal texture, rows of 47 fit best (seed 2, case 3)
    ((24, 48), dict(texture_name="diagonal", winding=None, dose=None, seed=1411826649,
                    junk_before=2, junk_after=1, junk="blank")),
    # diagonal texture, rows of 23 fit best, parked off the scan (seed 4, case 111)
    ((24, 24), dict(texture_name="diagonal", winding=None, dose=None, seed=306184906,
                    junk_before=5, junk_after=1, junk="parked_off")),
    # diagonal texture at dose 20, rows of 95 fit best (seed 1, case 15)
    ((48, 96), dict(texture_name="diagonal", winding=None, dose=20.0, seed=133894701,
                    junk_before=3, junk_after=1, junk="blank")),
    # slanted lamellae: rows of 191 and 255 tie with 64 (seed 4, case 8)
    ((32, 64), dict(texture_name="stripes", winding=None, dose=200.0, seed=446132517,
                    junk_before=3, junk_after=4, junk="blank")),
    # slanted lamellae: rows of 95 and 32 tie (seed 2, case 8)
    ((32, 32), dict(texture_name="stripes", winding=None, dose=200.0, seed=1487045236,
                    junk_before=4, junk_after=2, junk="blank")),
    # slanted lamellae: rows of 71 and 24 tie, parked off the scan (seed 4, case 116)
    ((96, 24), dict(texture_name="stripes", winding=None, dose=200.0, seed=1134532077,
                    junk_before=3, junk_after=1, junk="parked_off")),
]  # fmt: skip


@pytest.mark.parametrize(("shape", "kw"), SLANTED)
def test_slanted_textures_are_told_by_the_breaks(tmp_path, shape, kw):
    found = st.detected(tmp_path, shape, **kw)
    assert found.method == "pixels", found.reason
    assert st.scan_of(found) == (shape, kw["junk_before"], None)
    assert f"fit better, but the frames break every {shape[1]}" in found.reason
    assert 0 < found.confidence <= TIE_CONFIDENCE


def _features(t: np.ndarray, dose: float | None, seed: int) -> np.ndarray | None:
    """The features of a plain raster over the transmissions ``t`` (no junk frames)."""
    rng = np.random.default_rng(seed)
    grid = reference_grid(t.shape, 0, None, 0)
    frames = np.zeros((t.size, 12, 12))
    frames[grid.reshape(-1)] = st.patterns(t.reshape(-1), 12, dose, rng)
    cells = frames.reshape(t.size, -1)
    basis = feature_basis(cells)
    return None if basis is None else project(cells, basis)


@pytest.mark.parametrize("dose", [None, 200.0, 20.0])
def test_a_texture_repeating_along_the_rows_is_not_read_as_rows_of_its_period(dose):
    # square waves of 6 columns across rows of 48: rows of 18, 78, 90 fit (exact
    # multiples of the period) and the frames break every 6 within the rows
    ny, nx, period = 32, 48, 6
    x = np.arange(nx)
    level = 0.1 * np.random.default_rng(1).uniform(size=(ny, 1))
    t = np.where(x % period < period // 2, 1.0, 0.5) + level
    fit = fit_raster(_features(t, dose, seed=1), ny * nx)
    assert fit.nx != period or fit.winding is not None, fit  # never plain rows of 6
    assert not any("frames break every" in note for note in fit.notes), fit


@pytest.mark.parametrize("dose", [None, 200.0, 20.0])
def test_a_texture_repeating_every_two_rows_is_never_read_as_a_shorter_row(dose):
    # two row patterns alternating along y: rows of 2 nx fit best, the frames break
    # every nx; the breaks' rule may only ever answer the true rows
    from scipy.ndimage import gaussian_filter1d

    ny, nx = 32, 24
    f, g = gaussian_filter1d(np.random.default_rng(2).uniform(0.3, 1, (2, nx)), 2, axis=1)
    t = np.where((np.arange(ny) % 2 == 0)[:, None], f, g)
    fit = fit_raster(_features(t, dose, seed=2), ny * nx)
    assert fit.nx in (None, nx, 2 * nx), fit
    if any("frames break every" in note for note in fit.notes):
        assert fit.nx == nx, fit


@pytest.mark.parametrize("dose", [None, 20.0])
def test_a_mirror_symmetric_plain_raster_is_never_a_snake_of_half_its_rows(dose):
    # a centred disc: each row mirror-symmetric, so a snake of half the row folds on
    # itself as well as the plain rows repeat
    ny, nx = 32, 48
    y, x = np.mgrid[0:ny, 0:nx] + 0.5
    t = np.clip(1.0 - 0.7 * (np.hypot(y - ny / 2, (x - nx / 2) * 0.7) < 11), 0.2, 1)
    fit = fit_raster(_features(t, dose, seed=3), ny * nx)
    assert fit.nx is None or (fit.nx, fit.winding) == (nx, None), fit


@pytest.mark.parametrize("seed", range(4))
def test_noise_alone_stays_undecided(seed):
    # features of noise with weak steps every 16 frames: nothing fits as rows
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(2048, 3))
    z[::16] += 0.3
    fit = fit_raster(z, 2048)
    assert fit.nx is None, fit


def test_rows_the_breaks_pick_must_have_frames_a_row_apart_alike(tmp_path):
    """A snake of 64 rolled 8 at 20 counts over a diagonal texture (fresh accuracy seed
    47): rows of 504-520 fitted best, and its turns and wrapped columns break every 64
    frames, so it was read as plain rows of 64 (at confidence 0), whose frames a row
    apart were no more alike than frames at random. Now undecided or the snake."""
    found = st.detected(
        tmp_path, (96, 64), texture_name="diagonal", winding="x", hysteresis=8, dose=20.0,
        seed=740142592, junk="parked_off", junk_before=6, junk_after=4,
    )  # fmt: skip
    assert found.method == "none" or st.scan_of(found) == ((96, 64), 6, "x"), found.reason
