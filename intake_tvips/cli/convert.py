"""``intake-tvips convert``: the reconstructed array written to a Zarr v3 store.

The work is :func:`intake_tvips.zarr_export.to_zarr` (shards = the read chunks, inner
chunks of whole frames); this module adds what the command line needs around it: the
scheduler (threads, ``--scheduler ADDRESS`` or ``--workers N``) and the summary.
"""

from __future__ import annotations

import contextlib

from intake_tvips.zarr_export import regular_chunks, require_zarr3, store_exists, to_zarr

__all__ = ["regular_chunks", "require_zarr3", "store_exists", "write_zarr", "scheduler_client"]


@contextlib.contextmanager
def scheduler_client(address: str | None, workers: int | None):
    """A ``distributed.Client`` for ``--scheduler ADDRESS`` or ``--workers N`` (a
    LocalCluster on 127.0.0.1), or ``None``: dask's threads."""
    if address and workers:
        raise ValueError("give --scheduler or --workers, not both")
    if address:
        from distributed import Client

        with Client(address, timeout="10s") as client:
            yield client
        return
    from intake_tvips.cli.compute import local_cluster

    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be a positive number of workers, got {workers}")
    with local_cluster(workers) as client:
        yield client


def write_zarr(
    array,
    url: str,
    storage_options: dict | None = None,
    overwrite: bool = False,
    progress: bool = False,
    client=None,
) -> dict:
    """Write the ``xarray.DataArray`` ``array`` (dask-backed) to the Zarr store ``url``;
    returns :func:`~intake_tvips.zarr_export.to_zarr`'s summary plus ``n_chunks``."""
    done = to_zarr(
        array,
        url,
        storage_options=storage_options,
        overwrite=overwrite,
        client=client,
        progress=progress,
    )
    done["n_chunks"] = done["n_shards"]
    return done
