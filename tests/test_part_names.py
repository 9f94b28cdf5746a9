"""Which names are parts of a recording (storage/parts.py): one rule, on every filesystem.

Neighbours that are not parts (a writer's temporary file, other digit counts, other
extensions, a folder) change neither the frame count nor hide a part, locally, on S3
(moto) and over HTTP (probing). A recording named without its extension, or with a double
one, is found; a gap is an error naming the missing part (RosettaSciIO stops silently).
"""

from __future__ import annotations

import os
import uuid

import fsspec
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tvips_factory import make_frames, tvips_bytes

from intake_tvips import TVIPSFormatError, file_reader, file_writer
from intake_tvips.storage.parts import PartName, discover_parts, parse_name, split_part_name

FRAMES = make_frames(3)
PARTS = tvips_bytes(FRAMES, records_per_part=[1, 1, 1])
#: part 002's bytes under names that are not parts of ``r``: read as parts, any of them
#: would add a frame
NEIGHBOURS = {
    "writer's temporary file": "r_002.tvips.0123456789ab.tmp",
    "four digits": "r_0002.tvips",
    "two digits": "r_02.tvips",
    "negative number": "r_-02.tvips",
    "non-ASCII digits": "r_\u0660\u0660\u0662.tvips",  # Arabic-Indic 002
    "other extension": "r_002.tvips.bak",
    "upper-case extension": "r_002.TVIPS",
    "other recording": "rr_002.tvips",
}
#: how a user may name the recording ``r_000.tvips, r_001.tvips``
GIVEN = ["r_000.tvips", "r.tvips", "r_000", "r"]


def _tree(extra: dict[str, bytes | None]) -> dict[str, bytes | None]:
    """Parts ``r_000.tvips, r_001.tvips`` (2 frames) and ``extra`` (``None``: a folder)."""
    return {"r_000.tvips": PARTS[0], "r_001.tvips": PARTS[1], **extra}


class Local:
    def __init__(self, root):
        self.root = str(root)
        self.options = None

    def put(self, tree):
        for name, data in tree.items():
            path = os.path.join(self.root, name)
            if data is None:
                os.makedirs(path)
                open(os.path.join(path, "inside"), "wb").close()
            else:
                with open(path, "wb") as f:
                    f.write(data)

    def url(self, name):
        return os.path.join(self.root, name)


class S3:
    def __init__(self, server):
        self.fs = fsspec.filesystem("s3", **server.storage_options)
        self.options = server.storage_options
        self.prefix = f"tvips/{uuid.uuid4().hex[:8]}"

    def put(self, tree):
        for name, data in tree.items():
            key = f"{self.prefix}/{name}"
            self.fs.pipe_file(f"{key}/inside" if data is None else key, data or b"")
        self.fs.invalidate_cache()

    def url(self, name):
        return f"s3://{self.prefix}/{name}"


class HTTP(Local):
    def __init__(self, server):
        super().__init__(os.path.join(server.root, uuid.uuid4().hex[:8]))
        os.makedirs(self.root)
        self.base = f"{server.url}/{os.path.basename(self.root)}"

    def url(self, name):
        return f"{self.base}/{name}"


@pytest.fixture(params=["local", "s3", "http"])
def where(request, tmp_path):
    if request.param == "local":
        return Local(tmp_path)
    if request.param == "s3":
        return S3(request.getfixturevalue("s3"))
    return HTTP(request.getfixturevalue("http"))


def _frames(where, name, lazy=False) -> np.ndarray:
    data = file_reader(where.url(name), lazy=lazy, storage_options=where.options)[0]["data"]
    return np.asarray(data)


@pytest.mark.parametrize("kind", sorted(NEIGHBOURS))
def test_neighbours_that_are_not_parts_are_ignored(where, kind):
    where.put(_tree({NEIGHBOURS[kind]: PARTS[2]}))
    for name in GIVEN:
        np.testing.assert_array_equal(_frames(where, name), FRAMES[:2], err_msg=name)
    np.testing.assert_array_equal(_frames(where, "r.tvips", lazy=True), FRAMES[:2])


@pytest.mark.parametrize("folder", ["x.tvips", "r.tvips", "r_000.tvips.d", "r_0002.tvips"])
def test_a_folder_not_named_like_a_part_is_ignored(where, folder):
    where.put(_tree({folder: None}))
    for name in GIVEN:
        np.testing.assert_array_equal(_frames(where, name), FRAMES[:2], err_msg=name)


def test_a_folder_given_for_a_recording_is_said_to_be_one(tmp_path):
    (tmp_path / "x.tvips").mkdir()
    (tmp_path / "x.tvips" / "x_000.tvips").write_bytes(PARTS[0])
    with pytest.raises(
        FileNotFoundError, match=r"x_000.tvips does not exist .*x.tvips is a folder"
    ):
        file_reader(tmp_path / "x.tvips")


