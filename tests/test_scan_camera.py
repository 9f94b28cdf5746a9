"""The whole scan from the pixels on recordings of a second make (``scan_camera``): Bragg
spots by grain, descan, a drifting beam current, gain, dark offset, read noise, hot
pixels."""

from __future__ import annotations

import numpy as np
import pytest
import scan_camera as sc
import scan_textures as st

import intake_tvips


def _detect(tmp_path, frames):
    return intake_tvips.detect_scan(st.write(tmp_path / "rec.tvips", frames), pixels=True)


def _recorded(tmp_path, shape, camera, **kw):
    """``detect_scan(pixels=True)`` of a recording of ``scan_camera`` (``kw`` its own)."""
    return _detect(tmp_path, sc.recording(shape, camera, **kw))


@pytest.mark.parametrize(
    ("winding", "hysteresis", "texture"),
    [(None, 0, "grains"), ("x", 3, "particles"), ("y", 5, "grains")],
)
def test_dark_frames_on_an_offset_mark_the_scan(tmp_path, winding, hysteresis, texture):
    """Blanked frames that keep the camera's dark offset and read noise (a fifth of a
    lit frame's counts here) still mark the scan; gain, hot pixels, descan and a beam
    current lost over the recording do not spoil the raster or the hysteresis."""
    camera = sc.Camera(32, 200.0, drift=0.1, gain=3.5, offset=20.0, read_noise=2.0,
                       hot_pixels=2, descan=1.5)  # fmt: skip
    frames = sc.recording(
        (32, 48), camera, texture_name=texture, winding=winding, hysteresis=hysteresis,
        junk="blank", junk_before=3, junk_after=2, seed=7,
    )  # fmt: skip
    found = _detect(tmp_path, frames)
    assert found.method == "pixels"
    assert (found.scan_shape, found.scan_start_frame) == ((32, 48), 3)
    assert found.winding_scan_axis == winding
    if winding:
        assert found.hysteresis == hysteresis and found.hysteresis_source == "pixels"


@pytest.mark.parametrize(("winding", "hysteresis"), [("x", 4), ("y", 2)])
def test_an_eight_bit_stream_gives_the_scan_and_its_hysteresis(tmp_path, winding, hysteresis):
    """An 8-bit stream (the ADU shifted right until the brightest pixels fit, hot pixels
    saturated at 255) is read as its 16-bit twin: the scan and the hysteresis from the
    pixels of uint8 frames."""
    camera = sc.Camera(32, 200.0, drift=0.1, gain=3.5, offset=20.0, read_noise=2.0,
                       hot_pixels=2, descan=1.5, bits=8)  # fmt: skip
    frames = sc.recording(
        (32, 48), camera, texture_name="grains", winding=winding, hysteresis=hysteresis,
        junk="blank", junk_before=3, junk_after=2, seed=7,
    )  # fmt: skip
    assert frames.dtype == np.uint8 and frames.max() == 255
    assert np.count_nonzero(frames == 255) < 0.01 * frames.size  # few saturate
    found = _detect(tmp_path, frames)
    assert found.method == "pixels"
    assert (found.scan_shape, found.scan_start_frame) == ((32, 48), 3)
    assert found.winding_scan_axis == winding
    assert found.hysteresis == hysteresis and found.hysteresis_source == "pixels"


@pytest.mark.parametrize(
    ("seed", "width", "before", "after"), [(28, 48, 7, 1), (50, 48, 6, 3), (53, 48, 2, 3)]
)
def test_a_probe_parked_over_a_uniform_grain_is_no_run_off_the_scan(
    tmp_path, seed, width, before, after
):
    """Noise-free grains, the probe parked on the scan's first position: the parked
    frames and the scan's first ones, in the same grain, differ only by the descan and
    the beam current's drift, and read as one run of frames parked off the scan. Where
    that run made whole rows with the frames after the scan, the start was read up to
    3 frames late (or early, by the run after the scan) at confidence 1.0. The frame
    next to the scan lies as near its neighbour a row away as the scan's frames do:
    not trusted as parked."""
    camera = sc.Camera(16, None, drift=0.1, descan=4.0)
    frames = sc.recording(
        (24, width), camera, texture_name="grains", junk="parked_origin",
        junk_before=before, junk_after=after, seed=seed,
    )  # fmt: skip
    found = _detect(tmp_path, frames)
    if found.method == "pixels":
        assert (found.scan_shape, found.scan_start_frame) == ((24, width), before)
    assert "a scan frame?" in found.reason or found.scan_start_frame == before


