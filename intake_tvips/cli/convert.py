"""``intake-tvips convert``: the reconstructed array written to a Zarr store.

The store is what ``xarray.DataArray.to_dataset(name="data").to_zarr`` writes: a group
holding the array ``data`` (chunked as the reader chunks it, made regular where Zarr needs
it) with its coordinates (``y, x, dy, dx`` or ``time, dy, dx``) and attributes (axes, the
TVIPS header, metadata, scan parameters, source URL). Read it back with
``xarray.open_zarr(url)["data"]`` or ``zarr.open_group(url)["data"]``.
"""

from __future__ import annotations

import warnings


def regular_chunks(chunks: tuple[tuple[int, ...], ...]) -> dict[int, int] | None:
    """``{axis: chunk size}`` for the axes whose chunks Zarr cannot store (all equal but a
    smaller last one), or ``None`` when every axis is fine."""
    fix = {}
    for axis, c in enumerate(chunks):
        if len(c) > 1 and (len(set(c[:-1])) > 1 or c[-1] > c[0]):
            fix[axis] = max(c)
    return fix or None


def store_exists(url: str, storage_options: dict | None) -> bool:
    from fsspec.core import url_to_fs

    fs, path = url_to_fs(url, **(storage_options or {}))
    return bool(fs.exists(path))


def write_zarr(
    array,
    url: str,
    storage_options: dict | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> dict:
    """Write the ``xarray.DataArray`` ``array`` (dask-backed) to the Zarr store ``url``.

    Refuses an existing store unless ``overwrite`` (which replaces it). Returns what was
    written: ``shape``, ``chunks``, ``dtype``, ``bytes``, ``rechunked``.
    """
    from intake_tvips.cli.compute import compute

    if store_exists(url, storage_options) and not overwrite:
        raise FileExistsError(f"{url} exists; pass --overwrite to replace it")
    data = array.data
    fix = regular_chunks(data.chunks)
    if fix:
        array = array.chunk({array.dims[a]: n for a, n in fix.items()})
    ds = array.to_dataset(name="data")
    with warnings.catch_warnings():
        # zarr 3: "Consolidated metadata is currently not part in the Zarr format 3
        # specification": consolidated metadata only speeds up opening; the store is
        # complete without it
        warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")
        delayed = ds.to_zarr(
            url,
            mode="w" if overwrite else "w-",
            compute=False,
            storage_options=storage_options or None,
        )
        compute([delayed], progress, desc="writing zarr")
    chunks = array.data.chunks
    return {
        "shape": tuple(array.shape),
        "chunks": tuple(c[0] for c in chunks),
        "n_chunks": int(array.data.npartitions),
        "dtype": str(array.dtype),
        "bytes": int(array.nbytes),
        "rechunked": bool(fix),
    }
