"""A probe parked off the scan under noise (20 counts per bright-field pixel): a single
frame's noise is about as far from every scan frame as the parked pattern's shift, but
the run's frames all differ from the scan in the same cells, so the run is found
exactly (``parked_ends``) or not at all, never longer than it is; a probe parked on the
scan is never taken for one parked off."""

from __future__ import annotations

import numpy as np
import pytest
import scan_textures as st

from intake_tvips.maths.scan_ends import missed_parked, parked_ends, same_spot
from intake_tvips.recording.pixels import cell_sums

#: (before, after) parked frames: runs of 2 to 7 frames
RUNS = ((2, 4), (5, 3), (7, 2), (3, 0), (0, 3), (4, 2))


def _ends(texture, winding, before, after, *, dose=20.0, junk="parked_off", seed=0):
    frames, _ = st.recording(
        (32, 48), texture_name=texture, winding=winding, hysteresis=2 if winding else 0,
        dose=dose, seed=seed, junk_before=before, junk_after=after, junk=junk,
    )  # fmt: skip
    return parked_ends(cell_sums(frames, 8))


def test_parked_off_runs_at_a_low_dose_are_found_exactly_or_not_at_all():
    exact, ends = 0, 0
    for i, texture in enumerate(st.TEXTURES):
        for j, winding in enumerate((None, "x", "y")):
            before, after = RUNS[(i + j) % len(RUNS)]
            got = _ends(texture, winding, before, after, seed=10 * i + j)
            for found, true in zip(got, (before, after)):
                assert found in (0, true), (texture, winding, got, (before, after))
                exact += found == true
                ends += 1
    # before: about 6 in 10 of these ends were found; runs of 2 frames or more now
    # nearly always are (the rest stays unfound: the detection undecided, not wrong)
    assert exact >= 0.9 * ends, (exact, ends)


@pytest.mark.parametrize("winding", [None, "x", "y"])
def test_two_parked_frames_at_a_low_dose_are_found(winding):
    found = [_ends(t, winding, 2, 2, seed=s) for t in st.TEXTURES for s in (1, 2)]
    assert all(b in (0, 2) and a in (0, 2) for b, a in found), found
    assert sum(b == 2 for b, _ in found) + sum(a == 2 for _, a in found) >= 20, found


@pytest.mark.parametrize("dose", [None, 20.0, 200.0])
def test_a_probe_parked_on_the_scan_is_never_found_parked_off(dose):
    # its frames repeat the scan's first (last) pattern: the mean of the run lies on
    # the mean of the scan's first frames, however many frames the run holds (clean:
    # a gradient along y, whose neighbours lie about as far apart as frames two apart,
    # is no noise)
    for i, texture in enumerate(st.TEXTURES):
        for winding in (None, "x", "y"):
            got = _ends(texture, winding, 6, 4, dose=dose, junk="parked", seed=i)
            assert got == (0, 0), (texture, winding, got)
    frames, _ = st.recording(
        (96, 32), texture_name="gradient", winding="y", dose=dose, seed=3,
        junk_before=1, junk_after=3, junk="parked",
    )  # fmt: skip
    assert parked_ends(cell_sums(frames, 8)) == (0, 0)


def test_no_parked_frames_none_found_under_noise():
    for i, texture in enumerate(st.TEXTURES):
        for winding in (None, "x", "y"):
            assert _ends(texture, winding, 0, 0, seed=i) == (0, 0), (texture, winding)


def test_a_run_offset_in_the_same_cells_is_found_from_its_frames_alike():
    # a smooth scan under noise of unit variance per cell, and runs whose frames all
    # lie a squared distance of 100 (less than two frames' noise, 128) from every scan
    # frame, in the same direction: a distance no single frame tells from noise
    rng = np.random.default_rng(5)
    n, cells = 3000, 64
    phase = np.linspace(0, 6 * np.pi, n)[:, None]
    scan = 3 * np.sin(phase + np.arange(cells)[None, :] / 7)
    frames = scan + rng.normal(0, 1, (n, cells))
    shift = rng.normal(0, 1, cells)
    shift *= np.sqrt(100 / (shift @ shift))
    frames[:5] = scan[5] + shift + rng.normal(0, 1, (5, cells))
    frames[-3:] = scan[-4] + shift + rng.normal(0, 1, (3, cells))
    assert parked_ends(frames) == (5, 3)
    frames[:5] = scan[5] + rng.normal(0, 1, (5, cells))  # the same frames, not offset
    assert parked_ends(frames)[0] == 0


