"""The frame header table (headers.py) and scan detection from headers (detect.py)."""

import os

import fsspec
import numpy as np
import pytest
from tvips_factory import DEFAULT_TIMESTAMP, make_frames, reference_scan, tvips_bytes, write_parts

from intake_tvips import file_reader
from intake_tvips.format.layout import (
    SERIES_HEADER_SIZE,
    V2_EXTENDED_FIELDS,
    V2_FRAME_HEADER_DTYPE,
    frame_header_dtype,
)
from intake_tvips.maths.scan import ScanMap
from intake_tvips.recording import headers as headers_mod
from intake_tvips.recording.core import open_recording
from intake_tvips.recording.detect import ScanDetection, detect_scan
from intake_tvips.recording.detect_rotidx import SQUARE_ASSUMED_CONFIDENCE
from intake_tvips.recording.headers import ReadCost, frame_headers, frame_headers_of

V2_NAMES = list(V2_FRAME_HEADER_DTYPE.names)
EXT_NAMES = [n for n, _ in V2_EXTENDED_FIELDS]


def with_fields(parts: list[bytes], fhb: int, frame_shape, dtype, **fields) -> list[bytes]:
    """Write header fields (arrays over all frames) into the records of ``parts``."""
    rec_dt = np.dtype(
        [("h", frame_header_dtype(2, fhb)), ("d", np.dtype(dtype), tuple(frame_shape))]
    )
    out, f0 = [], 0
    for k, blob in enumerate(parts):
        head = SERIES_HEADER_SIZE if k == 0 else 0
        recs = np.frombuffer(bytearray(blob[head:]), dtype=rec_dt)
        for name, values in fields.items():
            recs["h"][name] = np.asarray(values)[f0 : f0 + recs.size]
        out.append(blob[:head] + recs.tobytes())
        f0 += recs.size
    return out


def raster_positions(n_frames, shape, start, winding=None):
    """(Scan_x, Scan_y) of every frame for a scan the reader reads with these parameters."""
    ny, nx = shape
    sx = np.zeros(n_frames, dtype=np.float32)
    sy = np.zeros(n_frames, dtype=np.float32)
    pos = np.arange(ny * nx)
    frames = ScanMap(shape, start, winding, 0).frames(pos)
    y, x = np.divmod(pos, nx)
    keep = frames < n_frames  # a recording that ends inside the scan
    sx[frames[keep]], sy[frames[keep]] = x[keep], y[keep]
    return sx, sy


# ------------------------------------------------------------------ the header table


def test_v1_table(tmp_path):
    frames = make_frames(7, (4, 5), dtype="<u1")
    first = write_parts(tmp_path / "v1", tvips_bytes(frames, version=1))
    t = frame_headers(first)
    assert t.dtype.names == ("frame", "part", "num", "timestamp", "ms", "time")
    assert t.dtype["frame"] == np.int64 and t.dtype["part"] == np.int32
    assert t.dtype["time"] == np.dtype("datetime64[ms]")
    np.testing.assert_array_equal(t["frame"], np.arange(7))
    np.testing.assert_array_equal(t["num"], np.arange(7))
    np.testing.assert_array_equal(t["ms"], np.arange(7) * 10)
    np.testing.assert_array_equal(t["part"], 0)


def test_v2_60_table(tmp_path):
    frames = make_frames(5)
    rot = np.array([0, 1, 2, 3, 0])
    first = write_parts(tmp_path / "a", tvips_bytes(frames, rotidx=rot, mode=1))
    t = frame_headers(first)
    assert list(t.dtype.names) == ["frame", "part", *V2_NAMES, "time"]
    assert t.dtype["rotidx"] == np.dtype("<u4") and t.dtype["stagex"] == np.dtype("<f4")
    np.testing.assert_array_equal(t["rotidx"], rot)
    np.testing.assert_array_equal(t["mode"], 1)
    np.testing.assert_array_equal(t["stagex"], np.float32(-2.25))
    np.testing.assert_array_equal(t["fcurrent"], np.float32(23.0))
    # the same values as the bytes on disk
    records = np.fromfile(first, dtype=np.uint8, offset=256).reshape(5, -1)
    raw = records[:, :60].copy().view(V2_FRAME_HEADER_DTYPE).ravel()
    for name in V2_NAMES:
        np.testing.assert_array_equal(t[name], raw[name])


