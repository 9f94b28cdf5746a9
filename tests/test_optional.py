"""Optional dependencies: a missing one is named with its extra, in one line."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from tvips_factory import make_frames, tvips_bytes, write_parts

from intake_tvips import MissingDependencyError, file_reader, require
from intake_tvips.cli import main


def block(monkeypatch, *modules):
    """Make ``import module`` fail as if it were not installed."""
    for m in modules:
        monkeypatch.setitem(sys.modules, m, None)


@pytest.fixture
def recording(tmp_path):
    return write_parts(str(tmp_path / "r"), tvips_bytes(make_frames(6)))


def test_require_returns_the_module():
    assert require("numpy", "base") is np


def test_require_names_the_extra(monkeypatch):
    block(monkeypatch, "zarr")
    with pytest.raises(MissingDependencyError) as e:
        require("zarr", "convert", "writing Zarr")
    assert str(e.value) == (
        "writing Zarr needs zarr, which is not installed: pip install 'intake-tvips[convert]'"
    )
    assert isinstance(e.value, ImportError)


def test_the_xarray_view_names_its_extra(monkeypatch, recording):
    from intake_tvips.integrations.xarray_view import signal_to_xarray

    signal = file_reader(recording, lazy=True)[0]
    block(monkeypatch, "xarray")
    with pytest.raises(MissingDependencyError, match=r"intake-tvips\[xarray\]"):
        signal_to_xarray(signal)


@pytest.mark.parametrize(
    "blocked, args, extra",
    [
        ("zarr", ["convert", "{url}", "{tmp}/out.zarr"], "convert"),
        ("xarray", ["convert", "{url}", "{tmp}/out.zarr"], "convert"),
        ("matplotlib.figure", ["preview", "{url}", "-o", "{tmp}/p.png"], "preview"),
        ("distributed", ["preview", "{url}", "-o", "{tmp}/p.png", "--cluster", "1"], "cluster"),
        ("matplotlib.figure", ["demo", "--out", "{tmp}/demo", "--scan", "8"], "demo"),
    ],
)
def test_the_command_line_says_which_extra(
    monkeypatch, capsys, tmp_path, recording, blocked, args, extra
):
    block(monkeypatch, blocked)
    argv = [a.format(url=recording, tmp=tmp_path) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("intake-tvips: error: ")
    assert f"pip install 'intake-tvips[{extra}]'" in err[0]
    assert not (tmp_path / "out.zarr").exists() and not (tmp_path / "demo").exists()
