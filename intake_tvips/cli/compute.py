"""Compute dask arrays in parallel behind a progress bar (tqdm, on stderr).

Threads by default (``dask.diagnostics``-style callback: one step per task), or on a
``distributed`` client (one step per finished output chunk).

Ours on purpose: dask's ``ProgressBar`` and ``distributed.progress`` print to stdout,
where the commands' reports go; tqdm draws on stderr and is easily turned off.
"""

from __future__ import annotations

import contextlib
import logging


def compute(collections, progress: bool, client=None, desc: str = "computing"):
    """``dask.compute(*collections)`` with a tqdm bar when ``progress``."""
    import dask

    if client is None:
        from tqdm.dask import TqdmCallback

        with TqdmCallback(desc=desc, unit="task", leave=False, disable=not progress):
            return dask.compute(*collections, scheduler="threads")
    from distributed import as_completed, futures_of
    from tqdm.auto import tqdm

    persisted = client.persist(list(collections))
    futures = futures_of(persisted)
    with tqdm(
        total=len(futures), desc=desc, unit="chunk", leave=False, disable=not progress
    ) as bar:
        for _ in as_completed(futures):
            bar.update()
    return tuple(client.compute(persisted, sync=True))


@contextlib.contextmanager
def local_cluster(workers: int | None):
    """A ``distributed.Client`` on a LocalCluster of ``workers`` processes, or ``None``."""
    if not workers:
        yield None
        return
    if workers < 1:
        raise ValueError(f"--cluster must be a positive number of workers, got {workers}")
    from intake_tvips import require

    distributed = require("distributed", "cluster", "a distributed.LocalCluster")

    with (
        distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            # everything on loopback: the scheduler's HTTP server (health, metrics, the
            # dashboard when bokeh is installed) on a free port, not all interfaces :8787
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
