"""A recording written to Zarr v3 on any fsspec URL (S3 included), on any dask scheduler.

:func:`to_zarr` writes what ``xarray.DataArray.to_dataset(name="data").to_zarr`` writes (a
group with the array ``data``, its coordinates ``y, x, dy, dx`` or ``time, dy, dx`` and
attributes: axes, TVIPS header, metadata, scan parameters, source URL), laid out for object
stores:

* **one shard per read task**: each dask chunk (what one task reads, ``array.chunk-size``,
  128 MiB by default; the command line's ``--chunk-size``) is written as one Zarr shard, in
  one PUT, by the task that read it: no task ever reads or rewrites another's shard, and an
  object store sees a few large objects (S3 wants 8 MiB - 5 GiB per PUT) instead of
  thousands of small ones;
* **inner chunks of whole frames, at most** ``chunk_bytes`` (4 MiB by default): what a
  reader of one pattern, or of a few scan rows, fetches with one ranged GET.

The group, its coordinates and attributes are xarray's ``to_zarr`` (into memory, then one
concurrent batch to ``url``); the data is ``dask.array.store`` into the array opened once
(dask fuses each block's read and store into one task); the bar is tqdm's.

Read it back with ``xarray.open_zarr(url)["data"]`` or ``zarr.open_group(url)["data"]``.
Needs zarr >= 3: ``pip install 'intake-tvips[convert]'``.
"""

from __future__ import annotations

import contextlib
import math
import uuid
import warnings

import numpy as np

from intake_tvips._optional import require
from intake_tvips.storage.filesystem import store_exists

#: default shard size when the data is opened here (from a URL): dask's usual chunk size
SHARD_BYTES = 128 * 2**20
#: default largest inner chunk (whole frames)
CHUNK_BYTES = 4 * 2**20


def require_zarr3():
    """The ``zarr`` module, version 3 or later, or a one-line error naming the extra."""
    return require("zarr", "convert", "writing Zarr", min_version=3)


def regular_chunks(chunks: tuple[tuple[int, ...], ...]) -> dict[int, int] | None:
    """``{axis: chunk size}`` for the axes whose chunks Zarr cannot store (all equal but a
    smaller last one), or ``None`` when every axis is fine."""
    fix = {}
    for axis, c in enumerate(chunks):
        if len(c) > 1 and (len(set(c[:-1])) > 1 or c[-1] > c[0]):
            fix[axis] = max(c)
    return fix or None


