"""RosettaSciIO's own TVIPS tests, run on our reader and writer.

The installed package's ``rsciio/tests/test_tvips.py`` (GPL: copied at test time into a
temporary folder, never into this repository) runs in a pytest subprocess, with
``file_reader``/``file_writer`` of ``rsciio.tvips`` and ``rsciio.tvips._api`` replaced by
ours before it is imported (so ``hs.load`` and ``Signal.save`` reach ours too). Its data
files are found without network (see :data:`DATA_DIRS`) and checked against the sha256
sums of the package's ``registry.txt``.

Tests of RosettaSciIO's private helpers do not apply (:data:`PRIVATE_HELPERS`). Every
other test must pass (``xfail`` ones must fail as they expect: strict), except those in
:data:`DIFFERENCES`, each a documented improvement that must fail exactly as described.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import hyperspy  # noqa: F401  (the test extra installs it; the suite needs it)
import numpy as np
import pytest
import rsciio

ROOT = Path(__file__).resolve().parents[1]
RSCIIO_TESTS = Path(rsciio.__file__).parent / "tests"
#: where RosettaSciIO's TVIPS test files are looked for, in order
DATA_DIRS = [
    os.environ.get("RSCIIO_TVIPS_TEST_DATA", ""),
    str(ROOT / "tests" / "data"),  # shipped with our tests (and the sdist)
    str(RSCIIO_TESTS / "data" / "tvips"),  # where RosettaSciIO's own pooch puts them
    "/work/shared/testdata/rsciio",
]

#: tests of RosettaSciIO's private functions: we have no such functions
PRIVATE_HELPERS = [
    "test_guess_image_mode",
    "test_main_header_from_signal",
    "test_get_frame_record_dtype",
    "test_valid_tvips_file",
    "test_auto_scan_start_stop",
    "test_guess_scan_index_grid",
]

_UTC_TIME = (
    "date and time are the first frame's timestamp in UTC (12:34:56 CEST is 10:34:56 "
    "UTC); RosettaSciIO's reader gives local time labelled UTC (README: Where we differ)",
    r"assert '10:34:56' == '12:34:56'",
)
#: test id -> (reason, regex its failure message must match)
DIFFERENCES = {
    f"test_file_writer[{lazy}-{case}]": _UTC_TIME
    for lazy in ("True", "False")
    for case in (
        "fake_signal_3D-diffraction-None-0",
        "fake_signal_4D-imaging-None-0",
        "fake_signal_5D-diffraction-None-0",
        "fake_signal_4D-diffraction-100-0",
        "fake_signal_5D-imaging-100-20",
    )
}

#: now passing, that failed before this package took RosettaSciIO's scan rules: any
#: integer hysteresis (modulo the row, here -1) and one-dimensional scans (here (4,))
NOW_PASSING = [
    f"test_tvips_file_reader[{lazy}-{wsa}-filename2-kwargs2]"
    for lazy in ("True", "False")
    for wsa in ("x", "y")
]

CONFTEST = """
import rsciio.tvips
import rsciio.tvips._api

import intake_tvips

for module in (rsciio.tvips, rsciio.tvips._api):
    module.file_reader = intake_tvips.file_reader
    module.file_writer = intake_tvips.file_writer
