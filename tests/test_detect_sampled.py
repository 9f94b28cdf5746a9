"""Scan detection from a sample of the headers equals detection from all of them.

Recordings are generated (junk before and after the scan, both windings, non-square,
recordings that end inside the scan, rotidx that falls back to 0 or skips positions,
Scan_x/Scan_y absent or zero, stray frames); the sample must either give the reader
the same parameters as every header does, or say that it cannot decide.
"""

import math
from pathlib import Path

import numpy as np
import pytest
from test_headers_detect import raster_positions, with_fields
from tvips_factory import make_frames, tvips_bytes, write_parts

from intake_tvips import file_reader
from intake_tvips.maths.scan import auto_scan_indices
from intake_tvips.recording import detect as detect_mod
from intake_tvips.recording.core import open_recording
from intake_tvips.recording.detect import detect_scan, initial_sample, sample_scan
from intake_tvips.recording.headers import HeaderReader, frame_headers_of


def _kwargs(d):
    return (d.method, d.scan_shape, d.scan_start_frame, d.winding_scan_axis, d.use_auto)


def _rotidx(rng, n, start, total):
    """A rotator index: junk 0 (or 1s), 1..total from ``start``, then 0 or constant."""
    r = np.zeros(n, dtype=np.int64)
    stop = min(n, start + total)
    r[start:stop] = np.arange(1, stop - start + 1)
    kind = rng.integers(4)
    if kind == 1 and stop < n:
        r[stop:] = r[stop - 1]  # stays at its last value
    elif kind == 2 and start > 0:
        r[:start] = 1  # junk at 1: the scan starts one frame early (RosettaSciIO's rule)
    elif kind == 3 and stop - start > 4:
        j = int(rng.integers(start + 1, stop - 1))
        r[j:stop] += int(rng.integers(-1, 2)) or 1  # a skipped or repeated position
    return r


def _glitches(rng, sx, sy, before, positions):
    """Now and then 1-15 % of the scan's frames without positions (a run of zeros), with
    random ones (scattered), or one place on (a skip undone by a repeat): strays, which
    a sample may well not see."""
    kind = rng.choice(["none", "none", "run", "scattered", "undone shift"])
    positions = min(positions, sx.size - before)  # the recording may end inside the scan
    k = int(positions * rng.uniform(0.01, 0.15))
    if kind == "none" or k < 1 or positions - k < 2:
        return
    if kind == "run":
        a = before + int(rng.integers(1, positions - k))
        sx[a : a + k], sy[a : a + k] = 0, 0
    elif kind == "undone shift":  # a position skipped, and k frames on, one repeated
        a = before + int(rng.integers(1, positions - k))
        sx[a : a + k], sy[a : a + k] = sx[a + 1 : a + k + 1], sy[a + 1 : a + k + 1]
    else:
        f = before + 1 + rng.choice(positions - 1, min(k, positions - 1), replace=False)
        sx[f], sy[f] = rng.integers(0, 40, f.size), rng.integers(0, 40, f.size)


