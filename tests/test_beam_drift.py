"""A drifting beam current (every frame scaled alike, slowly over the recording) under
a scan wound along y: a wound column's frames come from the other end of the recording
than its neighbours', so the comparisons across columns read the drift as a change of
the sample. Measured before the frames' cell sums were taken as shares of their totals
there (``pixels.frame_shares``): under a drift of +-20 % over the recording, 9 of 15
winding-y scans were read as plain rows with confidence 1.0 and none had its hysteresis
found; after, every winding right and 11 hysteresis values found, none wrong."""

from __future__ import annotations

import numpy as np
import pytest
import scan_textures as st

import intake_tvips
from intake_tvips.recording.pixels import frame_shares

#: (texture, dose, shape, hysteresis, seed)
DRIFTING = [
    ("grains", None, (48, 24), 2, 0),
    ("stripes", None, (64, 48), 8, 1),
    ("gradient", 200.0, (32, 48), 3, 0),
]


def _drifting(tmp_path, texture, dose, shape, h, seed):
    frames, _ = st.recording(
        shape, texture_name=texture, winding="y", hysteresis=h, dose=dose, seed=seed,
        junk_before=2, junk_after=1, junk="blank",
    )  # fmt: skip
    return st.write(tmp_path / "scan.tvips", st.drifting(frames, 0.2))


@pytest.mark.parametrize(("texture", "dose", "shape", "h", "seed"), DRIFTING)
def test_a_scan_wound_along_y_under_a_drifting_beam_stays_wound(
    tmp_path, texture, dose, shape, h, seed
):
    found = intake_tvips.detect_scan(
        _drifting(tmp_path, texture, dose, shape, h, seed), pixels=True
    )
    assert st.scan_of(found) == (shape, 2, "y"), found.reason


@pytest.mark.parametrize(
    ("texture", "dose", "shape", "h", "seed"),
    [("particles", 200.0, (48, 32), 5, 0), ("stripes", None, (64, 48), 8, 0)],
)
def test_the_hysteresis_along_y_under_a_drifting_beam(tmp_path, texture, dose, shape, h, seed):
    path = _drifting(tmp_path, texture, dose, shape, h, seed)
    assert intake_tvips.estimate_hysteresis(path, shape, 2, "y").hysteresis == h


def test_shares_of_the_frame_total_do_not_see_the_beam_current():
    rng = np.random.default_rng(0)
    sums = rng.uniform(10, 100, (6, 16))
    scaled = sums * np.array([1.0, 0.8, 1.2, 1.0, 0.5, 2.0])[:, None]
    shares = frame_shares(scaled)
    assert np.allclose(
        shares / shares.sum(axis=1, keepdims=True), sums / sums.sum(axis=1, keepdims=True)
    )
    assert np.allclose(shares.sum(axis=1), 1.0)
    assert np.allclose(frame_shares(scaled[:3]), shares[:3])  # a batch's own frames alone
    assert (frame_shares(np.zeros((2, 4))) == 0).all()  # no counts: no shares, no error
