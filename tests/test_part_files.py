"""Parts that are not regular files, and names with unusual characters (storage/parts.py).

Every part must be a regular file (a link to one is fine): a broken link in the place of a
part is a missing part (the gap error in the middle, named at the end), a directory (or a
link to one), a FIFO is refused naming the part. Any folder or file name reads, and an
existing file given by a name without ``_NNN`` is read itself.
"""

from __future__ import annotations

import os
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tvips_factory import make_frames, tvips_bytes, write_parts

from intake_tvips import TVIPSFormatError, file_reader, file_writer
from intake_tvips.cli import main

FRAMES = make_frames(3)


def _three_parts(d) -> str:
    """A recording of 3 frames in 3 parts in ``d``; returns the first part's path."""
    os.makedirs(d, exist_ok=True)
    return write_parts(os.path.join(d, "r"), tvips_bytes(FRAMES, records_per_part=[1, 1, 1]))


def _dangling(path, tmp):
    os.symlink(os.path.join(tmp, "nowhere"), path)


def _looping(path, tmp):
    os.symlink(path, path)


def _dir_link(path, tmp):
    target = os.path.join(tmp, "a-folder")
    os.makedirs(target, exist_ok=True)
    os.symlink(target, path)


def _directory(path, tmp):
    os.makedirs(path)


def _fifo(path, tmp):
    os.mkfifo(path)


BROKEN = {"dangling link": _dangling, "looping link": _looping}
NOT_FILES = {"link to a directory": _dir_link, "directory": _directory, "FIFO": _fifo}


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_link_in_the_middle_is_the_gap_error(tmp_path, kind, lazy):
    first = _three_parts(tmp_path)
    middle = str(tmp_path / "r_001.tvips")
    os.remove(middle)
    BROKEN[kind](middle, str(tmp_path))
    match = "is missing.*broken symbolic link.*later parts"
    with pytest.raises(TVIPSFormatError, match=match) as e:
        file_reader(first, lazy=lazy)
    assert e.value.filename == middle


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_link_as_last_part_is_named(tmp_path, kind):
    first = _three_parts(tmp_path)
    last = str(tmp_path / "r_002.tvips")
    os.remove(last)
    BROKEN[kind](last, str(tmp_path))
    with pytest.raises(TVIPSFormatError, match="broken symbolic link") as e:
        file_reader(first, lazy=True)
    assert e.value.filename == last


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("k", [0, 1, 2])
@pytest.mark.parametrize("kind", sorted(NOT_FILES))
def test_part_that_is_not_a_regular_file_is_refused(tmp_path, kind, k, lazy):
    first = _three_parts(tmp_path)
    part = str(tmp_path / f"r_{k:03d}.tvips")
    os.remove(part)
    NOT_FILES[kind](part, str(tmp_path))
    with pytest.raises(TVIPSFormatError, match="is (a directory|not a regular file)") as e:
        file_reader(first, lazy=lazy)
    assert e.value.filename == part


def test_link_to_a_regular_file_is_a_part(tmp_path):
    first = _three_parts(tmp_path / "real")
    (tmp_path / "linked").mkdir()
    for k in range(3):
        os.symlink(tmp_path / "real" / f"r_{k:03d}.tvips", tmp_path / "linked" / f"r_{k:03d}.tvips")
    np.testing.assert_array_equal(file_reader(tmp_path / "linked" / "r.tvips")[0]["data"], FRAMES)
    assert first.endswith("r_000.tvips")


# ---------------------------------------------------------------------------- names

#: characters that broke or could break name handling: newline, glob and regex syntax,
#: spaces, quotes, unicode
ODD = "\n\t []*?{}()^$+|\\.'\"#%&~-_,;=!@:" + "äéü€日本µ"
NAME_CHARS = st.text(alphabet=string.ascii_letters + string.digits + ODD, min_size=1, max_size=12)


def _usable(name: str) -> bool:
    return name not in (".", "..") and "/" not in name and name.encode("utf-8", "strict")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(folder=NAME_CHARS.filter(_usable), stem=NAME_CHARS.filter(_usable))
def test_any_folder_and_file_name_reads(tmp_path_factory, folder, stem):
    d = tmp_path_factory.mktemp("names") / folder
    d.mkdir()
    parts = tvips_bytes(FRAMES, records_per_part=[2, 1])
    first = write_parts(str(d / stem), parts)
    for given_name in (first, str(d / f"{stem}.tvips")):
        np.testing.assert_array_equal(file_reader(given_name)[0]["data"], FRAMES)
        np.testing.assert_array_equal(file_reader(given_name, lazy=True)[0]["data"], FRAMES)


@pytest.mark.parametrize("name", ["a\nb", "x[1]", "st*r", "q?", "sp ace", "ünï", "_000"])
def test_newline_and_glob_characters_in_folder_and_name(tmp_path, name):
    d = tmp_path / f"dir{name}"
    d.mkdir()
    first = write_parts(str(d / name), tvips_bytes(FRAMES, records_per_part=[1, 2]))
    assert first.endswith("_000.tvips")
    np.testing.assert_array_equal(file_reader(first)[0]["data"], FRAMES)


def test_existing_file_given_by_name_is_the_first_part(tmp_path, capsys):
    (tmp_path / "foo.tvips").write_bytes(tvips_bytes(FRAMES)[0])
    np.testing.assert_array_equal(file_reader(tmp_path / "foo.tvips")[0]["data"], FRAMES)
    assert main(["info", str(tmp_path / "foo.tvips")]) == 0
    out = capsys.readouterr().out
    assert "frames" in out and "3 of 4 x 5" in out


def test_name_without_suffix_still_means_part_000(tmp_path):
    write_parts(str(tmp_path / "bar"), tvips_bytes(FRAMES, records_per_part=[1, 2]))
    np.testing.assert_array_equal(file_reader(tmp_path / "bar.tvips")[0]["data"], FRAMES)
    with pytest.raises(FileNotFoundError, match="baz_000.tvips does not exist"):
        file_reader(tmp_path / "baz.tvips")


def test_existing_file_given_by_name_remotely(memfs):
    memfs.pipe_file("/tvips-test/named/foo.tvips", tvips_bytes(FRAMES)[0])
    url = "memory://tvips-test/named/foo.tvips"
    np.testing.assert_array_equal(file_reader(url, lazy=True)[0]["data"], FRAMES)


@pytest.mark.parametrize("name", ["a::b", "memory::x", "file:x", "s3:"])
def test_names_that_look_like_urls_are_local_paths(tmp_path, name):
    """``::`` is fsspec's URL chaining: a local path holding it stays a local path."""
    d = tmp_path / f"d{name}"
    d.mkdir()
    first = write_parts(str(d / name), tvips_bytes(FRAMES, records_per_part=[1, 2]))
    for given_name in (first, str(d / f"{name}.tvips"), d / f"{name}.tvips"):
        np.testing.assert_array_equal(file_reader(given_name)[0]["data"], FRAMES)
    file_writer(str(d / f"w{name}.tvips"), {"data": FRAMES}, show_progressbar=False)
    assert (d / f"w{name}_000.tvips").is_file()