def _recording(tmp_path, seed, glitches=True):
    rng = np.random.default_rng(seed)
    ny, nx = int(rng.integers(1, 40)), int(rng.integers(1, 40))
    least = int(rng.choice([300, 700, 1500]))  # beyond SAMPLE_ALL_FRAMES mostly
    if ny * nx < least:
        nx = max(nx, -(-least // ny))
    winding = [None, "x", "y"][rng.integers(3)]
    before = int(rng.choice([0, 1, 3, int(rng.integers(0, 900))]))
    after = int(rng.choice([0, 2, int(rng.integers(0, 60))]))
    if rng.random() < 0.15 and winding != "y":  # the recording ends inside the scan
        after, cut = 0, min(int(rng.integers(1, nx * 2 + 1)), ny * nx - 2)
    else:
        cut = 0
    n = max(before + ny * nx + after - cut, 2)
    sx, sy = raster_positions(n, (ny, nx), before, winding)
    if after and rng.random() < 0.3:  # trailing frames parked at the last position
        last = before + ny * nx
        sx[last:], sy[last:] = sx[last - 1], sy[last - 1]
    for _ in range(int(rng.choice([0, 0, 1, 2, 3]))):  # stray frames in the scan or after
        f = int(rng.integers(before + 1, n))
        sx[f] = rng.choice([sx[f] + 1, 4.5, np.nan, 1e9, -3, rng.integers(0, nx + 3)])
    if glitches:
        _glitches(rng, sx, sy, before, ny * nx)
    if before > 2 and rng.random() < 0.25:  # a stray or two among the junk frames
        f = rng.integers(1, before, int(rng.integers(1, 3)))
        sx[f], sy[f] = rng.integers(0, nx, f.size), rng.integers(1, ny + 1, f.size)
    fields = int(rng.integers(3))  # 0: Scan_x/Scan_y, 1: zero, 2: absent (60-byte headers)
    if fields == 1:
        sx[:], sy[:] = 0, 0
    rot = _rotidx(rng, n, before, int(rng.choice([ny * nx, math.isqrt(ny * nx) ** 2])))
    fhb = 60 if fields == 2 else 76
    parts = [n // 2, n - n // 2] if n > 4 else None
    blobs = tvips_bytes(
        make_frames(n, (2, 2), "<u1"), frameheaderbytes=fhb, rotidx=rot, records_per_part=parts
    )
    if fhb == 76:
        blobs = with_fields(blobs, fhb, (2, 2), "<u1", Scan_x=sx, Scan_y=sy)
    return write_parts(tmp_path / f"g{seed}", blobs)


@pytest.mark.parametrize("seed", range(120))
def test_sampled_equals_exhaustive(tmp_path, seed):
    rec = open_recording(_recording(tmp_path, seed))
    every = detect_scan(headers=frame_headers_of(rec))
    got = sample_scan(rec)
    if got.detection is None:
        assert got.why  # it says why it cannot decide
        return
    assert _kwargs(got.detection) == _kwargs(every), (got.detection.reason, every.reason)
    if every.method == "scan_xy" and got.detection.sampled:
        # what file_reader's "auto" decides from every header: the same raster
        assert every.positions_trusted, every.reason
    if rec.n_frames > detect_mod.SAMPLE_ALL_FRAMES:
        assert got.reader.frames.size < rec.n_frames


def test_most_generated_recordings_are_decided_by_the_sample(tmp_path):
    decided = 0
    for seed in range(40):
        rec = open_recording(_recording(tmp_path, 1000 + seed, glitches=False))
        decided += sample_scan(rec).detection is not None
    assert decided >= 25


def test_auto_reads_a_sample_and_equals_the_exhaustive_read(tmp_path, monkeypatch):
    n, shape, start = 3 + 40 * 30 + 2, (40, 30), 3
    frames = make_frames(n, (4, 4), dtype="<u1")
    sx, sy = raster_positions(n, shape, start, "x")
    blobs = tvips_bytes(frames, frameheaderbytes=76, rotidx=np.zeros(n, dtype=int))
    first = write_parts(tmp_path / "a", with_fields(blobs, 76, (4, 4), "<u1", Scan_x=sx, Scan_y=sy))
    read = []
    real = HeaderReader.read

    def counting(self, frames):
        before = self.frames.size
        real(self, frames)
        read.append(self.frames.size - before)

    monkeypatch.setattr(HeaderReader, "read", counting)
    data = file_reader(first, scan_shape="auto", lazy=True)[0]["data"]
    assert 0 < sum(read) < n // 3  # a sample, not every header
    want = file_reader(first, scan_shape=shape, scan_start_frame=start, winding_scan_axis="x")
    np.testing.assert_array_equal(np.asarray(data), want[0]["data"])
    read.clear()
    d = detect_scan(first)
    assert d.sampled and d.headers_read == sum(read)
    assert (d.scan_shape, d.scan_start_frame, d.winding_scan_axis) == (shape, start, "x")
    assert 0.98 < d.confidence < 1 and "at 95% confidence" in d.reason
    full = detect_scan(first, exhaustive=True)
    assert not full.sampled and full.confidence == 1.0 and full.headers_read is None
    assert full.reader_kwargs() == d.reader_kwargs()


def test_undecided_sample_falls_back_to_every_header(tmp_path):
    # positions scrambled in a third of the frames: the sample disagrees, so every
    # header is read and the answer is the exhaustive one
    n, shape = 2 + 30 * 30, (30, 30)
    sx, sy = raster_positions(n, shape, 2)
    rng = np.random.default_rng(3)
    bad = rng.choice(np.arange(2, n), n // 3, replace=False)
    sx[bad] = rng.integers(0, 30, bad.size)
    rot = np.r_[0, 0, np.arange(1, 901)]
    blobs = tvips_bytes(make_frames(n, (2, 2), "<u1"), frameheaderbytes=76, rotidx=rot)
    first = write_parts(tmp_path / "u", with_fields(blobs, 76, (2, 2), "<u1", Scan_x=sx, Scan_y=sy))
    rec = open_recording(first)
    assert sample_scan(rec).detection is None
    d = detect_scan(first)
    every = detect_scan(first, exhaustive=True)
    assert _kwargs(d) == _kwargs(every) and d.confidence == every.confidence
    assert "every header read" in d.reason and not d.sampled
    # scan_shape="auto" then takes the rotator index, as from every header
    data = file_reader(first, scan_shape="auto")[0]["data"]
    np.testing.assert_array_equal(
        data, file_reader(first, scan_shape=(30, 30), scan_start_frame=2)[0]["data"]
    )


def test_long_junk_prefix_is_found_by_search(tmp_path):
    n, shape, start = 2000 + 20 * 25 + 5, (20, 25), 2000
    sx, sy = raster_positions(n, shape, start, "y")
    blobs = tvips_bytes(make_frames(n, (2, 2), "<u1"), frameheaderbytes=76)
    first = write_parts(tmp_path / "p", with_fields(blobs, 76, (2, 2), "<u1", Scan_x=sx, Scan_y=sy))
    got = sample_scan(open_recording(first))
    d = got.detection
    assert d is not None and d.sampled
    assert (d.scan_shape, d.scan_start_frame, d.winding_scan_axis) == (shape, start, "y")
    assert got.reader.frames.size < 600


def test_initial_sample_is_spread_and_bounded():
    s = initial_sample(100_000)
    assert s[0] == 0 and s[-1] == 99_999
    assert s.size <= 2 * detect_mod.SAMPLE_EDGE_FRAMES + detect_mod.SAMPLE_RUNS * 16
    strata = np.unique(s // (100_000 // detect_mod.SAMPLE_RUNS))
    assert strata.size >= detect_mod.SAMPLE_RUNS
    np.testing.assert_array_equal(initial_sample(100_000), s)  # deterministic


# ------------------------------------------------------------------ rotidx in numpy


def _auto_reference(rotidx):
    """RosettaSciIO's documented run rule, naively, run by run."""
    r = np.asarray(rotidx, dtype=np.int64)
    inc = np.flatnonzero(np.diff(r) > 0)
    start = int(inc[0]) + (1 if r[inc[0]] == 0 else 0)
    stop = int(inc[-1]) + 1
    total = int(r[stop])
    seg = r[start : stop + 1]
    out = np.zeros(total, dtype=np.int64)
    change = np.flatnonzero(np.diff(seg) != 0) + 1
    lo = np.concatenate([[0], change])
    hi = np.concatenate([change, [seg.size]])
    for a, b in zip(lo[:-1].tolist(), hi[:-1].tolist()):
        p0, p1 = max(int(seg[a]) - 1, 0), min(int(seg[b]) - 1, total)
        for p in range(p0, p1):
            out[p] = a + min(p - p0, b - a - 1)
    out[max(int(seg[lo[-1]]) - 1, 0) :] = lo[-1]
    return out + start


def test_auto_scan_indices_matches_the_run_rule():
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(3000):
        n = int(rng.integers(2, 30))
        r = rng.integers(0, int(rng.integers(2, 40)), size=n)
        inc = np.flatnonzero(np.diff(r) > 0)
        if inc.size == 0:
            continue
        total = int(r[inc[-1] + 1])
        if math.isqrt(total) ** 2 != total or total > 4 * n:
            continue
        np.testing.assert_array_equal(auto_scan_indices(r).ravel(), _auto_reference(r))
        checked += 1
    assert checked > 300


# ------------------------------------------------------------------ on S3 (moto)


def _ranged_bytes(log) -> int:
    total = 0
    for r in list(log.requests):
        if r.method == "GET" and r.range:
            a, b = r.range.split("=", 1)[1].split("-")
            total += int(b) - int(a) + 1
    return total


def big_scan_parts(n=4096, shape=(64, 63), start=3, frame=(128, 128), part_bytes=16 * 2**20):
    """A 4096-frame recording of 32 KiB frames (a 64 x 63 snake scan after 3 junk
    frames, then junk back at (0, 0)) in parts of at most 16 MiB."""
    fhb = 76
    rb = fhb + 2 * frame[0] * frame[1]
    per = (part_bytes - 256) // rb
    counts = [min(per, n - k) for k in range(0, n, per)]
    sx, sy = raster_positions(n, shape, start, "x")
    rot = np.zeros(n, dtype=np.int64)
    blobs = tvips_bytes(
        np.zeros((n, *frame), dtype="<u2"),
        frameheaderbytes=fhb,
        rotidx=rot,
        records_per_part=counts,
    )
    return with_fields(blobs, fhb, frame, "<u2", Scan_x=sx, Scan_y=sy)


def test_s3_sampled_detection_reads_few_ranges(s3):
    import fsspec

    blobs = big_scan_parts()
    fs = fsspec.filesystem("s3", **s3.storage_options)
    for k, blob in enumerate(blobs):
        fs.pipe_file(f"tvips/big_{k:03d}.tvips", blob)
    fs.invalidate_cache()
    total = sum(len(b) for b in blobs)
    assert max(len(b) for b in blobs) <= 16 * 2**20 and len(blobs) == 9
    s3.log.clear()
    d = detect_scan("s3://tvips/big_000.tvips", s3.storage_options)
    assert d.sampled
    assert (d.scan_shape, d.scan_start_frame, d.winding_scan_axis) == ((64, 63), 3, "x")
    gets = s3.log.count("GET", ranged=True)
    assert gets <= 64, s3.log.summary()
    assert _ranged_bytes(s3.log) <= total // 4
    # every header: the same scan
    s3.log.clear()
    every = detect_scan("s3://tvips/big_000.tvips", s3.storage_options, exhaustive=True)
    assert every.reader_kwargs() == d.reader_kwargs() and every.confidence == 1.0
    # whole runs of 32 KiB records (cost model): a few 16 MiB ranges, not 4096
    assert s3.log.count("GET", ranged=True) <= 2 * len(blobs) + 2


# ------------------------------------------------------------------ the command line


def test_cli_info_samples_and_exhaustive_reads_all(tmp_path, capsys):
    import json

    from intake_tvips.cli import main

    n, shape, start = 3 + 30 * 40 + 7, (30, 40), 3
    sx, sy = raster_positions(n, shape, start)
    blobs = tvips_bytes(make_frames(n, (2, 2), "<u1"), frameheaderbytes=76)
    first = write_parts(tmp_path / "c", with_fields(blobs, 76, (2, 2), "<u1", Scan_x=sx, Scan_y=sy))
    assert main(["info", first]) == 0
    out = capsys.readouterr().out
    assert "(a sample; --exhaustive reads every one)" in out and "of 1210" in out
    assert main(["info", first, "--json"]) == 0
    sampled = json.loads(capsys.readouterr().out)
    assert main(["info", first, "--json", "--exhaustive"]) == 0
    every = json.loads(capsys.readouterr().out)
    assert sampled["scan"]["sampled"] and not every["scan"]["sampled"]
    assert every["frame_headers_read"] == n > sampled["frame_headers_read"]
    assert sampled["scan"]["reader_kwargs"] == every["scan"]["reader_kwargs"]
    for key in ("first_frame_time", "last_frame_time", "duration_s", "frame_rate_hz"):
        assert sampled[key] == every[key]
    assert sampled["median_frame_interval_s"] == pytest.approx(0.01)
    assert every["scan"]["confidence"] == 1.0 > sampled["scan"]["confidence"] > 0.98
    assert sampled["scan"]["positions_trusted"] and every["scan"]["positions_trusted"]
    assert not sampled["scan"]["shifted"] and not every["scan"]["shifted"]


RSCIIO = Path("/work/shared/testdata/rsciio")


@pytest.mark.parametrize(
    "name", ["test_tvips_2233_000", "test_tvips_2345_000", "test_tvips_2345_split_000"]
)
@pytest.mark.parametrize("tiny_sample", [False, True])
def test_rsciio_files_sampled_equals_exhaustive(monkeypatch, name, tiny_sample):
    if tiny_sample:  # force the sampled path (searches included) onto these small files
        monkeypatch.setattr(detect_mod, "SAMPLE_ALL_FRAMES", 0)
        monkeypatch.setattr(detect_mod, "SAMPLE_EDGE_FRAMES", 1)
        monkeypatch.setattr(detect_mod, "SAMPLE_RUNS", 1)
        monkeypatch.setattr(detect_mod, "SAMPLE_RUN_FRAMES", 1)
    rec = open_recording(str(RSCIIO / f"{name}.tvips"))
    every = detect_scan(headers=frame_headers_of(rec))
    got = sample_scan(rec)
    assert got.detection is not None or got.why
    if got.detection is not None:
        assert _kwargs(got.detection) == _kwargs(every)
    # what file_reader's "auto" reads is what every header says
    path = str(RSCIIO / f"{name}.tvips")
    if every.method == "none" and "still reads RosettaSciIO's 2 x 2" in every.reason:
        # rotidx 1..4 on frames 0..3 counts every frame (no scan from the headers), but
        # RosettaSciIO's own tests read it with "auto" as a 2 x 2 scan: kept
        assert file_reader(path, scan_shape="auto")[0]["data"].shape[:2] == (2, 2)
    elif every.method == "none":  # a 2 x 3 scan: not square, RosettaSciIO's rule refuses it
        with pytest.raises(ValueError, match=f"{name}.tvips: .*not a square"):
            file_reader(path, scan_shape="auto")
    else:
        auto = file_reader(path, scan_shape="auto")[0]["data"]
        np.testing.assert_array_equal(auto, file_reader(path, **every.reader_kwargs())[0]["data"])


def test_s3_per_header_ranges_keep_many_in_flight(s3):
    import fsspec
    from proxy import FaultProxy

    from intake_tvips.recording import headers as headers_mod

    n, per = 240, 20
    frames = make_frames(n, (256, 256), "<u1")  # 64 KiB records: one range per header
    blobs = tvips_bytes(frames, frameheaderbytes=76, records_per_part=[per] * (n // per))
    fs = fsspec.filesystem("s3", **s3.storage_options)
    for k, blob in enumerate(blobs):
        fs.pipe_file(f"tvips/many_{k:03d}.tvips", blob)
    # every header answer held back a little, so that the concurrency shows whatever the
    # machine's load (unhindered, small answers can finish before the next one starts)
    proxy = FaultProxy(s3.endpoint)
    try:
        client = dict(s3.storage_options["client_kwargs"], endpoint_url=proxy.url)
        opts = {
            **s3.storage_options,
            "client_kwargs": client,
            "config_kwargs": {"max_pool_connections": 64},
        }
        rec = open_recording("s3://tvips/many_000.tvips", opts)
        assert not headers_mod.ReadCost().coalesce(rec.layout)
        proxy.clear()
        proxy.delay(0.1, times=None, path="many_", ranged=True)
        t = frame_headers_of(rec)
        np.testing.assert_array_equal(t["num"], np.arange(n))
        assert proxy.log.count("GET", ranged=True) == n
        assert proxy.log.max_in_flight > 10  # beyond s3fs's default pool; 32 are asked at once
    finally:
        proxy.stop()


# ------------------------------------------- strays: what a sample may not see


def _glitched(tmp_path, name, edit):
    """A 64 x 64 scan (winding x, 3 junk frames before, 2 after) whose positions
    ``edit(sx, sy, rot)`` spoils; rotidx counts the positions."""
    shape, before = (64, 64), 3
    n = before + 4096 + 2
    sx, sy = raster_positions(n, shape, before, "x")
    rot = np.r_[np.zeros(before, int), np.arange(1, 4097), [4096, 4096]]
    edit(sx, sy, rot)
    blobs = tvips_bytes(make_frames(n, (2, 2), "<u1"), frameheaderbytes=76, rotidx=rot)
    return write_parts(tmp_path / name, with_fields(blobs, 76, (2, 2), "<u1", Scan_x=sx, Scan_y=sy))


def test_a_run_of_frames_without_positions_reads_alike_sampled_or_not(tmp_path):
    """2 % of the frames, between two sampled runs, carry no position: the sample does not
    see them, so reading every header must come to the same raster."""
    gaps = np.diff(initial_sample(3 + 4096 + 2))
    a = int(initial_sample(4101)[np.argmax(gaps)]) + 1

    def blank(sx, sy, rot):
        sx[a : a + 82], sy[a : a + 82] = 0, 0

    first = _glitched(tmp_path, "run", blank)
    rec = open_recording(first)
    sampled = sample_scan(rec).detection
    assert sampled is not None and sampled.sampled  # the sample missed the run
    every = detect_scan(first, exhaustive=True)
    assert 0.9 < every.confidence < 0.99 and not every.shifted and every.positions_trusted
    assert "strays" in every.reason and "takes this raster" in every.reason
    assert _kwargs(sampled) == _kwargs(every)
    want = file_reader(first, scan_shape=(64, 64), scan_start_frame=3, winding_scan_axis="x")
    np.testing.assert_array_equal(file_reader(first, scan_shape="auto")[0]["data"], want[0]["data"])


def test_scattered_strays_keep_the_raster(tmp_path):
    def scatter(sx, sy, rot):
        f = 3 + 1 + np.random.default_rng(5).choice(4095, 250, replace=False)
        sx[f], sy[f] = 17, 40

    every = detect_scan(_glitched(tmp_path, "s", scatter), exhaustive=True)
    assert every.method == "scan_xy" and every.positions_trusted and not every.shifted
    assert 0.93 < every.confidence < 0.95


def test_skipped_frames_hand_over_to_the_rotator_index(tmp_path):
    """Half-way a position was skipped: the frames after it sit one place on, which
    only the rotator index can place; "auto" takes it, sampled or not."""

    def skip(sx, sy, rot):
        j = 3 + 2048
        sx[j : 3 + 4095], sy[j : 3 + 4095] = sx[j + 1 : 3 + 4096], sy[j + 1 : 3 + 4096]
        rot[j:] = np.minimum(rot[j:] + 1, 4096)

    first = _glitched(tmp_path, "k", skip)
    every = detect_scan(first, exhaustive=True)
    assert every.shifted and not every.positions_trusted, every.reason
    assert "skipped or repeated" in every.reason and "the rotator index" in every.reason
    rec = open_recording(first)
    want = auto_scan_indices(frame_headers_of(rec)["rotidx"])
    frames = make_frames(rec.n_frames, (2, 2), "<u1")
    auto = file_reader(first, scan_shape="auto")[0]
    np.testing.assert_array_equal(auto["data"], frames[want])
    # no raster reads these frames: the record says where they come from
    assert auto["original_metadata"]["scan_found"] == {
        "scan_shape": list(want.shape),
        "frames": "placed by the rotator index",
    }


@pytest.mark.parametrize("winding", [None, "x", "y"])
@pytest.mark.parametrize("stray", [5, 50, 98, 99, 100])
def test_strays_among_the_junk_frames_are_passed_over(tmp_path, winding, stray):
    """Junk frames at (0, 0) before the scan, one of them (or the two last; or one, and
    the scan's first frame) at another position: every header read finds the scan all
    the same; a sample finds it or says it cannot decide."""

    def junk(sx, sy, rot):
        sx[:100], sy[:100] = 0, 0
        spoilt = {98: [98, 99], 100: [40, 100]}.get(stray, [stray])
        sx[spoilt], sy[spoilt] = 7, 3

    shape, before, n = (64, 64), 100, 100 + 4096 + 2
    sx, sy = raster_positions(n, shape, before, winding)
    junk(sx, sy, None)
    rot = np.r_[np.zeros(before, int), np.arange(1, 4097), [4096, 4096]]
    blobs = tvips_bytes(make_frames(n, (2, 2), "<u1"), frameheaderbytes=76, rotidx=rot)
    first = write_parts(tmp_path / "j", with_fields(blobs, 76, (2, 2), "<u1", Scan_x=sx, Scan_y=sy))
    every = detect_scan(first, exhaustive=True)
    assert (every.scan_shape, every.scan_start_frame, every.winding_scan_axis) == (
        shape,
        before,
        winding,
    ), every.reason
    assert every.confidence >= 4095 / 4096 and "strays among the junk frames" in every.reason
    got = sample_scan(open_recording(first)).detection
    assert got is None or _kwargs(got) == _kwargs(every)


def test_a_run_of_strays_too_long_to_keep_the_raster_is_seen_by_the_sample(tmp_path):
    """600 junk frames, then a 300-position scan whose 40 frames (13 %) in the widest gap
    between the first sample's frames carry no position: every header read hands over
    to the rotator index; the sample, which reads frames spread over the scan it
    found, must see the run and say it cannot decide."""
    before, positions, n = 600, 300, 902
    sample = initial_sample(n)
    inside = sample[(sample > before) & (sample < before + positions)]
    edges = np.concatenate([[before], inside, [before + positions]])
    widest = int(np.argmax(np.diff(edges)))
    assert np.diff(edges)[widest] > 45  # the run fits between the frames first read
    a = int(edges[widest]) + 2
    sx, sy = raster_positions(n, (1, positions), before)
    sx[a : a + 40], sy[a : a + 40] = 0, 0
    rot = np.r_[np.zeros(before, int), np.arange(1, positions + 1), [positions, positions]]
    blobs = tvips_bytes(make_frames(n, (2, 2), "<u1"), frameheaderbytes=76, rotidx=rot)
    first = write_parts(tmp_path / "w", with_fields(blobs, 76, (2, 2), "<u1", Scan_x=sx, Scan_y=sy))
    every = detect_scan(first, exhaustive=True)
    assert every.confidence < 0.9 and not every.positions_trusted, every.reason
    got = sample_scan(open_recording(first))
    assert got.detection is None, got.detection.reason


def test_a_skip_undone_by_a_repeat_is_a_block_of_strays(tmp_path):
    """A position skipped and, 80 frames on, one repeated: the frames between sit one
    place on. Every header read, they are strays (the raster holds before and after
    them), as a sample that misses them would have it; a skip that is not undone is a
    shift (test_skipped_frames_hand_over_to_the_rotator_index)."""

    def undone(sx, sy, rot):
        j = 3 + 1500
        sx[j : j + 80], sy[j : j + 80] = sx[j + 1 : j + 81], sy[j + 1 : j + 81]
        rot[j : j + 80] += 1

    first = _glitched(tmp_path, "u", undone)
    every = detect_scan(first, exhaustive=True)
    assert 0.97 < every.confidence < 0.99 and not every.shifted and every.positions_trusted
    got = sample_scan(open_recording(first)).detection
    assert got is None or _kwargs(got) == _kwargs(every)
    want = file_reader(first, scan_shape=(64, 64), scan_start_frame=3, winding_scan_axis="x")
    np.testing.assert_array_equal(file_reader(first, scan_shape="auto")[0]["data"], want[0]["data"])