@pytest.mark.parametrize(
    ("fhb", "n_ext"), [(64, 1), (76, 4), (78, 4), (80, 5), (108, 12), (200, 12)]
)
def test_v2_extended_fields(tmp_path, fhb, n_ext):
    n = 6
    frames = make_frames(n, (3, 4))
    values = {name: np.arange(n, dtype=np.float32) + 100 * i for i, name in enumerate(EXT_NAMES)}
    fields = {k: v for k, v in values.items() if k in EXT_NAMES[:n_ext]}
    parts = with_fields(tvips_bytes(frames, frameheaderbytes=fhb), fhb, (3, 4), "<u2", **fields)
    first = write_parts(tmp_path / "x", parts)
    t = frame_headers(first)
    assert list(t.dtype.names) == ["frame", "part", *V2_NAMES, *EXT_NAMES[:n_ext], "time"]
    for name, v in fields.items():
        assert t.dtype[name] == np.dtype("<f4")
        np.testing.assert_array_equal(t[name], v)
    np.testing.assert_array_equal(t["num"], np.arange(n))


def test_parts_and_time(tmp_path):
    n = 23
    ts = DEFAULT_TIMESTAMP + np.arange(n) // 4
    ms = (np.arange(n) * 250) % 1000
    frames = make_frames(n, (2, 3))
    parts = tvips_bytes(frames, records_per_part=[10, 0, 8, 5], timestamps=ts, ms=ms)
    first = write_parts(tmp_path / "p", parts)
    t = frame_headers(first)
    np.testing.assert_array_equal(t["frame"], np.arange(n))
    np.testing.assert_array_equal(t["part"], [0] * 10 + [2] * 8 + [3] * 5)
    np.testing.assert_array_equal(t["num"], np.arange(n))
    want = np.datetime64("1993-06-18T10:34:56.000", "ms") + (np.arange(n) * 250).astype(
        "timedelta64[ms]"
    )
    np.testing.assert_array_equal(t["time"], want)
    assert str(t["time"][5]) == "1993-06-18T10:34:57.250"


def test_empty_recording(tmp_path):
    first = write_parts(tmp_path / "e", tvips_bytes(make_frames(0)))
    t = frame_headers(first)
    assert t.shape == (0,) and "rotidx" in t.dtype.names


def test_memory_and_progress(memfs, capsys):
    frames = make_frames(40, (8, 8), dtype="<u1")
    parts = tvips_bytes(frames, records_per_part=[15, 25])
    first = write_parts("memory://tvips-test/hd/m", parts, fs=memfs)
    t = frame_headers(first, progress=True)
    np.testing.assert_array_equal(t["num"], np.arange(40))
    np.testing.assert_array_equal(t["part"], [0] * 15 + [1] * 25)
    assert "frame headers" in capsys.readouterr().err
    # frame_headers_of takes an opened recording
    t2 = frame_headers_of(open_recording(first))
    np.testing.assert_array_equal(t, t2)


def test_local_reads_only_header_bytes(tmp_path, monkeypatch):
    n, fhb = 300, 76
    frames = make_frames(n, (16, 16), dtype="<u1")
    first = write_parts(
        tmp_path / "l", tvips_bytes(frames, frameheaderbytes=fhb, records_per_part=[100, 200])
    )
    rec = open_recording(first)
    got = []
    real = os.pread

    def counting_pread(fd, size, offset):
        got.append(size)
        return real(fd, size, offset)

    monkeypatch.setattr(os, "pread", counting_pread)
    t = frame_headers_of(rec)
    assert len(got) == n and set(got) == {fhb}  # exactly the header bytes of each frame
    np.testing.assert_array_equal(t["num"], np.arange(n))


def test_local_truncated_while_reading(tmp_path):
    frames = make_frames(10, (4, 4))
    first = write_parts(tmp_path / "t", tvips_bytes(frames))
    rec = open_recording(first)
    with open(first, "r+b") as f:
        f.truncate(SERIES_HEADER_SIZE + 5 * (60 + 32) + 10)
    with pytest.raises(OSError, match="truncated"):
        frame_headers_of(rec)


