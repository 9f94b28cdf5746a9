"""The reader against the documented semantics, RosettaSciIO itself, and bad input."""

import pathlib
import pickle
import shutil
import warnings

import dask
import dask.array as da
import numpy as np
import pytest
from conftest import DATA
from tvips_factory import make_frames, reference_scan, tvips_bytes, write_parts

from intake_tvips import TruncatedRecordingWarning, TVIPSFormatError, file_reader

SPLIT = DATA / "test_tvips_2345_split_000.tvips"
SINGLE = DATA / "test_tvips_2345_000.tvips"
SQUARE = DATA / "test_tvips_2233_000.tvips"


def _read(url, **kw):
    return file_reader(str(url), **kw)[0]


# --- RosettaSciIO's own files, compared with RosettaSciIO itself --------------------------

RSCIIO_CASES = [
    (SINGLE, {}),
    (SPLIT, {}),
    (SPLIT, {"scan_shape": (2, 3)}),
    (SPLIT, {"scan_shape": (2, 2), "scan_start_frame": 2}),
    (SQUARE, {"scan_shape": (2, 2), "winding_scan_axis": "x", "hysteresis": 1}),
    (SINGLE, {"scan_shape": (2, 3), "winding_scan_axis": "y", "hysteresis": 1}),
    (SINGLE, {"scan_shape": (1, 2, 3), "winding_scan_axis": "x"}),
    (SPLIT, {"scan_shape": (3, 2), "winding_scan_axis": "y"}),
]


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("path,kw", RSCIIO_CASES)
def test_matches_rosettasciio(rsciio_reader, path, kw, lazy):
    ours = _read(path, lazy=lazy, **kw)
    ref = rsciio_reader(str(path), lazy=lazy, **kw)[0]
    assert isinstance(ours["data"], da.Array) == lazy
    np.testing.assert_array_equal(np.asarray(ours["data"]), np.asarray(ref["data"]))
    assert ours["data"].dtype == ref["data"].dtype
    assert ours["axes"] == ref["axes"]
    assert ours["metadata"] == ref["metadata"]
    assert ours["original_metadata"]["tvips_header"] == dict(
        ref["original_metadata"]["tvips_header"]
    )


def test_split_files_count_up_across_parts():
    data = _read(SPLIT)["data"]
    assert data.shape == (6, 4, 5)
    np.testing.assert_array_equal(data.ravel(), np.arange(data.size))


# --- synthetic recordings: every scan parameter against the documented rule ---------------


def _dataset(tmp_path, n=60, shape=(6, 7), parts=(13, 20, 27), **kw):
    frames = make_frames(n, shape)
    first = write_parts(tmp_path / "rec", tvips_bytes(frames, records_per_part=list(parts), **kw))
    return frames, first


SCANS = [
    dict(scan_shape=(7, 8)),
    dict(scan_shape=(7, 8), scan_start_frame=3),
    dict(scan_shape=(7, 8), scan_start_frame=2, winding_scan_axis="x"),
    dict(scan_shape=(7, 8), scan_start_frame=1, winding_scan_axis="x", hysteresis=3),
    dict(scan_shape=(5, 9), scan_start_frame=4, winding_scan_axis="y", hysteresis=2),
    dict(scan_shape=(2, 3, 9), scan_start_frame=5, winding_scan_axis="x", hysteresis=1),
    dict(scan_shape=(2, 4, 7), winding_scan_axis="y", hysteresis=3),
]


@pytest.mark.parametrize("rechunking", ["auto", False, {0: 2}])
@pytest.mark.parametrize("kw", SCANS)
def test_scan_reconstruction(tmp_path, kw, rechunking):
    frames, first = _dataset(tmp_path)
    expected = reference_scan(
        frames,
        kw["scan_shape"],
        kw.get("scan_start_frame", 0),
        kw.get("winding_scan_axis"),
        kw.get("hysteresis", 0),
    )
    eager = _read(first, **kw)["data"]
    np.testing.assert_array_equal(eager, expected)
    with dask.config.set({"array.chunk-size": "2KiB"}):  # several chunks even here
        lazy = _read(first, lazy=True, rechunking=rechunking, **kw)["data"]
    assert lazy.chunks[-2:] == ((6,), (7,))
    np.testing.assert_array_equal(lazy.compute(), expected)


@pytest.mark.parametrize("kw", SCANS)
def test_synthetic_matches_rosettasciio(tmp_path, rsciio_reader, kw):
    _, first = _dataset(tmp_path, frameheaderbytes=96)
    ours = _read(first, **kw)
    ref = rsciio_reader(str(first), **kw)[0]
    np.testing.assert_array_equal(ours["data"], ref["data"])
    assert ours["axes"] == ref["axes"]
    assert ours["metadata"] == ref["metadata"]