def _one_spot(first_parked: bool, rng) -> np.ndarray:
    """Scan frames with noise, three frames of a pattern parked off the scan at the end,
    and at the start one such frame (``first_parked``) or a scan frame."""
    n, cells = 2000, 64
    phase = np.linspace(0, 6 * np.pi, n)[:, None]
    frames = 3 * np.sin(phase + np.arange(cells)[None, :] / 7) + rng.normal(0, 1, (n, cells))
    spot = 3 * np.sin(np.arange(cells) / 3)  # unlike every scan frame
    frames[-3:] = spot + rng.normal(0, 1, (3, cells))
    if first_parked:
        frames[0] = spot + rng.normal(0, 1, cells)
    return frames


def test_a_frame_on_the_spot_parked_at_the_other_end_joins_the_junk():
    """A single frame does not stand out by its own distance under noise; where the run
    at the other end shows the spot the probe waits on, a frame as near that run as its
    own frames are is parked there too (the measured class: winding y at 20 counts with
    one such frame before the scan, undecided for frames no whole number of rows)."""
    rng = np.random.default_rng(3)
    assert same_spot(_one_spot(True, rng), (0, 3)) == (1, 3)
    assert same_spot(_one_spot(True, rng)[::-1], (3, 0)) == (3, 1)
    assert same_spot(_one_spot(False, rng), (0, 3)) == (0, 3)  # a scan frame stays
    assert same_spot(_one_spot(True, rng), (1, 3)) == (1, 3)  # found at both ends
    assert same_spot(_one_spot(True, rng), (0, 0)) == (0, 0)


def test_a_winding_y_scan_with_one_parked_frame_before_it_is_found(tmp_path):
    """``scan_pixels_accuracy.py --seed 37``, case 156: undecided before, "the 1537
    frames between the junk ones ... are no whole number" of rows of 32."""
    found = st.detected(
        tmp_path, (48, 32), texture_name="particles", winding="y", hysteresis=7,
        dose=20.0, seed=618440098, junk="parked_off", junk_before=1, junk_after=2,
    )  # fmt: skip
    assert st.scan_of(found) == ((48, 32), 1, "y"), found.reason


#: a single frame parked off the scan before it went unseen at 20 counts while the run
#: after it was found; the frames between were then 1-2 beyond whole rows and the scan
#: undecided (fresh accuracy seed 45, cases 123 and 158). The frame before the scan
#: winding y is now seen by the runs themselves (their typical step is the lesser of
#: one and two frames apart: winding y's neighbours lie two apart), the other still by
#: the rows
MISSED = [
    ((48, 24), dict(texture_name="diagonal", winding=None, hysteresis=0, seed=1317558968,
                    junk_before=2, junk_after=4), False),
    ((32, 48), dict(texture_name="stripes", winding="y", hysteresis=1, seed=1996167298,
                    junk_before=1, junk_after=1), True),
]  # fmt: skip


@pytest.mark.parametrize(("shape", "kw", "seen"), MISSED)
def test_parked_frames_missed_at_one_end_are_found_by_the_rows(tmp_path, shape, kw, seen):
    frames, _ = st.recording(shape, dose=20.0, junk="parked_off", **kw)
    before = kw["junk_before"] if seen else 0
    assert parked_ends(cell_sums(frames, 8))[0] == before  # seen by the runs, or not
    found = st.detected(tmp_path, shape, dose=20.0, junk="parked_off", **kw)
    assert st.scan_of(found) == (shape, kw["junk_before"], kw["winding"]), found.reason
    assert ("found like the parked ones too" in found.reason) != seen


def test_missed_parked_frames_are_only_frames_like_the_parked_ones():
    rng = np.random.default_rng(3)
    scan = np.cumsum(rng.normal(0, 0.3, size=(600, 8)), axis=0)  # a smooth walk
    parked = np.full((1, 8), 40.0)
    # one parked frame before (unseen) and two after (found): the missing one is before
    cells = np.concatenate([parked, scan, parked, parked]) + rng.normal(0, 0.05, (603, 8))
    assert missed_parked(cells, (0, 2), 1, 1) == (1, 2)
    # a scan cut short: the frame beyond whole rows is a scan frame, like no parked one
    cells = np.concatenate([scan, parked, parked]) + rng.normal(0, 0.05, (602, 8))
    assert missed_parked(cells, (0, 2), 1, 1) is None
    # more missing than looked for, or no run to compare with
    assert missed_parked(cells, (0, 2), 3, 1) is None
    assert missed_parked(cells, (0, 0), 1, 1) is None
