"""A real ``distributed.LocalCluster`` for tests: two worker processes on 127.0.0.1."""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def local_client(default: bool = False):
    """A ``Client`` of a fresh two-process ``LocalCluster`` (``default``: also dask's
    default scheduler while open)."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        Client(cluster, set_as_default=default) as client,
    ):
        yield client