def test_countmem_big_records_read_headers_only(countmem):
    n, fhb = 50, 108
    frames = make_frames(n, (100, 100))  # 20 kB records
    parts = tvips_bytes(frames, frameheaderbytes=fhb, records_per_part=[20, 30])
    first = write_parts("countmem://big", parts, fs=countmem)
    rec = open_recording(first)
    # 10 MB/s: a 20 kB record costs 2 ms to skip, a request 15 ms / 32: one range per header
    slow = ReadCost(latency=0.015, bandwidth=10e6, in_flight=32)
    assert not slow.coalesce(rec.layout)
    countmem.log.clear()
    t = frame_headers_of(rec, cost=slow)
    np.testing.assert_array_equal(t["num"], np.arange(n))
    assert len(countmem.log) == n
    assert sum(r[3] for r in countmem.log) == n * fhb  # vs 1 MB of pixels
    assert sum(len(b) for b in parts) > 1000 * n * fhb // 60
    # the defaults (100 MB/s): skipping 20 kB (0.2 ms) is cheaper than a request
    # (0.47 ms): whole runs of records, one range per part here
    assert ReadCost().coalesce(rec.layout)
    countmem.log.clear()
    np.testing.assert_array_equal(frame_headers_of(rec), t)
    assert len(countmem.log) == 2


@pytest.mark.parametrize(
    ("frame_shape", "coalesce"), [((8, 8), True), ((128, 128), True), ((512, 512), False)]
)
def test_cost_model_choice(frame_shape, coalesce):
    # break-even record: 100 MB/s * 15 ms / 32 = 47 kB: 32 KiB frames coalesced, 512 KiB not
    from intake_tvips.format.layout import RecordLayout

    layout = RecordLayout(76, *frame_shape, "<u2")
    assert ReadCost().coalesce(layout) is coalesce
    assert ReadCost(in_flight=1).coalesce(layout)  # one at a time: requests cost more


