"""Catalog entries (``intake-tvips catalog``, the viewer's "write to catalog"): one built
for a recording, and added to a catalog file.

The entry carries the scan parameters (given or detected once from the frame headers), so
opening the catalog never detects again. Storage options are filtered: only keys known to
configure rather than authenticate (``anon``, ``endpoint_url``, ... see
:mod:`intake_tvips.storage.secrets`) are written; credentials belong in the environment.

An existing catalog is edited with ruamel.yaml's round trip, so its comments, quoting,
key order and indentation stay: the new entry goes at the end of ``sources:`` (or, with
``force``, replaces an entry of the same name in place, keeping the comments around it).
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass

from intake_tvips.storage.secrets import catalog_safe_options, strip_url_credentials

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CatalogError(ValueError):
    """The catalog cannot be written as asked (duplicate name, unreadable YAML, ...)."""


def check_name(name: str) -> None:
    if not _NAME_RE.match(name or ""):
        raise CatalogError(
            f"--name must be a Python identifier (letters, digits, _), got {name!r}: "
            "catalog entries are attributes (cat.NAME)"
        )


def catalog_url(urlpath: str, catalog_path: str | None) -> str:
    """The URL to write: a local path as absolute, or relative to ``{{ CATALOG_DIR }}``
    when the recording is under the catalog's folder."""
    from fsspec.utils import get_protocol

    text = os.fspath(urlpath)
    if get_protocol(text) not in ("file", "local"):
        return strip_url_credentials(text)
    local = os.path.abspath(text[7:] if text.startswith("file://") else text)
    if catalog_path is not None:
        cat_dir = os.path.dirname(os.path.abspath(catalog_path))
        rel = os.path.relpath(local, cat_dir)
        if not rel.startswith(os.pardir):
            return "{{ CATALOG_DIR }}/" + rel.replace(os.sep, "/")
    return local


def build_entry(
    urlpath: str,
    reader_kwargs: dict,
    storage_options: dict | None,
    description: str,
    catalog_path: str | None = None,
) -> tuple[dict, list[str]]:
    """``(entry, dropped)``: the catalog entry and the storage option keys left out."""
    args: dict = {"urlpath": catalog_url(urlpath, catalog_path)}
    shape = reader_kwargs.get("scan_shape")
    args["scan_shape"] = list(shape) if isinstance(shape, (tuple, list)) else shape
    for key in ("scan_start_frame", "winding_scan_axis", "hysteresis"):
        if key in reader_kwargs:
            args[key] = reader_kwargs[key]
    for key in ("scan_step", "pattern_scale"):  # calibrations, as given ("2.5 nm")
        if reader_kwargs.get(key) is not None:
            args[key] = reader_kwargs[key]
    kept, dropped = catalog_safe_options(storage_options or {})
    if kept:
        args["storage_options"] = kept
    entry = {"description": description, "driver": "tvips", "args": args}
    return entry, dropped


def _yaml(indent: int = 2, sequence_dash_offset: int = 0):
    from ruamel.yaml import YAML

    y = YAML()  # round trip: comments, quotes, order and flow style survive
    y.preserve_quotes = True
    y.width = 88
    y.indent(mapping=indent, sequence=indent + sequence_dash_offset, offset=sequence_dash_offset)
    return y


def _dump(y, data) -> str:
    out = io.StringIO()
    y.dump(data, out)
    return out.getvalue()


def _as_yaml_nodes(entry: dict):
    """``entry`` as ruamel nodes; a ``scan_shape`` list in flow style (``[64, 64]``)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(entry, dict):
        out = CommentedMap()
        for k, v in entry.items():
            out[k] = _as_yaml_nodes(v)
        return out
    if isinstance(entry, (list, tuple)):
        seq = CommentedSeq(entry)
        seq.fa.set_flow_style()
        return seq
    return entry


def entry_yaml(name: str, entry: dict, indent: int = 2) -> str:
    """``name: {entry}`` as block YAML, every line indented by ``indent`` spaces."""
    text = _dump(_yaml(), {name: _as_yaml_nodes(entry)})
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


def new_catalog(name: str, entry: dict) -> str:
    return (
        "# Written by `intake-tvips catalog`.\n"
        "metadata:\n  version: 1\n\nsources:\n" + entry_yaml(name, entry)
    )


def _update(old, new):
    """``new`` written into ``old`` in place where both are mappings, so the comments
    ruamel keeps on ``old``'s keys stay."""
    from ruamel.yaml.comments import CommentedMap

    if not (isinstance(old, CommentedMap) and isinstance(new, CommentedMap)):
        return new
    for key in [k for k in old if k not in new]:
        del old[key]
    for key, value in new.items():
        old[key] = _update(old[key], value) if key in old else value
    return old


def _deepest_last(node):
    """``(mapping, key)``: the last key of ``node``, descending into mappings."""
    from ruamel.yaml.comments import CommentedMap

    found = None
    while isinstance(node, CommentedMap) and node:
        key = next(reversed(node))
        found, node = (node, key), node[key]
    return found


def _detach_tail(node) -> str:
    """Remove and return the lines after ``node``'s last key: ruamel hangs the comments
    that precede the next entry there; its own end-of-line comment stays."""
    where = _deepest_last(node)
    item = where[0].ca.items.get(where[1]) if where else None
    token = item[2] if item and len(item) > 2 else None
    if token is None:
        return ""
    head, _, rest = token.value.partition("\n")
    if head.strip():
        token.value = head + "\n"
    else:
        item[2] = None
    return rest


