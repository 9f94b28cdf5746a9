"""A sample whose signal sits in a few detector cells: a bright-field disc of radius 0.12
of a large detector, moving a few pixels across the scan with the descan. No principal
component of the standardized cell sums rose above four times the median one (the
disc's cells are few, each cell of noise weighs as much), so the scan was read as "no
contrast" at any dose: 32 of 54 blanked-junk recordings of a 64-pixel detector at a
descan of +-2 pixels. The directions along which neighbouring frames correlate
(``frame_features.autocorrelated``) carry the sample; noise correlates along none."""

from __future__ import annotations

import numpy as np
import pytest
import scan_textures as st

import intake_tvips
from intake_tvips.maths.frame_features import autocorrelated, feature_basis


@pytest.mark.parametrize(
    ("texture", "dose", "winding", "h", "shape"),
    [
        ("grains", 200.0, None, 0, (32, 32)),
        ("particles", 20.0, "x", 3, (24, 48)),
        ("grains", 200.0, "y", 2, (48, 24)),
    ],
)
def test_a_small_disc_moving_with_the_descan_is_found(tmp_path, texture, dose, winding, h, shape):
    frames = st.small_disc(shape, texture_name=texture, winding=winding, hysteresis=h, dose=dose)
    found = intake_tvips.detect_scan(st.write(tmp_path / "scan.tvips", frames), pixels=True)
    assert st.scan_of(found) == (shape, 2, winding), found.reason
    if winding:
        assert found.hysteresis == h, found.reason


def test_a_small_disc_over_a_flat_sample_stays_undecided(tmp_path):
    frames = st.small_disc((32, 32), texture_name="flat", descan=0.0)
    found = intake_tvips.detect_scan(st.write(tmp_path / "scan.tvips", frames), pixels=True)
    assert found.scan_shape is None and found.method == "none", found.reason


def test_noise_correlates_along_no_direction():
    rng = np.random.default_rng(1)
    for n, p in [(1024, 64), (300, 64), (5000, 16)]:
        x = rng.normal(size=(n, p))
        assert autocorrelated(x - x.mean(axis=0)).shape[1] == 0


def test_a_smooth_signal_in_one_cell_is_the_direction_found():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2048, 64))
    x[:, 17] += 3 * np.sin(np.arange(2048) / 7.0)  # one cell, changing smoothly
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    assert feature_basis(x) is not None
    found = autocorrelated(x)
    assert found.shape[1] == 1
    assert np.argmax(np.abs(found[:, 0])) == 17


@pytest.mark.parametrize(
    ("texture", "h", "shape", "seed"),
    [("smiley", 1, (48, 32), 479), ("particles", 7, (48, 48), 876)],
)
def test_plain_rows_and_winding_y_the_steps_fit_alike_are_told_by_the_image(
    tmp_path, texture, h, shape, seed
):
    """The steps between frames alternated neither way clearly, so plain rows and
    winding y of one length scored exactly alike and the answer was a tie (undecided).
    The image is made to tell them apart: it decides where it tells clearly."""
    frames = st.small_disc(shape, texture_name=texture, winding="y", hysteresis=h, seed=seed)
    found = intake_tvips.detect_scan(st.write(tmp_path / "scan.tvips", frames), pixels=True)
    assert st.scan_of(found) == (shape, 2, "y"), found.reason
    assert "the image" in found.reason


def test_plain_rows_the_steps_leave_unsure_against_a_leaning_image_are_not_kept(tmp_path):
    """Winding y the steps between frames read as plain rows without being sure of it,
    while the image leaned to winding y (0.98) without telling clearly: plain rows were
    kept at confidence 0.5, a wrong answer; then undecided (``LEANS_AGAINST``). The
    image favours winding y with a misfit 348 % lower: strong enough
    (``STRONG_WINDING_GAP``), it decides."""
    frames = st.small_disc((32, 24), texture_name="particles", winding="y", hysteresis=1, seed=258)
    found = intake_tvips.detect_scan(st.write(tmp_path / "scan.tvips", frames), pixels=True)
    assert st.scan_of(found) == ((32, 24), 2, "y"), found.reason
    assert found.hysteresis == 1
    assert "the image favours winding y" in found.reason