def test_countmem_small_records_coalesced(countmem, monkeypatch):
    monkeypatch.setattr(headers_mod, "COALESCE_RANGE_BYTES", 16 * 2**10)
    n = 2000
    frames = make_frames(n, (8, 8), dtype="<u1")  # 124-byte records
    parts = tvips_bytes(frames, records_per_part=[700, 1300])
    first = write_parts("countmem://small", parts, fs=countmem)
    rec = open_recording(first)
    countmem.log.clear()
    t = frame_headers_of(rec)
    np.testing.assert_array_equal(t["num"], np.arange(n))
    per = 16 * 2**10 // 124
    assert len(countmem.log) == -(-700 // per) + -(-1300 // per)  # 18 reads, not 2000
    assert all(r[1] is not None for r in countmem.log)  # ranges, not whole files


def _put_s3(server, key, blobs) -> str:
    fs = fsspec.filesystem("s3", **server.storage_options)
    for k, blob in enumerate(blobs):
        fs.pipe_file(f"tvips/{key}_{k:03d}.tvips", blob)
    fs.invalidate_cache()
    return f"s3://tvips/{key}_000.tvips"


def test_s3_small_records_coalesced_and_concurrent(s3, monkeypatch):
    monkeypatch.setattr(headers_mod, "COALESCE_RANGE_BYTES", 32 * 2**10)
    n = 3000
    frames = make_frames(n, (8, 8), dtype="<u1")
    url = _put_s3(s3, "small", tvips_bytes(frames, records_per_part=[1000, 2000]))
    rec = open_recording(url, s3.storage_options)
    s3.log.clear()
    t = frame_headers_of(rec)
    np.testing.assert_array_equal(t["num"], np.arange(n))
    np.testing.assert_array_equal(t["part"], [0] * 1000 + [1] * 2000)
    per = 32 * 2**10 // 124
    gets = s3.log.count("GET", ranged=True)
    assert gets == -(-1000 // per) + -(-2000 // per)  # 12, not 3000
    assert s3.log.count("GET", ranged=False) == 0
    assert s3.log.max_in_flight > 1


def test_s3_big_records_one_range_per_header_concurrent(s3):
    n = 40
    frames = make_frames(n, (128, 128))  # 32 KiB between headers
    url = _put_s3(s3, "bigrec", tvips_bytes(frames, frameheaderbytes=76, records_per_part=[25, 15]))
    rec = open_recording(url, s3.storage_options)
    s3.log.clear()
    t = frame_headers_of(rec, cost=ReadCost(bandwidth=10e6))
    np.testing.assert_array_equal(t["num"], np.arange(n))
    assert "Scan_y" in t.dtype.names
    assert s3.log.count("GET", ranged=True) == n
    assert s3.log.max_in_flight > 1


# ------------------------------------------------------------------ scan detection


def _scan_file(tmp_path, name, n, shape, start, winding=None, fhb=76, corrupt=None, parts=None):
    frames = make_frames(n, (4, 4), dtype="<u1")
    sx, sy = raster_positions(n, shape, start, winding)
    if corrupt is not None:
        corrupt(sx, sy)
    blobs = tvips_bytes(
        frames, frameheaderbytes=fhb, rotidx=np.zeros(n, dtype=int), records_per_part=parts
    )
    blobs = with_fields(blobs, fhb, (4, 4), "<u1", Scan_x=sx, Scan_y=sy)
    return frames, write_parts(tmp_path / name, blobs)


def test_detect_non_square_raster_after_junk(tmp_path):
    # 5 junk frames at (0, 0), a 12 x 20 raster, 3 trailing frames back at (0, 0)
    frames, first = _scan_file(tmp_path, "r", 5 + 240 + 3, (12, 20), 5, parts=[100, 148])
    d = detect_scan(first)
    assert isinstance(d, ScanDetection)
    assert (d.method, d.scan_shape, d.scan_start_frame) == ("scan_xy", (12, 20), 5)
    assert d.winding_scan_axis is None and d.hysteresis == 0
    assert d.confidence == 1.0
    assert "hysteresis" in d.reason and "frame 5" in d.reason
    data = file_reader(first, **d.reader_kwargs())[0]["data"]
    np.testing.assert_array_equal(data, reference_scan(frames, (12, 20), 5))


@pytest.mark.parametrize("winding", ["x", "y"])
def test_detect_winding(tmp_path, winding):
    shape, start = (6, 9), 3
    frames, first = _scan_file(tmp_path, "w", 3 + 54 + 2, shape, start, winding, fhb=108)
    d = detect_scan(first)
    assert (d.method, d.scan_shape, d.scan_start_frame) == ("scan_xy", shape, start)
    assert d.winding_scan_axis == winding and d.confidence == 1.0
    assert "backwards" in d.reason
    data = file_reader(first, **d.reader_kwargs())[0]["data"]
    np.testing.assert_array_equal(data, reference_scan(frames, shape, start, winding))


def test_detect_corrupted_positions_lower_confidence(tmp_path):
    def corrupt(sx, sy):
        sx[[10, 50, 90]] = (sx[[10, 50, 90]] + 3) % 20
        sy[130] = np.nan
        sx[170] = 4.5

    _, first = _scan_file(tmp_path, "c", 5 + 240, (12, 20), 5, corrupt=corrupt)
    d = detect_scan(first)
    assert (d.method, d.scan_shape, d.scan_start_frame) == ("scan_xy", (12, 20), 5)
    assert d.confidence == pytest.approx(1 - 5 / 240)
    assert "97.9%" in d.reason


def test_detect_scan_longer_than_recording_keeps_whole_rows(tmp_path):
    frames, first = _scan_file(tmp_path, "s", 2 + 47, (5, 10), 2)  # last row incomplete
    d = detect_scan(first)
    assert d.scan_shape == (4, 10) and d.scan_start_frame == 2 and d.confidence == 1.0
    assert "complete rows" in d.reason
    data = file_reader(first, **d.reader_kwargs())[0]["data"]
    np.testing.assert_array_equal(data, reference_scan(frames, (4, 10), 2))


def test_detect_rotidx_square(tmp_path):
    rot = np.concatenate([[0, 0, 0], np.arange(1, 17), [0, 0]])
    frames = make_frames(rot.size, (4, 4))
    first = write_parts(tmp_path / "rot", tvips_bytes(frames, rotidx=rot))
    d = detect_scan(first)
    assert (d.method, d.scan_shape, d.scan_start_frame) == ("rotidx", (4, 4), 3)
    assert d.confidence == SQUARE_ASSUMED_CONFIDENCE and d.rows_assumed and not d.use_auto
    assert "100.0% of positions hold a frame with their own rotator value" in d.reason
    assert "the square is assumed" in d.reason
    kw = d.reader_kwargs()
    assert kw["scan_shape"] == (4, 4) and kw["scan_start_frame"] == 3
    np.testing.assert_array_equal(
        file_reader(first, **kw)[0]["data"], file_reader(first, scan_shape="auto")[0]["data"]
    )


def test_detect_rotidx_repeated_positions_uses_auto(tmp_path):
    rot = np.concatenate([[0], [1, 3, 4, 6, 7, 9]])  # skipped positions
    frames = make_frames(rot.size, (4, 4))
    first = write_parts(tmp_path / "rot2", tvips_bytes(frames, rotidx=rot, frameheaderbytes=76))
    d = detect_scan(first)  # Scan_x/Scan_y all zero: falls back to rotidx
    assert (d.method, d.scan_shape, d.scan_start_frame) == ("rotidx", (3, 3), 1)
    assert d.use_auto and d.reader_kwargs() == {"scan_shape": "auto"}
    assert d.confidence == SQUARE_ASSUMED_CONFIDENCE
    assert "66.7% of positions hold a frame with their own rotator value" in d.reason
    assert "0 in every frame" in d.reason


def test_detect_none(tmp_path):
    frames = make_frames(10, (4, 4))
    first = write_parts(tmp_path / "n", tvips_bytes(frames, rotidx=np.zeros(10, dtype=int)))
    d = detect_scan(first)
    assert (d.method, d.scan_shape, d.confidence) == ("none", None, 0.0)
    assert "never increases" in d.reason
    assert d.reader_kwargs() == {"scan_shape": None}
    # not a square: also none
    first = write_parts(tmp_path / "ns", tvips_bytes(frames))  # rotidx 1..10
    d = detect_scan(first)
    assert d.method == "none" and "not a square" in d.reason
    # version 1: no rotator index at all
    first = write_parts(tmp_path / "v1", tvips_bytes(frames, version=1))
    d = detect_scan(first)
    assert d.method == "none" and "version 1" in d.reason


def test_detect_from_given_headers_does_no_io(tmp_path):
    _, first = _scan_file(tmp_path, "g", 5 + 240, (12, 20), 5)
    t = frame_headers(first)
    d = detect_scan("/does/not/exist_000.tvips", headers=t)
    assert d.scan_shape == (12, 20) and d.scan_start_frame == 5


def test_detect_snake_starting_forwards_is_explained(tmp_path):
    # rows 1, 3, ... reversed: not expressible by the reader's winding (rows 0, 2, ...)
    ny, nx, start = 6, 8, 3
    t = np.zeros(start + ny * nx, dtype=[("Scan_x", "<f4"), ("Scan_y", "<f4")])
    f = np.arange(ny * nx)
    r, c = np.divmod(f, nx)
    t["Scan_x"][start + f] = np.where(r % 2 == 1, nx - 1 - c, c)
    t["Scan_y"][start + f] = r
    d = detect_scan(headers=t)
    assert (d.scan_shape, d.scan_start_frame, d.method) == ((6, 8), 3, "scan_xy")
    assert d.confidence < 0.6 and "rows 1, 3, 5" in d.reason and "Workaround" in d.reason
    # the workaround the reason gives puts every frame where its header says
    m = ScanMap((ny + 1, nx), start - nx, "x", 0).frames(np.arange((ny + 1) * nx))[nx:]
    y, x = np.divmod(np.arange(ny * nx), nx)
    np.testing.assert_array_equal(t["Scan_x"][m], x)
    np.testing.assert_array_equal(t["Scan_y"][m], y)


# ------------------------------------------------------------------ scan_shape="auto"


@pytest.mark.parametrize("winding", [None, "x"])
def test_auto_uses_scan_positions_for_any_shape(tmp_path, winding):
    # rotidx is all zero here: only Scan_x/Scan_y can tell the 12 x 20 raster
    frames, first = _scan_file(tmp_path, "a", 5 + 240 + 3, (12, 20), 5, winding, parts=[90, 158])
    for lazy in (False, True):
        data = file_reader(first, scan_shape="auto", lazy=lazy, hysteresis=0)[0]["data"]
        np.testing.assert_array_equal(
            np.asarray(data), reference_scan(frames, (12, 20), 5, winding)
        )


def test_auto_hysteresis_applies_to_the_detected_winding(tmp_path):
    frames, first = _scan_file(tmp_path, "h", 2 + 48, (6, 8), 2, "x")
    data = file_reader(first, scan_shape="auto", hysteresis=1)[0]["data"]
    np.testing.assert_array_equal(data, reference_scan(frames, (6, 8), 2, "x", 1))


def test_auto_falls_back_to_rotidx_when_positions_disagree(tmp_path):
    def scramble(sx, sy):
        rng = np.random.default_rng(0)
        rng.shuffle(sx)

    n = 2 + 16
    frames = make_frames(n, (4, 4), dtype="<u1")
    sx, sy = raster_positions(n, (4, 4), 2)
    scramble(sx, sy)
    rot = np.concatenate([[0, 0], np.arange(1, 17)])
    blobs = tvips_bytes(frames, frameheaderbytes=76, rotidx=rot)
    first = write_parts(tmp_path / "f", with_fields(blobs, 76, (4, 4), "<u1", Scan_x=sx, Scan_y=sy))
    assert detect_scan(first).confidence < 0.99
    data = file_reader(first, scan_shape="auto")[0]["data"]
    np.testing.assert_array_equal(data, frames[2:].reshape(4, 4, 4, 4))