def _attach_tail(node, rest: str) -> None:
    """Put the lines ``rest`` after ``node``'s last key."""
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    where = _deepest_last(node)
    if where is None or not rest:
        return
    mapping, key = where
    item = mapping.ca.items.setdefault(key, [None, None, None, None])
    if item[2] is None:
        item[2] = CommentToken("\n" + rest, CommentMark(0), None)
    else:  # after its end-of-line comment, which keeps its column
        item[2].value += rest


def _load(text: str):
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.util import load_yaml_guess_indent

    try:
        root, indent, dash_offset = load_yaml_guess_indent(text, yaml=_yaml())
    except YAMLError as e:
        raise CatalogError(f"the catalog is not valid YAML: {' '.join(str(e).split())}") from e
    return root, indent or 2, dash_offset or 0


def add_entry(text: str, name: str, entry: dict, force: bool = False) -> tuple[str, str]:
    """``(new text, what happened)``: ``text`` (a catalog) with entry ``name`` added.

    Raises :class:`CatalogError` for a duplicate ``name`` (unless ``force``: it is
    replaced) or a file that is not a catalog.
    """
    from ruamel.yaml.comments import CommentedMap

    root, indent, dash_offset = _load(text)
    if root is None:  # empty, or comments only: they stay on top
        head = text if text.strip() else ""
        return head + ("\n" if head and not head.endswith("\n") else "") + new_catalog(
            name, entry
        ), "created"
    if not isinstance(root, CommentedMap):
        raise CatalogError("the catalog's top level is not a mapping")
    sources = root.get("sources")
    if sources is None:
        sources = root["sources"] = CommentedMap()
    elif not isinstance(sources, CommentedMap):
        raise CatalogError("the catalog's sources: is not a mapping")
    if name in sources and not force:
        raise CatalogError(
            f"the catalog already has an entry {name!r}; choose another --name or pass "
            "--force to replace it"
        )
    new = _as_yaml_nodes(entry)
    if name in sources:  # in place; the comments before the next entry stay before it
        tail = _detach_tail(sources[name])
        sources[name] = _update(sources[name], new)
        _attach_tail(sources[name], tail)
        return _dump(_yaml(indent, dash_offset), root), "replaced"
    tail = _detach_tail(sources)  # what ends the catalog ends it still
    _attach_tail(sources, "\n")  # a blank line before the new entry
    sources[name] = new
    _attach_tail(sources[name], tail)
    return _dump(_yaml(indent, dash_offset), root), "added"


def write_entry(path: str, name: str, entry: dict, force: bool = False) -> str:
    """Add the entry to the catalog file ``path`` (created if missing); returns what
    happened. The file is replaced atomically, and only once the result parses and
    holds the entry."""
    import yaml

    text = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
    new_text, what = add_entry(text, name, entry, force)
    check = yaml.safe_load(new_text)
    got = (check or {}).get("sources", {}) if isinstance(check, dict) else {}
    if not isinstance(got, dict) or got.get(name) != entry:
        raise CatalogError(f"{path}: could not add the entry {name!r} cleanly; add it by hand")
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(new_text)
    os.replace(tmp, path)
    return what


@dataclass(frozen=True)
class CatalogEntry:
    """An Intake catalog entry for a recording (driver ``tvips``), from :func:`catalog_entry`.

    ``name`` (a Python identifier), ``entry`` (``description``, ``driver`` and ``args``: the
    URL, the scan parameters and the storage options that are not secrets) and
    ``dropped`` (the storage option keys left out: they may be secrets).
    """

    name: str
    entry: dict
    dropped: tuple[str, ...] = ()

    def yaml(self, indent: int = 0) -> str:
        """``name: {entry}`` as block YAML, every line indented by ``indent`` spaces."""
        return entry_yaml(self.name, self.entry, indent=indent)

    def write(self, path, force: bool = False) -> str:
        """Add the entry to the catalog file ``path`` (created if missing; its comments,
        other entries and layout kept); returns ``"created"``, ``"added"`` or
        ``"replaced"``. A duplicate name is refused unless ``force`` (then replaced in
        place). The file is replaced atomically, once the result parses."""
        return write_entry(os.fspath(path), self.name, self.entry, force=force)


def catalog_entry(
    name: str,
    urlpath,
    reader_kwargs: dict,
    storage_options: dict | None = None,
    description: str = "",
    catalog_path=None,
) -> CatalogEntry:
    """The catalog entry ``name`` that opens ``urlpath`` with ``reader_kwargs``.

    ``reader_kwargs``: the scan parameters of :func:`intake_tvips.file_reader`
    (``scan_shape``, ``scan_start_frame``, ``winding_scan_axis``, ``hysteresis``), as
    :meth:`intake_tvips.ScanDetection.reader_kwargs` gives them. Only storage options known
    to configure rather than authenticate are kept (the others are listed in
    ``dropped``). With ``catalog_path``, a local recording under the catalog's folder is
    written relative to it (``{{ CATALOG_DIR }}/...``). Raises :class:`ValueError` when
    ``name`` is not a Python identifier.

    >>> e = catalog_entry("scan1", "s3://bucket/scan_000.tvips", {"scan_shape": (4, 4)})
    >>> print(e.yaml(), end="")
    scan1:
      description: ''
      driver: tvips
      args:
        urlpath: s3://bucket/scan_000.tvips
        scan_shape: [4, 4]
    """
    check_name(name)
    path = None if catalog_path is None else os.fspath(catalog_path)
    entry, dropped = build_entry(
        os.fspath(urlpath), reader_kwargs, storage_options, description, path
    )
    return CatalogEntry(name, entry, tuple(dropped))
