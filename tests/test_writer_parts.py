"""Replacing a recording: stale parts across gaps, and writers killed (``kill -9``) midway.

A reader must then find the complete old recording, the complete new one, or a clear
error: never old and new parts mixed. The next complete write must leave exactly the new
recording, whatever a killed write left behind.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time

import numpy as np
import pytest
from fsspec.implementations.local import LocalFileSystem
from test_writer import make_signal, tvips_files
from tvips_factory import make_frames, tvips_bytes, write_parts

from intake_tvips import TVIPSFormatError, file_reader, file_writer
from intake_tvips.storage.parts import PartName, existing_parts
from intake_tvips.writers.tvips.sink import PartSink, remove_stale_parts

RECORD = 100  # 60-byte frame headers + 4 x 5 uint16 pixels
THREE_PARTS = 256 + 4 * RECORD  # 12 frames: parts of 4, 4, 4 frames


# --- stale parts (class 7) ---------------------------------------------------------------


def test_stale_parts_beyond_a_gap_are_removed(tmp_path):
    """What an interrupted overwrite can leave: ``_000`` and ``_002``, no ``_001``."""
    write_parts(str(tmp_path / "g"), tvips_bytes(make_frames(3), records_per_part=[1, 1, 1]))
    os.remove(tmp_path / "g_001.tvips")
    (tmp_path / "g_007.tvips").write_bytes(b"junk")
    frames = make_frames(2, seed=4)
    file_writer(tmp_path / "g.tvips", make_signal(frames), show_progressbar=False)
    assert tvips_files(tmp_path) == ["g_000.tvips"]
    np.testing.assert_array_equal(file_reader(tmp_path / "g.tvips")[0]["data"], frames)


def test_stale_parts_beyond_a_gap_are_removed_remotely(memfs):
    url = "memory://tvips-test/gap/g.tvips"
    for k in (0, 2, 5):
        memfs.pipe_file(f"/tvips-test/gap/g_00{k}.tvips", b"old")
    frames = make_frames(2, seed=4)
    file_writer(url, make_signal(frames), show_progressbar=False)
    assert memfs.ls("/tvips-test/gap", detail=False) == ["/tvips-test/gap/g_000.tvips"]
    np.testing.assert_array_equal(file_reader(url)[0]["data"], frames)


def test_remove_stale_parts_alone(tmp_path):
    fs = LocalFileSystem()
    for k in (0, 1, 3, 12):
        (tmp_path / f"s_{k:03d}.tvips").write_bytes(b"x")
    (tmp_path / "s_001.tvips.abc.tmp").write_bytes(b"x")  # not a part: kept
    remove_stale_parts(fs, PartName(str(tmp_path / "s"), ".tvips"), 1)
    assert sorted(os.listdir(tmp_path)) == ["s_000.tvips", "s_001.tvips.abc.tmp"]
    assert existing_parts(fs, PartName(str(tmp_path / "s"), ".tvips")) == {0: 1}


def test_part_sink_alone(tmp_path):
    fs = LocalFileSystem()
    records = np.arange(5 * 8, dtype=np.uint8).reshape(5, 8).view("V8").ravel()
    sink = PartSink(fs, str(tmp_path / "k.tvips"), [2, 3], b"H" * 256, 8)
    sink.begin(overwrite=True)
    sink.write(records[:1])
    sink.write(records[1:])
    assert tvips_files(tmp_path) == []  # nothing in place before the commit
    sink.commit()
    assert (tmp_path / "k_000.tvips").read_bytes() == b"H" * 256 + records[:2].tobytes()
    assert (tmp_path / "k_001.tvips").read_bytes() == records[2:].tobytes()
    assert sorted(os.listdir(tmp_path)) == ["k_000.tvips", "k_001.tvips"]


# --- kill -9 -----------------------------------------------------------------------------


def _steps(kill_at: int | None, log: list | None = None):
    """Patch the filesystem steps of a write to count them, killing this process at one."""
    counter = iter(range(10**6))
    real_replace, real_rm, real_open = os.replace, LocalFileSystem.rm_file, LocalFileSystem._open

    def step(name, real):
        def run(*args, **kwargs):
            n = next(counter)
            if log is not None:
                log.append(name)
            if n == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)

        return run

    os.replace = step("replace", real_replace)
    LocalFileSystem.rm_file = step("rm", real_rm)
    LocalFileSystem._open = step("open", real_open)
    return lambda: (
        setattr(os, "replace", real_replace),
        setattr(LocalFileSystem, "rm_file", real_rm),
        setattr(LocalFileSystem, "_open", real_open),
    )


def _write(path, frames, max_file_size, kill_at=None):
    restore = _steps(kill_at)
    try:
        file_writer(path, make_signal(frames), max_file_size=max_file_size, show_progressbar=False)
    finally:
        restore()


def _outcome(path, old, new) -> str:
    """``"old"``, ``"new"`` or ``"error"``; fails on anything else (mixed data)."""
    try:
        data = file_reader(path)[0]["data"]
    except (FileNotFoundError, TVIPSFormatError):
        return "error"
    for name, frames in (("old", old), ("new", new)):
        if data.shape == frames.shape and np.array_equal(data, frames):
            return name
    raise AssertionError(f"{path}: read {data.shape} frames that are neither old nor new")


SCENARIOS = {  # old: (frames, max_file_size), new: (frames, max_file_size)
    "1 part over 3": ((3, None), (12, THREE_PARTS)),
    "3 parts over 1": ((12, THREE_PARTS), (3, None)),
    "3 parts over 3 of the same sizes": ((12, THREE_PARTS), (12, THREE_PARTS)),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_killed_at_every_step_never_mixes(tmp_path, scenario):
    (n_old, size_old), (n_new, size_new) = SCENARIOS[scenario]
    old, new = make_frames(n_old, seed=1), make_frames(n_new, seed=2)
    log: list = []  # the steps of an overwrite, counted once
    file_writer(tmp_path / "count.tvips", make_signal(old), max_file_size=size_old)
    restore = _steps(None, log)
    try:
        file_writer(tmp_path / "count.tvips", make_signal(new), max_file_size=size_new)
    finally:
        restore()
    ctx = multiprocessing.get_context("fork")
    seen = set()
    for k in range(len(log)):
        d = tmp_path / f"kill{k}"
        d.mkdir()
        path = d / "r.tvips"
        file_writer(path, make_signal(old), max_file_size=size_old, show_progressbar=False)
        child = ctx.Process(target=_write, args=(path, new, size_new, k))
        child.start()
        child.join(30)
        assert child.exitcode == -signal.SIGKILL, f"step {k} ({log[k]})"
        seen.add(_outcome(path, old, new))
        # the next complete write leaves exactly the new recording
        file_writer(path, make_signal(new), max_file_size=size_new, show_progressbar=False)
        np.testing.assert_array_equal(file_reader(path)[0]["data"], new)
        assert sorted(os.listdir(d)) == tvips_files(d)  # no temporary part left over
        assert len(tvips_files(d)) == (3 if size_new else 1)
    assert "old" in seen and "error" in seen  # killed before, and during, the swap


def test_killed_at_random_times_never_mixes(tmp_path):
    """A bigger write (3 parts of 2 MB) killed from outside at a few random moments."""
    old = make_frames(12, shape=(64, 64), seed=1)
    new = make_frames(768, shape=(64, 64), seed=2)
    part = 256 + 256 * (60 + 64 * 64 * 2)
    ctx = multiprocessing.get_context("fork")
    rng = random.Random(7)
    for i in range(4):
        d = tmp_path / f"r{i}"
        d.mkdir()
        path = d / "r.tvips"
        file_writer(path, make_signal(old), show_progressbar=False)
        child = ctx.Process(target=_write, args=(path, new, part))
        child.start()
        time.sleep(rng.uniform(0.0, 0.15))
        os.kill(child.pid, signal.SIGKILL)
        child.join(30)
        _outcome(path, old, new)
        file_writer(path, make_signal(new), max_file_size=part, show_progressbar=False)
        np.testing.assert_array_equal(file_reader(path)[0]["data"], new)