def test_hot_pixels_under_a_drifting_current_do_not_make_winding_y_plain(tmp_path):
    """Two hot pixels hold most of each frame's counts on a 16-pixel detector, so the
    frames' shares of their total drift with the beam current (30 % lost over the
    recording); winding y's wound columns were recorded far from their neighbours in
    time, and the plain reading, smooth in time, was favoured at 1.00 (the scan read as
    plain rows at 0.999). Plain rows must still win with a straight trend along the
    wound columns' residuals taken out: here they do not, and winding y stays, not
    ruled out."""
    camera = sc.Camera(16, None, drift=0.3, hot_pixels=2, descan=4.0)
    frames = sc.recording(
        (48, 24), camera, texture_name="gradient", winding="y", hysteresis=4,
        junk="blank", junk_before=3, junk_after=0, seed=1350253877,
    )  # fmt: skip
    found = _detect(tmp_path, frames)
    assert found.method == "pixels", found.reason
    assert found.winding_scan_axis == "y", found.reason
    assert (found.scan_shape, found.scan_start_frame) == ((48, 24), 3)
    assert found.hysteresis_source != "pixels" or found.hysteresis == 4


def test_a_parked_run_that_rounds_a_count_keeps_still(tmp_path):
    """Noise-free, the beam current losing 10 % over the recording: the frames of a
    probe parked off the scan change a cell or two by a count from frame to frame, and
    such a step, ten times the run's median, made the run "move": the right start was
    refused (camera seed 319, case 33). A count's rounding is no move."""
    camera = sc.Camera(16, None, drift=0.1, gain=10.0, offset=20.0, read_noise=5.0,
                       hot_pixels=1)  # fmt: skip
    found = _recorded(
        tmp_path, (32, 64), camera, texture_name="particles", junk="parked_off",
        junk_before=5, junk_after=3, seed=1208979891,
    )  # fmt: skip
    assert found.method == "pixels", found.reason
    assert (found.scan_shape, found.scan_start_frame) == ((32, 64), 5)


def test_scan_frames_joined_to_a_still_parked_run_are_not_taken_for_it(tmp_path):
    """Noise-free, a gradient's flat corner, the probe parked on its origin for 7 frames
    and 3 after the scan: the parked frames and the scan's first three lie so alike
    that they read as one run of 10 parked frames, and 10 + 0 made whole rows: the
    start was read 3 frames late at 1.0 (camera seed 310, case 112). The scan's
    frames in the run move (descan, the disc's drift) where the parked ones keep
    still: not trusted."""
    camera = sc.Camera(16, None, drift=0.1, read_noise=5.0, descan=1.5, time_drift=0.5)
    frames = sc.recording(
        (24, 64), camera, texture_name="gradient", junk="parked_origin",
        junk_before=7, junk_after=3, seed=2035474338,
    )  # fmt: skip
    found = _detect(tmp_path, frames)
    assert found.method == "none" or found.scan_start_frame == 7, found.reason
    assert "move in their last steps" in found.reason


def test_a_scan_whose_first_frames_keep_still_is_not_trusted(tmp_path):
    """Noise-free grains under a descan, the probe parked on the first position for 3
    frames; the scan ends on a grain of its own three frames, which read as a probe
    parked off the scan, and 3 + 0 made whole rows: the start was read 3 frames early
    at 1.0 (camera seed 313, case 12). The scan's first three steps then keep as still
    as a parked probe (0.003 of the steps at their place in the next rows, 0.01 of the
    scan's 1 % step) where every other step moves: not trusted."""
    camera = sc.Camera(
        64, None, drift=0.3, gain=3.5, offset=20.0, read_noise=5.0, hot_pixels=2,
        descan=1.5, time_drift=0.5,
    )  # fmt: skip
    frames = sc.recording(
        (48, 24), camera, texture_name="grains", junk="parked_origin",
        junk_before=3, junk_after=0, seed=608864153,
    )  # fmt: skip
    found = _detect(tmp_path, frames)
    assert found.method == "none", found.reason
    assert "first frames keep as still as a parked probe" in found.reason