def plan_layout(
    chunks: tuple[tuple[int, ...], ...], frame_ndim: int, itemsize: int, chunk_bytes: int
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(inner chunk shape, shard shape)`` for dask chunks ``chunks`` (regular).

    Shards follow the dask chunks; inner chunks hold whole frames, at most ``chunk_bytes``
    of them (one frame when a frame is larger), filled from the last navigation axis up.
    A shard must be a whole number of inner chunks: on an axis split into several dask
    chunks the inner chunk divides the dask chunk; on an axis held by one dask chunk the
    shard is rounded up to a multiple of the inner chunk (the array's edge cuts it).
    """
    nav = len(chunks) - frame_ndim
    frame = [c[0] for c in chunks[nav:]]
    budget = max(1, chunk_bytes // max(1, math.prod(frame) * itemsize))  # frames per chunk
    inner = [1] * nav
    shard = [c[0] for c in chunks[:nav]]
    for axis in reversed(range(nav)):
        size, whole = shard[axis], len(chunks[axis]) == 1
        if budget <= 1:
            break
        if whole:
            pieces = math.ceil(size / budget)
            inner[axis] = math.ceil(size / pieces)
            shard[axis] = pieces * inner[axis]
        else:
            inner[axis] = max(d for d in range(1, min(size, budget) + 1) if size % d == 0)
        if inner[axis] < size:
            break
        budget //= size
    return tuple(inner + frame), tuple(shard + frame)


def _open_target(url: str, storage_options: dict | None):
    """The array ``data`` of the group just written at ``url``, opened once, here.

    dask's ``store`` hands this object to every write task (threads share it, processes
    get it pickled with the graph): no task reopens the array or reads its metadata.
    """
    from fsspec.utils import get_protocol

    from intake_tvips.storage.filesystem import with_pool

    zarr = require_zarr3()
    storage_options = with_pool(get_protocol(url), dict(storage_options or {}))
    if storage_options:
        return zarr.open_group(url, mode="r+", storage_options=storage_options)["data"]
    return zarr.open_group(url, mode="r+")["data"]


def _written(stored, block_info=None) -> np.ndarray:
    """One flag per block stored (what the progress bar and the caller wait for)."""
    return np.ones((1,) * len(block_info[None]["shape"]), dtype=bool)


def write_tasks(data, target):
    """A dask array of one flag per block of ``data``, computed by writing each block into
    the Zarr array ``target`` (a whole shard each, one ``set`` of its object).

    ``dask.array.store`` into the opened array, with no lock: blocks are whole shards, so no
    two tasks touch one object. Not ``dask.array.to_zarr``: given an existing array it
    rechunks to dask's "auto" multiple of the shard, which merges the read tasks of shards
    smaller than ``array.chunk-size`` (``shard_bytes``, ``--chunk-size``) into larger ones
    (a concatenation, fewer tasks than shards); as fast otherwise (benchmarks/zarr_writer.py).
    """
    import dask.array as da

    stored = da.store(
        data, target, lock=False, compute=False, return_stored=True, load_stored=False
    )
    return stored.map_blocks(
        _written,
        dtype=bool,
        chunks=(1,) * data.ndim,
        meta=np.empty((0,) * data.ndim, dtype=bool),
        name=f"tvips-zarr-written-{uuid.uuid4().hex}",
    )


def to_zarr(
    source,
    url: str,
    *,
    storage_options: dict | None = None,
    overwrite: bool = False,
    chunk_bytes: int = CHUNK_BYTES,
    client=None,
    progress: bool = False,
    source_options: dict | None = None,
    shard_bytes: int = SHARD_BYTES,
    **reader_kwargs,
) -> dict:
    """Write a recording to the Zarr v3 store ``url`` (a path or any fsspec URL).

    Parameters
    ----------
    source:
        A (dask-backed) ``xarray.DataArray`` as :meth:`TVIPSSource.to_xarray` gives, or
        the URL of a recording, opened lazily with ``source_options`` and
        ``reader_kwargs`` (``scan_shape=...``, ...) in chunks of about ``shard_bytes``.
    url, storage_options:
        The store and its fsspec options (``s3://bucket/out.zarr``, ...).
    overwrite:
        Replace an existing store (else an existing one is a ``FileExistsError``).
    chunk_bytes:
        Largest inner chunk (whole frames). Shards are the dask chunks.
    client:
        A ``distributed.Client``, or a scheduler address to connect to; ``None``: the
        default client if this process has one (as ``dask.compute`` would), else threads.
    progress:
        A tqdm bar on stderr: tqdm's dask callback on threads (a step per task), a step
        per shard written on a ``distributed`` client.

    Returns
    -------
    dict
        ``shape``, ``dtype``, ``chunks`` (inner), ``shards``, ``n_shards``, ``bytes``,
        ``rechunked`` (whether irregular dask chunks had to be made regular).
    """
    zarr = require_zarr3()
    del zarr
    if storage_options and not isinstance(storage_options, dict):
        raise TypeError("storage_options must be a dict")
    if not overwrite and store_exists(url, storage_options):
        raise _exists(url)
    array = _as_xarray(source, source_options, shard_bytes, reader_kwargs)
    fix = regular_chunks(array.data.chunks)
    if fix:
        array = array.chunk({array.dims[a]: n for a, n in fix.items()})
    data = array.data
    frame_ndim = min(2, data.ndim)
    inner, shard = plan_layout(data.chunks, frame_ndim, data.dtype.itemsize, chunk_bytes)
    _write_metadata(array, url, storage_options, overwrite, inner, shard)
    flags = write_tasks(data, _open_target(url, storage_options))
    _compute_with_progress(flags, client, progress)
    return {
        "shape": tuple(array.shape),
        "dtype": str(array.dtype),
        "chunks": inner,
        "shards": shard,
        "n_shards": int(data.npartitions),
        "bytes": int(array.nbytes),
        "rechunked": bool(fix),
    }


def _exists(url: str) -> FileExistsError:
    from intake_tvips.storage.secrets import mask_url

    return FileExistsError(
        f"{mask_url(url)} exists; pass overwrite=True (--overwrite) to replace it"
    )


def _as_xarray(source, source_options, shard_bytes: int, reader_kwargs: dict):
    import os

    if not isinstance(source, (str, os.PathLike)):
        if reader_kwargs or source_options:
            raise TypeError("reader options go with a URL source, not with an array")
        if not hasattr(source, "dims") or not hasattr(source.data, "map_blocks"):
            raise TypeError("to_zarr takes a dask-backed xarray.DataArray or a recording's URL")
        return source
    import dask

    from intake_tvips.integrations.xarray_view import signal_to_xarray
    from intake_tvips.reading.reader import file_reader
    from intake_tvips.storage.secrets import mask_url

    with dask.config.set({"array.chunk-size": int(shard_bytes)}):
        signal = file_reader(source, lazy=True, storage_options=source_options, **reader_kwargs)[0]
    from intake_tvips.reading.opened import scan_attrs

    scan = {**reader_kwargs, **scan_attrs(reader_kwargs, signal)}
    attrs = {"source": mask_url(os.fspath(source)), "scan_parameters": scan}
    return signal_to_xarray(signal, attrs=attrs)


def _write_metadata(array, url, storage_options, overwrite, inner, shard) -> None:
    """The group, coordinates, attributes and the empty array (shards as planned).

    xarray writes them into memory; they go to ``url`` in one concurrent batch (on S3 a
    few PUTs at once, not ~60 requests one after the other).
    """
    from fsspec.core import url_to_fs
    from zarr.storage import MemoryStore

    files: dict = {}
    ds = array.to_dataset(name="data")
    encoding = {"data": {"chunks": inner, "shards": shard}}
    with warnings.catch_warnings():
        # zarr 3: "Consolidated metadata is currently not part in the Zarr format 3
        # specification": it only speeds up opening; the store is complete without it
        warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")
        ds.to_zarr(
            MemoryStore(files),
            mode="w",
            compute=False,  # the data is written by our tasks, a shard each
            zarr_format=3,
            encoding=encoding,
        )
    fs, root = url_to_fs(url, **(storage_options or {}))
    if fs.exists(root):
        if not overwrite:
            raise _exists(url)
        fs.rm(root, recursive=True)
    blobs = {f"{root.rstrip('/')}/{key}": value.to_bytes() for key, value in files.items()}
    if getattr(fs, "auto_mkdir", True) is False or fs.protocol in ("file", ("file", "local")):
        for parent in {p.rsplit("/", 1)[0] for p in blobs}:
            fs.makedirs(parent, exist_ok=True)
    fs.pipe(blobs)


def _compute_with_progress(flags, client, progress: bool) -> None:
    """Compute the write tasks on ``client`` (or threads) behind a tqdm bar: tqdm's dask
    callback on threads (a step per task), a step per shard written on a client."""
    if client is None:
        client = _default_client()
    if client is None:
        bar = contextlib.nullcontext()  # no bar: none of tqdm's locks taken
        if progress:
            from tqdm.dask import TqdmCallback

            bar = TqdmCallback(desc="writing zarr", unit="task")
        with bar:
            ok = flags.compute(scheduler="threads")
    else:
        ok = _compute_on(client, flags, progress)
    if not bool(np.all(ok)):  # pragma: no cover - a task returns True or raises
        raise OSError("some shards were not written")


def _compute_on(client, flags, progress: bool):
    """``flags`` computed on a ``distributed`` client (or a scheduler's address)."""
    from distributed import Client, as_completed, futures_of
    from tqdm.auto import tqdm

    owned = Client(client) if isinstance(client, str) else None
    client = owned or client
    try:
        persisted = client.persist(flags)
        n = flags.npartitions
        with tqdm(total=n, desc="writing zarr", unit="shard", disable=not progress) as bar:
            for _ in as_completed(futures_of(persisted), loop=client.loop):
                bar.update()
        return client.compute(persisted, sync=True)
    finally:
        if owned is not None:
            owned.close()


def _default_client():
    try:
        from distributed import default_client
    except ImportError:  # pragma: no cover - distributed is a dependency
        return None
    try:
        return default_client()
    except ValueError:
        return None