def test_negative_start_fills_zeros(tmp_path):
    frames, first = _dataset(tmp_path)
    data = _read(first, lazy=True, scan_shape=(3, 4), scan_start_frame=-5)["data"].compute()
    flat = data.reshape(12, 6, 7)
    assert not flat[:5].any()
    np.testing.assert_array_equal(flat[5:], frames[:7])


# --- chunking -----------------------------------------------------------------------------


def test_auto_chunks_are_whole_rows_sized_by_config(tmp_path):
    frames, first = _dataset(tmp_path)
    row_bytes = 8 * 6 * 7 * 2
    with dask.config.set({"array.chunk-size": f"{3 * row_bytes}B"}):
        data = _read(first, lazy=True, scan_shape=(7, 8))["data"]
    assert data.chunks[1] == (8,)
    assert max(data.chunks[0]) == 3
    assert sum(data.chunks[0]) == 7


def test_rechunking_false_stack_is_one_chunk_per_part(tmp_path):
    _, first = _dataset(tmp_path, parts=(13, 20, 27))
    data = _read(first, lazy=True, rechunking=False)["data"]
    assert data.chunks[0] == (13, 20, 27)


def test_rechunking_false_scan_is_rows_each_part_starts(tmp_path):
    # rows of 8 frames starting at frame 1: row r starts at 1 + 8r; parts start at 0, 13, 33
    _, first = _dataset(tmp_path, parts=(13, 20, 27))
    data = _read(first, lazy=True, scan_shape=(7, 8), scan_start_frame=1, rechunking=False)
    # row starts 1, 9 | 17, 25 | 33, 41, 49 -> parts 0 0 | 1 1 | 2 2 2
    assert data["data"].chunks[0] == (2, 2, 3)


def test_rechunking_dict_splits_navigation_directly(tmp_path):
    frames, first = _dataset(tmp_path)
    data = _read(first, lazy=True, scan_shape=(7, 8), rechunking={0: 3, 1: 4})["data"]
    assert data.chunks[:2] == ((3, 3, 1), (4, 4))
    # built at those chunks: one task per chunk, no rechunk layer
    assert len(data.dask) == data.npartitions
    np.testing.assert_array_equal(data.compute(), reference_scan(frames, (7, 8)))


def test_rechunking_dict_splitting_signal_rechunks(tmp_path):
    frames, first = _dataset(tmp_path)
    data = _read(first, lazy=True, rechunking={0: 10, 2: 2})["data"]
    assert data.chunks == ((10,) * 6, (6,), (2, 2, 2, 1))
    np.testing.assert_array_equal(data.compute(), frames)


def test_stack_auto_graph_has_one_task_per_chunk(tmp_path):
    _, first = _dataset(tmp_path)
    with dask.config.set({"array.chunk-size": "1KiB"}):
        data = _read(first, lazy=True)["data"]
    assert data.npartitions > 3
    assert len(data.dask) == data.npartitions


# --- formats: version 1, long frame headers, 8-bit ----------------------------------------


def test_version_1(tmp_path):
    frames = make_frames(10, (3, 4))
    first = write_parts(tmp_path / "v1", tvips_bytes(frames, version=1, records_per_part=[4, 6]))
    out = _read(first)
    np.testing.assert_array_equal(out["data"], frames)
    assert out["original_metadata"]["tvips_header"]["version"] == 1
    assert out["axes"][0]["scale"] == pytest.approx(0.01)
    np.testing.assert_array_equal(
        _read(first, lazy=True, scan_shape=(2, 5), winding_scan_axis="x")["data"],
        reference_scan(frames, (2, 5), 0, "x"),
    )


@pytest.mark.parametrize("fhb", [60, 61, 108, 4096])
def test_version_2_any_frame_header_size(tmp_path, fhb):
    frames = make_frames(9, (5, 3), dtype="<u1")
    first = write_parts(tmp_path / "f", tvips_bytes(frames, frameheaderbytes=fhb))
    data = _read(first, lazy=True)["data"]
    assert data.dtype == np.uint8
    np.testing.assert_array_equal(data.compute(), frames)


# --- axes and metadata --------------------------------------------------------------------