def test_a_parked_run_that_took_the_scan_s_first_frame_along_is_not_trusted(tmp_path):
    """Noise-free particles, the probe parked on the first position for 2 frames before the
    scan and on the last one for 1 after it: the parked run takes the scan's first
    frame along (3 alike frames), the lone parked frame after passes for the scan's
    last, and 3 + 0 made whole rows: the start was read a frame late at 0.94 (camera
    seed 324, case 98). The scan so read ends on a frame repeating its neighbour, one
    step as still as a parked probe: with parked junk at the other end, enough to
    doubt."""
    camera = sc.Camera(64, None, drift=0.3, read_noise=2.0, hot_pixels=1, descan=1.5)
    found = _recorded(
        tmp_path, (24, 32), camera, texture_name="particles", winding="y", hysteresis=7,
        junk="parked_first", junk_before=2, junk_after=1, seed=1435381511,
    )  # fmt: skip
    assert found.method == "none", found.reason
    assert "last frames keep as still as a parked probe" in found.reason


@pytest.mark.parametrize(
    ("shape", "camera", "texture", "winding", "hysteresis", "junk", "seed"),
    [
        ((32, 24), sc.Camera(16, None, drift=0.1, gain=3.5, offset=20.0, hot_pixels=1,
                             descan=1.5), "particles", "x", 1, (5, 1), 944226276),
        ((48, 32), sc.Camera(32, None, drift=0.1, gain=3.5, read_noise=5.0, hot_pixels=2),
         "stripes", None, 0, (1, 2), 897925629),
    ],
)  # fmt: skip
def test_parked_runs_reaching_into_a_uniform_border_are_taken_as_parked_on_the_scan(
    tmp_path, shape, camera, texture, winding, hysteresis, junk, seed
):
    """Noise-free, the probe parked on the scan's origin before it and on its last
    position after it: the runs of alike frames at the ends reach into the scan's first
    frames (a uniform border), and the frames between them are no whole number of the
    rows that fit. These were undecided; the rows are now fitted to every frame and the
    start looked for as for a probe parked on the scan: right, at the confidence of that
    path (0.9 from a snake's image, 0.5 from the rows' breaks)."""
    found = _recorded(
        tmp_path, shape, camera, texture_name=texture, winding=winding, hysteresis=hysteresis,
        junk="parked_origin", junk_before=junk[0], junk_after=junk[1], seed=seed,
    )  # fmt: skip
    assert found.method == "pixels", found.reason
    assert (found.scan_shape, found.scan_start_frame) == (shape, junk[0])
    assert found.winding_scan_axis == winding and found.confidence <= 0.9
    assert "between the junk ones" not in found.reason


def test_a_probe_parked_off_a_scan_winding_y_is_found_noise_free(tmp_path):
    """Winding y: frames next to each other in time lie at opposite ends of a column,
    so the median step between neighbours in time is about that between random frames.
    Measured against it, noise-free frames parked off the scan (9 from the nearest scan
    frame, scan steps 0.07, neighbours in time 127) were not apart, and the start was
    undecided; the typical step is now the lesser of one and two frames apart."""
    camera = sc.Camera(64, None, drift=0.1, gain=3.5, offset=100.0, descan=1.5, time_drift=0.5)
    found = _recorded(
        tmp_path, (48, 48), camera, texture_name="stripes", winding="y", hysteresis=4,
        junk="parked_off", junk_before=3, junk_after=2, seed=629428439,
    )  # fmt: skip
    assert found.method == "pixels", found.reason
    assert (found.scan_shape, found.scan_start_frame, found.winding_scan_axis) == ((48, 48), 3, "y")
    assert found.hysteresis in (4, None)
