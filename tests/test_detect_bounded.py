"""Detection never trusts header values as sizes: malformed Scan_x/Scan_y/rotidx give a
clean answer ("no scan", a low confidence) or a ValueError naming the file, in memory
bounded by the frame count."""

import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_headers_detect import with_fields
from tvips_factory import make_frames, tvips_bytes, write_parts

from intake_tvips import file_reader, recording_info
from intake_tvips.recording.detect import detect_scan
from intake_tvips.recording.detect_rotidx import SQUARE_ASSUMED_CONFIDENCE

WILD = [0.0, 1.0, 3.0, -1.0, 4.5, 1e9, 2.0**24, 2.0**31, -(2.0**40), np.inf, -np.inf, np.nan]
WILD_ROT = [0, 1, 2, 5, 16, 65535**2, 2**32 - 1, 2**31, 1000]


def _file(d, n, sx, sy, rot):
    blobs = tvips_bytes(make_frames(n, (2, 2), "<u1"), frameheaderbytes=76, rotidx=rot)
    blobs = with_fields(blobs, 76, (2, 2), "<u1", Scan_x=sx, Scan_y=sy)
    return write_parts(Path(d) / "bad", blobs)


@st.composite
def recordings(draw):
    n = draw(st.sampled_from([2, 5, 17, 64, 700]))
    base = draw(st.sampled_from(["raster", "zero", "random"]))
    k = np.arange(n)
    if base == "raster":
        nx = draw(st.integers(1, 30))
        sx, sy = (k % nx).astype(np.float64), (k // nx).astype(np.float64)
    elif base == "zero":
        sx, sy = np.zeros(n), np.zeros(n)
    else:
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        sx, sy = rng.choice(WILD, n), rng.choice(WILD, n)
    rot = np.where(draw(st.booleans()), k + 1, 0).astype(np.uint64)
    for _ in range(draw(st.integers(0, 4))):  # wild values in a few frames
        f = draw(st.integers(0, n - 1))
        sx[f] = draw(st.sampled_from(WILD))
        sy[f] = draw(st.sampled_from(WILD))
        rot[f] = draw(st.sampled_from(WILD_ROT))
    return n, sx.astype(np.float32), sy.astype(np.float32), rot.astype(np.uint32)


def _bounded(call, name, limit):
    tracemalloc.start()
    try:
        out = call()
    except (ValueError, OSError) as err:
        assert name in str(err), err
        out = err
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < limit, (peak, out)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recordings())
def test_malformed_positions_and_rotidx_stay_bounded(rec):
    n, sx, sy, rot = rec
    limit = 4 * 2**20 + 4000 * n  # a few MiB, and a few kB per frame
    with tempfile.TemporaryDirectory() as d:
        first = _file(d, n, sx, sy, rot)
        for exhaustive in (False, True):
            found = _bounded(
                lambda e=exhaustive: detect_scan(first, exhaustive=e), "bad_000", limit
            )
            assert not isinstance(found, Exception)  # detection answers, never raises
            assert 0.0 <= found.confidence <= 1.0
            if found.scan_shape is not None:
                ny, nx = found.scan_shape
                assert ny * nx <= 4 * n
        out = _bounded(lambda: file_reader(first, scan_shape="auto", lazy=True), "bad_000", limit)
        if not isinstance(out, Exception):
            assert np.prod(out[0]["data"].shape[:2]) <= 4 * n
        _bounded(lambda: recording_info(first), "bad_000", limit)


def test_the_issue_examples(tmp_path):
    # one frame with Scan_x = 1e9 (was 7.45 GiB), Scan_x = 2**24 (9 s, 1 GB)
    n = 40
    k = np.arange(n)
    for wild in (1e9, 2.0**24):
        sx, sy = (k % 8).astype(np.float32), (k // 8).astype(np.float32)
        sx[17] = wild
        d = tmp_path / f"w{int(wild)}"
        d.mkdir()
        first = _file(d, n, sx, sy, (k + 1).astype(np.uint32))
        found = _bounded(lambda f=first: detect_scan(f), "bad_000", 8 * 2**20)
        assert found.scan_shape == (5, 8) and found.confidence == 39 / 40
    # a rotator index of 65535**2 in one frame of a 2 KB file (was 32 GiB)
    rot = np.r_[0, np.arange(1, 10), 65535**2, 0].astype(np.uint32)
    d = tmp_path / "rot"
    d.mkdir()
    first = _file(d, rot.size, np.zeros(rot.size), np.zeros(rot.size), rot)
    found = _bounded(lambda: detect_scan(first), "bad_000", 8 * 2**20)
    # one corrupt value is passed over as a stray: the 3 x 3 scan it interrupted
    assert (found.method, found.scan_shape, found.scan_start_frame) == ("rotidx", (3, 3), 1)
    # the square is assumed: the share of positions holding their own value in words
    assert found.confidence == SQUARE_ASSUMED_CONFIDENCE and "strays" in found.reason
    assert "90.0% of positions hold a frame with their own rotator value" in found.reason
    out = _bounded(lambda: file_reader(first, scan_shape="auto"), "bad_000", 8 * 2**20)
    assert out[0]["data"].shape[:2] == (3, 3)
    # more corrupt values than a few: refused, in bounded memory
    rot[6:] = 65535**2
    d = tmp_path / "rot5"
    d.mkdir()
    first = _file(d, rot.size, np.zeros(rot.size), np.zeros(rot.size), rot)
    found = _bounded(lambda: detect_scan(first), "bad_000", 8 * 2**20)
    assert found.method == "none" and "positions per recorded frame" in found.reason
    err = _bounded(lambda: file_reader(first, scan_shape="auto"), "bad_000", 8 * 2**20)
    assert isinstance(err, ValueError) and "positions per recorded frame" in str(err)
