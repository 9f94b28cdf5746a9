"""Half-copied folders, stale parts and other damaged input."""

from pathlib import Path

import numpy as np
import pytest
from tvips_factory import make_frames, tvips_bytes, write_parts

from intake_tvips import TVIPSFormatError, file_reader


def _three_parts(tmp_path, name="gap"):
    frames = make_frames(30, (4, 4))
    first = write_parts(tmp_path / name, tvips_bytes(frames, records_per_part=[10, 10, 10]))
    return frames, first


def test_gap_in_part_numbering_names_the_missing_part(tmp_path):
    _, first = _three_parts(tmp_path)
    Path(first.replace("_000", "_001")).unlink()
    with pytest.raises(TVIPSFormatError, match=r"gap_001\.tvips.*missing.*gap_002"):
        file_reader(first)


def test_gap_on_memory_filesystem(memfs):
    frames = make_frames(30, (4, 4))
    blobs = tvips_bytes(frames, records_per_part=[10, 10, 10])
    memfs.pipe_file("/tvips-test/g_000.tvips", blobs[0])
    memfs.pipe_file("/tvips-test/g_002.tvips", blobs[2])
    with pytest.raises(TVIPSFormatError, match="g_001.tvips"):
        file_reader("memory://tvips-test/g_000.tvips")


def test_gap_on_s3(s3):
    import fsspec

    frames = make_frames(30, (4, 4))
    blobs = tvips_bytes(frames, records_per_part=[10, 10, 10])
    fs = fsspec.filesystem("s3", **s3.storage_options)
    fs.pipe_file("tvips/g_000.tvips", blobs[0])
    fs.pipe_file("tvips/g_002.tvips", blobs[2])
    fs.invalidate_cache()
    with pytest.raises(TVIPSFormatError, match="s3://tvips/g_001.tvips"):
        file_reader("s3://tvips/g_000.tvips", storage_options=s3.storage_options)


def test_gap_on_http_is_found_by_probing(http):
    frames = make_frames(30, (4, 4))
    blobs = tvips_bytes(frames, records_per_part=[10, 10, 10])
    (Path(http.root) / "hg_000.tvips").write_bytes(blobs[0])
    (Path(http.root) / "hg_002.tvips").write_bytes(blobs[2])
    with pytest.raises(TVIPSFormatError, match="hg_001.tvips"):
        file_reader(f"{http.url}/hg_000.tvips")


def test_other_recordings_in_the_folder_are_not_a_gap(tmp_path):
    frames, first = _three_parts(tmp_path, "a")
    write_parts(tmp_path / "a_b", tvips_bytes(frames, records_per_part=[10, 20]))
    (tmp_path / "a_005.txt").write_bytes(b"notes")
    np.testing.assert_array_equal(file_reader(first)[0]["data"], frames)
