"""``intake-tvips catalog -o``: a user's catalog keeps its comments, other entries, quoting
and indentation when an entry is added or replaced (ruamel.yaml round trip)."""

from __future__ import annotations

import pytest
import yaml

from intake_tvips.integrations.catalog_file import CatalogError, add_entry

USER_CATALOG = """\
# Our beamtime, May 2024 -- do not edit the paths by hand
metadata:
    version: 1
    owner: 'lab 3'   # quoted on purpose

sources:
    # the first scan of the day
    scan1:
        description: "64 x 64, hysteresis measured by hand"
        driver: tvips
        args:
            urlpath: "{{ CATALOG_DIR }}/data/scan1_000.tvips"
            scan_shape: [64, 64]   # from the log book
            hysteresis: 2

    # a movie, kept for comparison
    movie:
        driver: tvips
        args:
            urlpath: /data/movie_000.tvips   # on the NAS
# end of the catalog
"""

ENTRY = {
    "description": "detected",
    "driver": "tvips",
    "args": {"urlpath": "{{ CATALOG_DIR }}/data/new_000.tvips", "scan_shape": [8, 8]},
}


def lines_in_order(needles: list[str], text: str) -> bool:
    """Each line of ``needles`` appears in ``text``, in this order."""
    lines = iter(text.splitlines())
    return all(any(line == n for line in lines) for n in needles)


def test_adding_keeps_everything_that_was_there():
    text, what = add_entry(USER_CATALOG, "scan2", ENTRY)
    assert what == "added"
    assert lines_in_order(USER_CATALOG.splitlines(), text)  # every line, unchanged
    cat = yaml.safe_load(text)
    assert list(cat["sources"]) == ["scan1", "movie", "scan2"]
    assert cat["sources"]["scan2"] == ENTRY
    assert "    scan2:\n        description: detected\n" in text  # the file's indentation
    assert "scan_shape: [8, 8]" in text


def test_replacing_keeps_the_comments_around_the_entry():
    new = dict(ENTRY, args={"urlpath": "/data/scan1_000.tvips", "scan_shape": [32, 32]})
    text, what = add_entry(USER_CATALOG, "scan1", new, force=True)
    assert what == "replaced"
    cat = yaml.safe_load(text)
    assert list(cat["sources"]) == ["scan1", "movie"]  # in place
    assert cat["sources"]["scan1"] == new
    assert cat["sources"]["movie"] == yaml.safe_load(USER_CATALOG)["sources"]["movie"]
    for comment in (
        "# Our beamtime, May 2024 -- do not edit the paths by hand",
        "    owner: 'lab 3'   # quoted on purpose",
        "    # the first scan of the day",
        "    # a movie, kept for comparison",
        "            urlpath: /data/movie_000.tvips   # on the NAS",
        "# end of the catalog",
    ):
        assert comment in text.splitlines(), comment


def test_duplicates_and_non_catalogs_are_refused():
    with pytest.raises(CatalogError, match="already has an entry 'movie'"):
        add_entry(USER_CATALOG, "movie", ENTRY)
    with pytest.raises(CatalogError, match="not a mapping"):
        add_entry("- a\n- b\n", "x", ENTRY)
    with pytest.raises(CatalogError, match="not valid YAML"):
        add_entry("sources: [unclosed\n", "x", ENTRY)


def test_a_catalog_of_comments_only_keeps_them():
    text, what = add_entry("# to be filled\n", "s", ENTRY)
    assert what == "created" and text.startswith("# to be filled\n")
    assert yaml.safe_load(text)["sources"]["s"] == ENTRY
