"""Running a writer's tasks: on dask's threads, a named dask scheduler, or a
``distributed`` client (given, or at an address), behind an optional tqdm bar (stderr)."""

from __future__ import annotations

import contextlib


def _default_client():
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


@contextlib.contextmanager
def _client_for(scheduler):
    """``(client or None, dask scheduler name or None)`` for ``scheduler``."""
    if scheduler is None:
        yield _default_client(), "threads"
    elif isinstance(scheduler, str) and "://" in scheduler:
        from distributed import Client

        with Client(scheduler, timeout="10s") as client:
            yield client, None
    elif isinstance(scheduler, str):
        if scheduler not in ("threads", "processes", "synchronous", "sync", "single-threaded"):
            raise ValueError(
                f"scheduler must be 'threads', 'processes', 'synchronous', an address "
                f"(tcp://host:port) or a distributed.Client, got {scheduler!r}"
            )
        yield None, scheduler
    else:
        yield scheduler, None


def run_tasks(tasks: list, scheduler=None, progress: bool = False, desc: str = "writing") -> list:
    """Compute ``tasks`` (dask delayed objects) and return their results in order."""
    import dask
    from tqdm.auto import tqdm

    with _client_for(scheduler) as (client, name):
        if client is None:
            from tqdm.dask import TqdmCallback

            with TqdmCallback(desc=desc, unit="task", leave=False, disable=not progress):
                return list(dask.compute(*tasks, scheduler=name))
        from distributed import as_completed

        futures = client.compute(tasks)
        with tqdm(
            total=len(futures), desc=desc, unit="block", leave=False, disable=not progress
        ) as bar:
            for _ in as_completed(futures, loop=client.loop):
                bar.update()
        return client.gather(futures)
