"""Whether reads of pixel samples show a progress bar, and the bar.

Kept apart from :mod:`.pixels` so that the command line can set it for every command
without importing the graph layer (and with it xarray and pandas) at start-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar

#: a read of pixels shows its progress bar (where shown at all: :func:`progress_shown`)
#: once it has taken this many seconds
PROGRESS_DELAY = 1.0
#: whether reads of pixel samples show a progress bar here (:func:`progress_shown`)
_SHOWN: ContextVar[bool] = ContextVar("intake_tvips_pixel_progress", default=False)


@contextmanager
def progress_shown(show: bool = True) -> Iterator[None]:
    """Within it (in this thread), reads of pixel samples (the hysteresis estimate, the
    scan found from the pixels) show a tqdm bar of the bytes read on stderr, once a read
    has taken ``PROGRESS_DELAY`` seconds. The command line sets it as for its other bars
    (``--progress``; by default where stderr is a terminal)."""
    token = _SHOWN.set(bool(show))
    try:
        yield
    finally:
        _SHOWN.reset(token)


def shown_if(progress: bool) -> AbstractContextManager:
    """:func:`progress_shown` where a caller's ``progress=True`` asks for the bar; else
    as around the call (a context that shows it still does)."""
    return progress_shown() if progress else nullcontext()


def pixel_bar(total: int, name: str):
    """A tqdm bar of ``total`` bytes read from the recording ``name`` (a path or URL),
    disabled unless :func:`progress_shown` is in effect."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=f"pixels of {name.rsplit('/', 1)[-1]}",
        disable=not _SHOWN.get(),
        delay=PROGRESS_DELAY,
        leave=False,
    )