def test_stack_axes_and_metadata(tmp_path):
    frames, first = _dataset(tmp_path)
    out = _read(first, lazy=True)
    time, dy, dx = out["axes"]
    assert (time["name"], time["units"], time["navigate"]) == ("time", "s", True)
    assert time["offset"] == pytest.approx(740_399_696.0)
    assert time["scale"] == pytest.approx(0.01)
    assert (dy["scale"], dy["offset"], dx["offset"], dy["units"]) == (3, 7, 5, "1/nm")
    md = out["metadata"]
    assert md["General"]["date"] == "1993-06-18" and md["General"]["time"] == "10:34:56"
    assert md["Signal"]["signal_type"] == "diffraction"
    assert md["Acquisition_instrument"]["TEM"]["Stage"]["tilt_alpha"] == 1.5
    assert md["Acquisition_instrument"]["TEM"]["beam_current"] == 23.0


def test_imaging_mode_units(tmp_path):
    frames = make_frames(3)
    first = write_parts(tmp_path / "img", tvips_bytes(frames, mode=1))
    out = _read(first, scan_shape=(1, 3))
    assert [a["units"] for a in out["axes"]] == ["nm", "nm", "nm", "nm"]
    assert "Signal" not in out["metadata"]


def test_single_frame_has_time_scale_one(tmp_path):
    first = write_parts(tmp_path / "one", tvips_bytes(make_frames(1)))
    out = _read(first)
    assert out["data"].shape == (1, 4, 5)
    assert out["axes"][0]["scale"] == 1


def test_header_only_recording_is_empty(tmp_path):
    frames = make_frames(1)
    (part,) = tvips_bytes(frames)
    path = tmp_path / "empty_000.tvips"
    path.write_bytes(part[:256])
    for lazy in (False, True):
        data = _read(path, lazy=lazy)["data"]
        assert data.shape == (0, 4, 5)
        assert np.asarray(data).size == 0


# --- names and locations ------------------------------------------------------------------


def test_name_without_suffix_and_pathlib(tmp_path):
    frames, first = _dataset(tmp_path)
    for name in (tmp_path / "rec.tvips", pathlib.Path(first)):
        np.testing.assert_array_equal(file_reader(name)[0]["data"], frames)


def test_missing_first_part_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing_000.tvips"):
        file_reader(tmp_path / "nothing.tvips")


def test_later_part_name_is_refused(tmp_path):
    _, first = _dataset(tmp_path)
    with pytest.raises(ValueError, match="rec_000.tvips"):
        file_reader(tmp_path / "rec_001.tvips")


def test_memory_filesystem(memfs):
    frames = make_frames(25, (8, 8))
    first = write_parts(
        "memory://tvips-test/m", tvips_bytes(frames, records_per_part=[10, 15]), fs=memfs
    )
    out = file_reader(first, lazy=True, scan_shape=(5, 5), winding_scan_axis="x", hysteresis=1)
    np.testing.assert_array_equal(out[0]["data"], reference_scan(frames, (5, 5), 0, "x", 1))
    assert out[0]["metadata"]["General"]["original_filename"] == "m_000.tvips"


# --- byte ranges: what is read, and how often ---------------------------------------------


@pytest.mark.parametrize(("scan", "sizes"), [(None, [1280, 60]), ((2, 3), [1280])])
def test_only_a_stack_reads_the_second_frame_header(countmem, scan, sizes):
    frames = make_frames(6, (64, 64))  # 8 KiB records: the second header is not at hand
    first = write_parts("countmem://two", tvips_bytes(frames), fs=countmem)
    countmem.log.clear()
    out = file_reader(first, lazy=True, scan_shape=scan)[0]
    assert [n for *_, n in countmem.log] == sizes  # the time axis needs two timestamps
    if scan is None:
        assert out["axes"][0]["scale"] == pytest.approx(0.01)  # 10 ms between frames


def test_open_reads_only_small_header_ranges(countmem):
    frames = make_frames(200, (32, 32))
    first = write_parts(
        "countmem://rec", tvips_bytes(frames, records_per_part=[70, 70, 60]), fs=countmem
    )
    countmem.log.clear()
    with dask.config.set({"array.chunk-size": "100KiB"}):  # several chunks, some across parts
        data = file_reader(first, lazy=True, scan_shape=(10, 20))[0]["data"]
    assert data.npartitions > 3
    reads = list(countmem.log)
    assert len(reads) <= 3  # series header + first frame header, second frame header
    assert sum(n for *_, n in reads) < 2 * 1024 + 256
    assert all(start is not None for _, start, _, _ in reads)  # ranges, not whole files
    countmem.log.clear()
    np.testing.assert_array_equal(data.compute(), reference_scan(frames, (10, 20)))
    # one range per (chunk, part) touched, each exactly the bytes of whole records
    rb = 60 + 32 * 32 * 2
    touched = 0
    for idx in np.ndindex(*data.numblocks[:2]):
        rows = data.chunks[0][idx[0]]
        f0 = sum(data.chunks[0][: idx[0]]) * 20
        f1 = f0 + rows * 20 - 1
        p0, p1 = (int(np.searchsorted([70, 140], f, side="right")) for f in (f0, f1))
        touched += p1 - p0 + 1
    assert len(countmem.log) == touched
    assert sum(n for *_, n in countmem.log) == 200 * rb


