"""What pip installs and what the sdist ships: a lean base, extras that name what they
bring, no resolver trap in the test extra, an sdist whose tests run."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import intake_tvips

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = PROJECT["optional-dependencies"]


def names(requirements: list[str]) -> set[str]:
    return {Requirement(r).name.lower().replace("_", "-") for r in requirements}


def test_the_base_install_is_lean():
    base = names(PROJECT["dependencies"])
    assert base >= {"numpy", "dask", "fsspec", "intake", "jinja2"}  # intake's templates
    heavy = {"xarray", "pandas", "zarr", "distributed", "s3fs", "matplotlib", "hyperspy"}
    assert not base & heavy


def test_no_resolver_trap_in_the_test_extra():
    """An unpinned boto3 next to s3fs makes pip pin the newest boto3 first and backtrack
    through dozens of s3fs/aiobotocore releases (7-10 minutes); aiobotocore listed
    directly is settled first and pins botocore."""
    for extra, requirements in EXTRAS.items():
        assert not names(requirements) & {"boto3", "botocore"}, extra
    assert {"s3fs", "aiobotocore"} <= names(EXTRAS["test"])
    assert "moto" in names(EXTRAS["test"])
    assert not any("server" in Requirement(r).extras for r in EXTRAS["test"])


def required_extras() -> list[tuple[str, str]]:
    """``(module, extra)`` of every ``require("module", "extra", ...)`` in the package."""
    out = []
    for path in Path(intake_tvips.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "require":
                args = [a.value for a in node.args[:2] if isinstance(a, ast.Constant)]
                if len(args) == 2:
                    out.append((args[0], args[1]))
    return out


def test_every_required_module_is_in_the_extra_it_names():
    found = required_extras()
    assert {extra for _, extra in found} >= {"xarray", "cluster", "preview", "convert", "demo"}
    for module, extra in found:
        assert module.partition(".")[0] in names(EXTRAS[extra]), (module, extra)


def test_license_and_typing_marker():
    assert PROJECT["license"] == "BSD-3-Clause"
    assert (ROOT / "LICENSE").read_text().startswith("BSD 3-Clause License")
    assert (Path(intake_tvips.__file__).parent / "py.typed").is_file()
    assert {"Homepage", "Source", "Issues"} <= set(PROJECT["urls"])


def test_the_catalogs_ship_with_the_package():
    found = {p.name for p in intake_tvips.catalogs_dir().iterdir()}
    assert {"demo.yaml", "http.yaml", "s3.yaml", "scan_parameters.yaml", "README.md"} <= found


#: what a checkout may hold that is not source (build output, caches, local data)
NOT_SOURCE = {".git", ".ci-venv", ".venv", "build", "dist", ".pytest_cache", ".ruff_cache"}
NOT_SOURCE |= {"__pycache__", "tvips-demo", "dask-worker-space"}


def _ignore(folder: str, entries: list[str]) -> set[str]:
    skip = {e for e in entries if e in NOT_SOURCE or e.endswith(".egg-info")}
    if Path(folder).name == "benchmarks":
        skip |= {"data", "results"} & set(entries)
    return skip


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The sdist and the wheel, built by setuptools (no network) from a copy of this tree,
    so that no build output lands in the checkout."""
    import shutil

    from setuptools import build_meta

    src = tmp_path_factory.mktemp("src") / "intake-tvips"
    shutil.copytree(ROOT, src, ignore=_ignore)
    out = tmp_path_factory.mktemp("dist")
    old = os.getcwd()
    os.chdir(src)
    try:
        sdist = out / build_meta.build_sdist(str(out))
        wheel = out / build_meta.build_wheel(str(out))
    finally:
        os.chdir(old)
    return sdist, wheel


def test_the_wheel_has_the_data(built):
    _, wheel = built
    members = set(zipfile.ZipFile(wheel).namelist())
    for name in ("py.typed", "catalogs/demo.yaml", "catalogs/http.yaml", "catalogs/README.md"):
        assert f"intake_tvips/{name}" in members
    assert not any(m.startswith("tests/") for m in members)


def test_the_sdist_runs_its_tests(built, tmp_path):
    sdist, _ = built
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path, filter="data")
    (top,) = tmp_path.iterdir()
    for name in (
        "LICENSE",
        "README.md",
        "docs/api.md",
        "docs/make_api.py",
        "docs/architecture.md",
        "tests/conftest.py",
        "tests/data/test_tvips_2345_split_002.tvips",
        "intake_tvips/catalogs/s3.yaml",
        "intake_tvips/py.typed",
    ):
        assert (top / name).is_file(), name
    # the unpacked sdist's own tests, on its own package (not this tree's)
    env = {**os.environ, "PYTHONPATH": str(top)}
    where = subprocess.run(
        [sys.executable, "-c", "import intake_tvips; print(intake_tvips.__file__)"],
        cwd=top,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert Path(where.stdout.strip()).is_relative_to(top)
    tests = ["tests/test_reader.py", "tests/test_api_doc.py", "tests/test_architecture.py"]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        cwd=top,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout.splitlines()[-1] and "skipped" not in proc.stdout