def test_parts_without_an_extension(where):
    """RosettaSciIO's writer, given ``q``, writes ``q_000, q_001``: ``q_000`` and ``q``
    find both; ``.tvips`` parts of the same name are preferred for ``q``."""
    where.put({"q_000": PARTS[0], "q_001": PARTS[1], "q_001.tvips": PARTS[2]})
    for name in ("q_000", "q"):
        np.testing.assert_array_equal(_frames(where, name), FRAMES[:2], err_msg=name)
    with pytest.raises(TVIPSFormatError, match="names part 001.*q_000"):
        _frames(where, "q_001")


def test_name_without_extension_means_tvips_parts_first(where):
    other = make_frames(1, seed=5)
    where.put({"p_000.tvips": PARTS[0], "p_001.tvips": PARTS[1], "p_000": tvips_bytes(other)[0]})
    np.testing.assert_array_equal(_frames(where, "p"), FRAMES[:2])
    np.testing.assert_array_equal(_frames(where, "p_000"), other)  # the file itself


def test_double_extension(where):
    where.put({f"d_{k:03d}.bin.tvips": PARTS[k] for k in range(3)})
    for name in ("d_000.bin.tvips", "d.bin.tvips"):
        np.testing.assert_array_equal(_frames(where, name), FRAMES, err_msg=name)


def test_double_extension_as_rosettasciio_writes_it(where):
    """RosettaSciIO's writer, given ``e.bin.tvips``, writes ``e.bin_000.tvips, ...``."""
    where.put({f"e.bin_{k:03d}.tvips": PARTS[k] for k in range(3)})
    np.testing.assert_array_equal(_frames(where, "e.bin.tvips"), FRAMES)


def test_gap_is_an_error_naming_the_missing_part(where):
    where.put({"g_000.tvips": PARTS[0], "g_002.tvips": PARTS[2]})
    with pytest.raises(TVIPSFormatError, match="is missing, but later parts exist") as e:
        _frames(where, "g_000.tvips")
    assert e.value.filename.endswith("g_001.tvips")


def test_a_folder_in_the_place_of_a_part_is_refused(where):
    where.put(_tree({"r_002.tvips": None}))
    if isinstance(where, HTTP):  # a server does not say a name is a folder: it is missing
        np.testing.assert_array_equal(_frames(where, "r.tvips"), FRAMES[:2])
        return
    with pytest.raises(TVIPSFormatError, match="is a directory") as e:
        _frames(where, "r.tvips")
    assert e.value.filename.endswith("r_002.tvips")


# ----------------------------------------------------------------------------- writing


def test_writer_names_match_the_reader(tmp_path):
    from test_writer import make_signal

    frames = make_frames(3, seed=2)
    for given_name, first in [("w_000", "w_000.tvips"), ("v_000.bin.tvips", "v_000.bin.tvips")]:
        file_writer(
            tmp_path / given_name, make_signal(frames), max_file_size=356, show_progressbar=False
        )
        assert (tmp_path / first).is_file()
        np.testing.assert_array_equal(file_reader(tmp_path / given_name)[0]["data"], frames)
    assert (tmp_path / "v_001.bin.tvips").is_file()  # parts of 1 and 2 frames


def test_writer_leaves_neighbours_that_are_not_parts(tmp_path):
    from test_writer import make_signal

    others = ["s_0001.tvips", "s_001.tvips.bak", "s_001.tvips.abc.tmp", "s_٠٠١.tvips"]
    for name in others:
        (tmp_path / name).write_bytes(b"keep")
    file_writer(tmp_path / "s.tvips", make_signal(make_frames(2)), show_progressbar=False)
    assert sorted(os.listdir(tmp_path)) == sorted(others + ["s_000.tvips"])


# --------------------------------------------------------------------------- the rule


@given(
    base=st.text(min_size=1, max_size=8).filter(lambda s: "/" not in s),
    ext=st.sampled_from(["", ".tvips", ".bin.tvips", ".TVIPS", ".a.b.c"]),
    k=st.integers(0, 999),
)
def test_part_name_round_trip(base, ext, k):
    name = PartName(f"/d/{base}", ext)
    assert name.number(name.path(k)) == k
    assert parse_name(name.path(k)) == (name, k)
    assert name.is_temporary(name.temporary(k, "0123456789ab"))
    assert name.number(name.temporary(k, "0123456789ab")) is None
    assert name.number(f"/d/{base}_{k:04d}{ext}") is None


def test_split_part_name_for_the_writer():
    assert split_part_name("/d/n") == ("/d/n", ".tvips")
    assert split_part_name("/d/n_000") == ("/d/n", ".tvips")
    assert split_part_name("/d/n.tvips") == ("/d/n", ".tvips")
    assert split_part_name("/d/n_000.bin.tvips") == ("/d/n", ".bin.tvips")
    assert split_part_name("/d_001/n.tvips") == ("/d_001/n", ".tvips")
    with pytest.raises(TVIPSFormatError, match="names part 002"):
        split_part_name("/d/n_002.tvips")


def test_discovery_lists_once_locally(tmp_path):
    Local(tmp_path).put(_tree({"r_002.tvips.0123456789ab.tmp": PARTS[2]}))
    parts = discover_parts(str(tmp_path / "r"))
    assert [os.path.basename(p) for p in parts.paths] == ["r_000.tvips", "r_001.tvips"]