"""


def _registry() -> dict[str, str]:
    lines = (RSCIIO_TESTS / "registry.txt").read_text().splitlines()
    sums = {}
    for line in lines:
        m = re.match(r"'tvips/([^']+)' ([0-9a-f]{64})", line.strip())
        if m:
            sums[m[1]] = m[2]
    return sums


def _copy_data(dest: Path) -> None:
    """Copy the TVIPS test files, checked against RosettaSciIO's registry, to ``dest``."""
    sums = _registry()
    assert sums, "RosettaSciIO's registry.txt lists no TVIPS files"
    for d in filter(None, DATA_DIRS):
        if all((Path(d) / name).is_file() for name in sums):
            break
    else:
        pytest.fail(f"RosettaSciIO's TVIPS test files {sorted(sums)} are in none of {DATA_DIRS}")
    dest.mkdir(parents=True)
    for name, digest in sums.items():
        data = (Path(d) / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, f"{d}/{name}: wrong sha256"
        (dest / name).write_bytes(data)


def _outcomes(report: Path) -> dict[str, tuple[str, str]]:
    """``{test name: (outcome, message)}`` from pytest's JUnit XML report."""
    out = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome, message = "failed", (child.get("message") or "") + (child.text or "")
            elif child.tag == "skipped":
                kind = child.get("type", "")
                outcome = "xfailed" if "xfail" in kind else "skipped"
                message = child.get("message") or ""
        out[case.get("name")] = (outcome, message)
    return out


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> dict[str, tuple[str, str]]:
    """Run RosettaSciIO's test_tvips.py on ours; the outcome of each applicable test."""
    tmp = tmp_path_factory.mktemp("rsciio_suite")
    shutil.copy(RSCIIO_TESTS / "test_tvips.py", tmp / "test_tvips.py")
    _copy_data(tmp / "data" / "tvips")
    (tmp / "conftest.py").write_text(CONFTEST)
    (tmp / "pytest.ini").write_text("[pytest]\nxfail_strict = true\n")
    deselect = [f"--deselect=test_tvips.py::{name}" for name in PRIVATE_HELPERS]
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", "pytest.ini"]
    cmd += ["--rootdir", str(tmp), "--junitxml=report.xml", "test_tvips.py", *deselect]
    run = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=240)
    assert (tmp / "report.xml").exists(), run.stdout[-3000:] + run.stderr[-3000:]
    return _outcomes(tmp / "report.xml")


def test_every_applicable_test_collected(suite):
    assert len(suite) >= 35, sorted(suite)
    assert not any(n.startswith(tuple(PRIVATE_HELPERS)) for n in suite)
    for name in list(DIFFERENCES) + NOW_PASSING:
        assert name in suite, f"{name} is no longer in RosettaSciIO's suite: update the lists"


def test_every_applicable_test_passes_except_documented_differences(suite):
    wrong = []
    for name, (outcome, message) in sorted(suite.items()):
        if name in DIFFERENCES:
            ok = outcome == "failed" and re.search(DIFFERENCES[name][1], message) is not None
        else:
            ok = outcome in ("passed", "xfailed")
        if not ok:
            wrong.append(f"{name}: {outcome}: {message[:300]}")
    assert not wrong, "\n".join(wrong)


def test_the_time_difference_and_what_the_suite_checks_after_it(tmp_path, monkeypatch):
    """The suite's writer tests stop at the time; what they check after it holds."""
    import hyperspy.api as hs
    import rsciio.tvips._api

    import intake_tvips

    for module in (rsciio.tvips, rsciio.tvips._api):
        monkeypatch.setattr(module, "file_reader", intake_tvips.file_reader)
        monkeypatch.setattr(module, "file_writer", intake_tvips.file_writer)

    data = np.arange(120, dtype=np.uint16).reshape(4, 5, 6)
    s = hs.signals.Signal2D(data)
    s.axes_manager[1].units = s.axes_manager[2].units = "1/nm"
    s.metadata.add_dictionary(
        {
            "Acquisition_instrument": {
                "TEM": {"beam_current": 23, "beam_energy": 200, "camera_length": 80}
            },
            "General": {"date": "1993-06-18", "time": "12:34:56", "time_zone": "CET"},
        }
    )
    s.save(tmp_path / "t_000.tvips")  # through hyperspy's plugin table to ours
    back = hs.load(tmp_path / "t_000.tvips", scan_shape=(1, 4))
    np.testing.assert_array_equal(back.data.reshape(data.shape), data)
    general, tem = back.metadata.General, back.metadata.Acquisition_instrument.TEM
    assert (general.date, general.time, general.time_zone) == ("1993-06-18", "10:34:56", "UTC")
    assert (tem.beam_energy, tem.beam_current, tem.magnification) == (200, 23, 80)
