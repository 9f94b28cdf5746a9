"""Ties between row lengths of one winding broken by the breaks
(:func:`intake_tvips.maths.pixel_raster._tie_by_breaks`): recordings whose rows of
several lengths fit about as well are now decided right where the breaks repeat with one
length far more regularly, and the dangerous siblings stay undecided or right, never a
confident wrong raster."""

from __future__ import annotations

import numpy as np
import pytest
import scan_textures as st

from intake_tvips.maths.periodicity import step_distances
from intake_tvips.maths.pixel_raster import TIE_CONFIDENCE, fit_raster

#: recordings of the accuracy benchmark that were undecided "rows of N and rows of M
#: frames fit about as well" (multiples of the true row, or slanted texture)
TIED = [
    # gradient at dose 20: rows of 64 and 96 tied, true 32 (seed 2, case 70)
    ((32, 32), dict(texture_name="gradient", winding=None, dose=20.0, seed=336930324,
                    junk_before=4, junk_after=0, junk="parked")),
    # winding y: rows of 64 and 96 along y tied, true 32 (seed 3, case 52)
    ((32, 32), dict(texture_name="gradient", winding="y", hysteresis=1, dose=20.0,
                    seed=483432913, junk_before=2, junk_after=1, junk="blank")),
    # diagonal texture: rows of 47 and 95 tied, true 48 (seed 3, case 117)
    ((24, 48), dict(texture_name="diagonal", winding=None, dose=200.0, seed=893863675,
                    junk_before=6, junk_after=3, junk="parked_off")),
]  # fmt: skip


@pytest.mark.parametrize(("shape", "kw"), TIED)
def test_tied_row_lengths_are_told_by_the_breaks(tmp_path, shape, kw):
    found = st.detected(tmp_path, shape, **kw)
    assert found.method == "pixels", found.reason
    assert st.scan_of(found) == (shape, kw["junk_before"], kw["winding"])
    assert "fit about as well: a break every" in found.reason
    assert 0 < found.confidence <= TIE_CONFIDENCE


def test_without_regular_breaks_a_tie_stays_undecided():
    # a scan's features with the fly-back breaks drowned: the rows of 3 nx and 2 nx fit
    # alike (frames one row apart repeat), no length breaks regularly
    rng = np.random.default_rng(4)
    nx, rows = 16, 60
    row = rng.normal(size=(nx, 3))
    z = np.concatenate([row + 0.05 * rng.normal(size=row.shape) for _ in range(rows)])
    z = z + rng.normal(0, 0.6, size=z.shape)  # steps inside rows as large as the fly-back
    b = step_distances(z, 1)
    assert b.max() < 20 * np.median(b)
    fit = fit_raster(z)
    assert fit.nx in (None, nx), fit
    if fit.nx is None:
        assert "fit about as well" in fit.why or "repeat" in fit.why


#: the dangerous siblings: a snake whose plain rival of twice its rows fits as well (a
#: gradient varies little along y), and mirror-symmetric plain rasters that a snake of
#: half the rows fits about as well
SIBLINGS = [
    ((32, 64), dict(texture_name="gradient", winding="x", hysteresis=6, dose=20.0,
                    seed=1591166097, junk_before=0, junk_after=4, junk="parked")),
    ((24, 48), dict(texture_name="gradient", winding="x", hysteresis=0, dose=200.0,
                    seed=7, junk_before=3, junk_after=2, junk="blank")),
    ((32, 24), dict(texture_name="smiley", winding=None, dose=None, seed=2020640781,
                    junk_before=3, junk_after=3, junk="parked")),
    ((32, 24), dict(texture_name="smiley", winding=None, dose=20.0, seed=2,
                    junk_before=3, junk_after=3, junk="parked")),
    ((48, 32), dict(texture_name="smiley", winding=None, dose=200.0, seed=1,
                    junk_before=3, junk_after=3, junk="blank")),
]  # fmt: skip


@pytest.mark.parametrize(("shape", "kw"), SIBLINGS)
def test_snake_and_mirror_siblings_are_never_a_wrong_raster(tmp_path, shape, kw):
    found = st.detected(tmp_path, shape, **kw)
    if found.method == "none":
        return
    assert found.method == "pixels"
    assert st.scan_of(found) == (shape, kw["junk_before"], kw["winding"]), found.reason
