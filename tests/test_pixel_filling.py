"""Rows told by the frames between blanked ones (or a probe parked off the scan) where
slanted textures fit other rows better and the breaks do not tell
(:func:`intake_tvips.maths.raster_slants.rows_filling`), and the breaks of a texture
running diagonally, whose steps repeat every ``nx - 1`` frames, not taken for rows those
frames do not fill (:func:`intake_tvips.maths.raster_breaks.other_breaks`). The
recordings below were undecided in the accuracy benchmark ("rows of 191 frames fit, but
the 1536 frames between the junk ones ... are no whole number of them", "rows of 143 and
rows of 477 frames fit about as well"); their siblings without a known frame count, or
with a scan cut short, are never given other rows."""

from __future__ import annotations

import numpy as np
import pytest
import scan_textures as st

import intake_tvips
from intake_tvips.maths.pixel_raster import TIE_CONFIDENCE, feature_basis, fit_raster, project

#: (shape, recording arguments): the benchmark's seed and case in the comment
FILLING = [
    # slanted lamellae, rows of 143 and 477 tie (seed 1, case 2)
    ((96, 48), dict(texture_name="stripes", dose=None, seed=551886181, junk_before=2,
                    junk_after=4, junk="blank")),
    # slanted lamellae at dose 200, rows of 191 fit best (seed 1, case 8)
    ((24, 64), dict(texture_name="stripes", dose=200.0, seed=1069973051, junk_before=0,
                    junk_after=1, junk="blank")),
    # slanted lamellae at dose 20, rows of 287 and 670 tie (seed 1, case 14)
    ((64, 96), dict(texture_name="stripes", dose=20.0, seed=1543026410, junk_before=3,
                    junk_after=0, junk="blank")),
    # parked off the scan, rows of 191 fit best (seed 2, case 110)
    ((48, 64), dict(texture_name="stripes", dose=None, seed=1439617422, junk_before=6,
                    junk_after=2, junk="parked_off")),
]  # fmt: skip

#: a texture running diagonally: rows one frame short fit best, and its steps repeat
#: every such short row, more regularly than the fly-back (seed 1, case 3)
DIAGONAL = [
    ((48, 64), dict(texture_name="diagonal", dose=None, seed=59182745, junk_before=4,
                    junk_after=0, junk="blank")),
]  # fmt: skip


#: what tells the rows: their whole rows fill the scan, or their breaks (no longer
#: vetoed by the diagonal texture's own step period, which does not fill it)
TOLD = [(shape, kw, "only rows of {nx} fill the") for shape, kw in FILLING] + [
    (shape, kw, "the frames break every {nx}") for shape, kw in DIAGONAL
]


@pytest.mark.parametrize(("shape", "kw", "told"), TOLD)
def test_rows_that_fill_the_scan_are_chosen_among_slanted_multiples(tmp_path, shape, kw, told):
    found = st.detected(tmp_path, shape, winding=None, **kw)
    assert found.method == "pixels", found.reason
    assert st.scan_of(found) == (shape, kw["junk_before"], None)
    assert told.format(nx=shape[1]) in found.reason
    assert 0 < found.confidence <= TIE_CONFIDENCE


def _scan_features(shape, kw) -> tuple[np.ndarray, int]:
    """The features of the scan's frames (blanked junk left out) and their count."""
    frames, _ = st.recording(shape, winding=None, **kw)
    scan = frames[kw["junk_before"] : frames.shape[0] - kw["junk_after"]]
    cells = scan.reshape(scan.shape[0], -1).astype(float)
    return project(cells, feature_basis(cells)), scan.shape[0]


@pytest.mark.parametrize(("shape", "kw"), FILLING[:3])
def test_the_rows_filling_the_scan_need_its_frame_count(shape, kw):
    z, count = _scan_features(shape, kw)
    assert fit_raster(z, count).nx == shape[1]
    assert not any("fill the" in note for note in fit_raster(z, None).notes)


@pytest.mark.parametrize("cut", [1, 5, 17])
@pytest.mark.parametrize(("shape", "kw"), FILLING[:3] + DIAGONAL)
def test_a_scan_cut_short_is_never_given_other_rows(tmp_path, shape, kw, cut):
    frames, _ = st.recording(shape, winding=None, **kw)
    end = frames.shape[0] - kw["junk_after"]
    frames = np.delete(frames, np.arange(end - cut, end), axis=0)
    found = intake_tvips.detect_scan(st.write(tmp_path / "cut.tvips", frames), pixels=True)
    assert found.method == "none" or found.scan_shape[1] == shape[1], found.reason


def test_a_diagonal_snake_is_not_read_as_rows_of_its_texture_period(tmp_path):
    # seed 4, case 21: rows of 18 (the texture's period along the rows), 759 and 777
    # tie, and the 9216 frames between the junk ones are whole rows of 18 too
    found = st.detected(
        tmp_path, (96, 96), texture_name="diagonal", winding="x", dose=None,
        seed=807719738, junk_before=2, junk_after=4, junk="blank",
    )  # fmt: skip
    assert found.method == "none" or st.scan_of(found) == ((96, 96), 2, "x"), found.reason