@pytest.mark.parametrize("frame", [(16, 16), (256, 256)])
def test_auto_scan_reads_every_frame_header_in_batches(countmem, frame):
    n = 30
    rot = np.concatenate([[0, 0], np.arange(1, 26), [0, 0, 0]])
    frames = make_frames(n, frame)
    first = write_parts("countmem://auto", tvips_bytes(frames, rotidx=rot), fs=countmem)
    countmem.log.clear()
    out = file_reader(first, scan_shape="auto")[0]
    assert out["data"].shape == (5, 5) + frame
    np.testing.assert_array_equal(out["data"].reshape((25,) + frame), frames[2:27])
    reads = [r for r in countmem.log if r[1] != "open"]
    pixel_bytes = frames[0].nbytes
    if pixel_bytes <= 32 * 1024:  # small records (cost model): runs of records, few ranges
        assert len(reads) <= 4
    else:  # big records: every frame header alone, and only the header
        assert len([r for r in reads if r[3] == 60]) >= n - 2


# --- scan_shape="auto" --------------------------------------------------------------------

AUTO_ROTIDX = [
    np.concatenate([[0, 0, 0], np.arange(1, 17)]),
    np.concatenate([[0, 0], np.repeat(np.arange(1, 10), 2)]),  # each position twice
    np.concatenate([[0], [1, 3, 4, 6, 7, 9]]),  # skipped positions: repeat last frame
    np.concatenate([[0], np.arange(1, 17), [16, 16]]),
]


@pytest.mark.parametrize("rotidx", AUTO_ROTIDX)
def test_auto_matches_rosettasciio(tmp_path, rsciio_reader, rotidx):
    frames = make_frames(len(rotidx), (4, 4))
    first = write_parts(tmp_path / "a", tvips_bytes(frames, rotidx=rotidx))
    ours = _read(first, scan_shape="auto")
    ref = rsciio_reader(str(first), scan_shape="auto")[0]
    np.testing.assert_array_equal(ours["data"], ref["data"])
    assert ours["axes"] == ref["axes"]
    lazy = _read(first, lazy=True, scan_shape="auto", winding_scan_axis="x")["data"]
    ref = rsciio_reader(str(first), scan_shape="auto", winding_scan_axis="x")[0]["data"]
    np.testing.assert_array_equal(lazy.compute(), ref)


def test_auto_rotator_falling_back_ends_the_scan(tmp_path):
    # RosettaSciIO 0.15 wraps the decrease 4 -> 0 around in uint32 and returns 0x0 frames
    rotidx = np.array([0, 1, 2, 3, 4, 0, 0])
    frames = make_frames(len(rotidx), (4, 4))
    first = write_parts(tmp_path / "fall", tvips_bytes(frames, rotidx=rotidx))
    out = _read(first, scan_shape="auto")["data"]
    assert out.shape == (2, 2, 4, 4)
    np.testing.assert_array_equal(out.reshape(4, 4, 4), frames[1:5])


def test_auto_not_square_or_no_scan(tmp_path):
    frames = make_frames(8, (4, 4))
    first = write_parts(tmp_path / "ns", tvips_bytes(frames, rotidx=np.arange(1, 9)))
    with pytest.raises(ValueError, match="not a square scan"):
        _read(first, scan_shape="auto")
    first = write_parts(tmp_path / "flat", tvips_bytes(frames, rotidx=np.zeros(8, int)))
    with pytest.raises(ValueError, match="never increases"):
        _read(first, scan_shape="auto")


# --- bad input ----------------------------------------------------------------------------


def _bad(tmp_path, **overrides):
    first = write_parts(tmp_path / "bad", tvips_bytes(make_frames(4), header_overrides=overrides))
    with pytest.raises(ValueError) as err:
        file_reader(first)
    assert "bad_000.tvips" in str(err.value)
    assert isinstance(err.value, TVIPSFormatError)
    return str(err.value)


def test_not_a_tvips_file(tmp_path):
    path = tmp_path / "text_000.tvips"
    path.write_bytes(b"This is a text file, not a camera stream.\n" * 20)
    with pytest.raises(TVIPSFormatError, match="text_000.tvips.*size"):
        file_reader(path)


def test_too_short_for_a_header(tmp_path):
    path = tmp_path / "short_000.tvips"
    path.write_bytes(b"\x00\x01\x00\x00" * 10)
    with pytest.raises(TVIPSFormatError, match="short_000.tvips.*shorter than"):
        file_reader(path)


def test_bad_version(tmp_path):
    assert "version 3" in _bad(tmp_path, version=3)


def test_bad_bits_per_pixel(tmp_path):
    assert "bits per pixel 12" in _bad(tmp_path, bitsperpixel=12)


def test_header_size_mismatch(tmp_path):
    assert "'size' is 512" in _bad(tmp_path, size=512)


def test_absurd_dims_and_frame_header(tmp_path):
    assert "dimx" in _bad(tmp_path, dimx=0)
    assert "frameheaderbytes" in _bad(tmp_path, frameheaderbytes=12)


def test_scan_larger_than_data(tmp_path):
    _, first = _dataset(tmp_path)
    with pytest.raises(ValueError, match=r"rec_000.tvips.*frame index 63.*last frame index is 59"):
        file_reader(first, scan_shape=(8, 8))


@pytest.mark.parametrize("axis", ["z", 2, "xy"])
def test_bad_winding_axis(tmp_path, axis):
    _, first = _dataset(tmp_path)
    with pytest.raises(ValueError, match="winding_scan_axis"):
        file_reader(first, scan_shape=(7, 8), winding_scan_axis=axis)


@pytest.mark.parametrize(
    "kw,match",
    [
        (dict(scan_shape=(0, 8)), "positive integers"),
        (dict(scan_shape=(2.5, 8)), "positive integers"),
        (dict(scan_shape="square"), "auto"),
        (dict(scan_shape=(7, 8), winding_scan_axis="x", hysteresis=0.5), "hysteresis"),
        (dict(scan_shape=(6,), winding_scan_axis="x"), "at least two axes"),
        (dict(rechunking="yes"), "rechunking"),
        (dict(lazy=True, rechunking={5: 2}), "axis"),
    ],
)
def test_invalid_parameters(tmp_path, kw, match):
    _, first = _dataset(tmp_path)
    with pytest.raises(ValueError, match=match):
        file_reader(first, **kw)


def test_truncated_last_part_warns_and_keeps_whole_frames(tmp_path):
    frames, first = _dataset(tmp_path, parts=(30, 30))
    last = tmp_path / "rec_001.tvips"
    last.write_bytes(last.read_bytes()[:-100])
    with pytest.warns(TruncatedRecordingWarning, match="rec_001.tvips"):
        data = file_reader(first)[0]["data"]
    np.testing.assert_array_equal(data, frames[:59])


def test_middle_part_with_remainder_is_an_error(tmp_path):
    _, first = _dataset(tmp_path, parts=(30, 30))
    mid = tmp_path / "rec_000.tvips"
    mid.write_bytes(mid.read_bytes() + b"\x00" * 7)
    with pytest.raises(TVIPSFormatError, match="rec_000.tvips.*not the last part"):
        file_reader(first)


def test_file_shrinking_after_open_is_a_clear_error(tmp_path):
    _, first = _dataset(tmp_path, parts=(30, 30))
    data = file_reader(first, lazy=True)[0]["data"]
    last = tmp_path / "rec_001.tvips"
    last.write_bytes(last.read_bytes()[:1000])
    with pytest.raises(OSError, match="rec_001.tvips"):
        data.compute()


# --- graphs ship anywhere -----------------------------------------------------------------


def test_graph_pickles_small_without_handles(tmp_path):
    frames, first = _dataset(tmp_path, n=60)
    data = _read(first, lazy=True, scan_shape=(7, 8), winding_scan_axis="x", hysteresis=2)["data"]
    blob = pickle.dumps(data)
    assert len(blob) < 20_000 + 2_000 * data.npartitions
    moved = tmp_path / "moved"
    shutil.copytree(tmp_path, moved, ignore=shutil.ignore_patterns("moved"))
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again.compute(), reference_scan(frames, (7, 8), 0, "x", 2))


def test_no_warnings_on_a_clean_read(tmp_path):
    _, first = _dataset(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _read(first, lazy=True, scan_shape=(7, 8))["data"].compute()
