"""The viewer: a local page that shows a scan while it is read, and tunes its parameters.

:func:`view` opens the recording, detects its scan, starts the first pass and serves the
page (aiohttp, on a thread of its own) on 127.0.0.1 behind a random token; in Jupyter the
returned :class:`Viewer` displays as an IFrame onto the page.
"""

from __future__ import annotations

import asyncio
import secrets
import threading

from intake_tvips._optional import require
from intake_tvips.viewer.session import ViewSession


class Viewer:
    """A running viewer: ``url`` (with its token), ``session`` (the data behind the page),
    ``stop()``; shown in Jupyter as an IFrame onto the page."""

    def __init__(self, session: ViewSession, host: str = "127.0.0.1", port: int = 0):
        from intake_tvips.viewer.server import make_app

        require("aiohttp", "view", "intake-tvips view")
        self.session = session
        self.token = secrets.token_urlsafe(24)
        self.host = host
        self._app = make_app(session, self.token)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.port = port
        self._thread = threading.Thread(target=self._serve, name="tvips-view-http", daemon=True)

    def start(self) -> Viewer:
        """Serve the page and start the first pass; returns once the port is bound."""
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        self.session.start()
        return self

    def _serve(self) -> None:
        from aiohttp import web

        asyncio.set_event_loop(self._loop)
        runner = web.AppRunner(self._app, access_log=None)
        try:
            self._loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, self.host, self.port)
            self._loop.run_until_complete(site.start())
            self.port = runner.addresses[0][1]
        except BaseException as e:  # e.g. the port is taken: raised in start()
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(runner.cleanup())
            self._loop.close()

    @property
    def url(self) -> str:
        """The page's address, token included."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/?token={self.token}"

    def stop(self) -> None:
        """Stop the first pass and the server."""
        self.session.stop()
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def wait(self) -> None:
        """Block until the server stops (Ctrl-C stops it)."""
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def _repr_html_(self) -> str:
        return (
            f'<iframe src="{self.url}" width="100%" height="760" '
            'style="border:1px solid #ccc" title="intake-tvips view"></iframe>'
        )

    def __repr__(self) -> str:
        return f"Viewer({self.session.info()['name']!r} at {self.url})"


def view(
    url_or_source,
    scan_shape="auto",
    scan_start_frame: int | None = None,
    winding_scan_axis: str | None = None,
    hysteresis: int | str | None = None,
    storage_options: dict | None = None,
    catalog=None,
    entry: str = "scan",
    port: int = 0,
    host: str = "127.0.0.1",
    open_browser: bool = False,
) -> Viewer:
    """Show a scan in a local page and tune its parameters; returns the running
    :class:`Viewer` (in Jupyter, displayed as an IFrame onto the page).

    The page shows the virtual image (a bright-field disc found on the mean pattern),
    filling in as the first pass reads the recording, with the detector over the mean
    pattern (drag to move, drag the ring to resize, disc or annulus); the pattern of the
    position under the mouse (one frame read by byte range); scan shape, start frame,
    winding and hysteresis controls that re-render at once from per-frame sums over
    detector cells kept by the first pass; and, with ``catalog``, a button that writes the
    chosen parameters as entry ``entry`` of that catalog file (comments kept).

    Parameters
    ----------
    url_or_source : str, os.PathLike or TVIPSSource
        The recording's first part (any fsspec URL), or an Intake source of driver
        ``tvips`` (its URL, storage options and scan parameters are used).
    scan_shape, scan_start_frame, winding_scan_axis, hysteresis
        The initial scan parameters: ``"auto"`` (default) detects them from the frame
        headers (:func:`intake_tvips.detect_scan`); the others override what is detected
        (``None``: as detected); ``hysteresis="auto"``: estimated from the pixels
        (:func:`intake_tvips.estimate_hysteresis`) before the page opens.
    storage_options : dict, optional
        fsspec storage options (never sent to the page).
    catalog : str or os.PathLike, optional
        The catalog file the page may write to (created if missing); the only file the
        viewer writes.
    entry : str
        The name of the entry written to ``catalog``.
    port, host
        Where to serve (default: a free port on 127.0.0.1, this machine only).
    open_browser : bool
        Open the page in the default web browser.
    """
    from_source = not isinstance(url_or_source, (str, bytes)) and hasattr(url_or_source, "urlpath")
    if from_source:
        src = url_or_source
        url_or_source, storage_options = src.urlpath, storage_options or src.storage_options
        if scan_shape == "auto" and src.scan_shape != "auto":
            scan_shape = src.scan_shape
            scan_start_frame = _given(scan_start_frame, src.scan_start_frame)
            winding_scan_axis = _given(winding_scan_axis, src.winding_scan_axis)
        hysteresis = _given(hysteresis, src.hysteresis)
    require("aiohttp", "view", "intake-tvips view")
    session = ViewSession(
        url_or_source,
        storage_options,
        scan_shape,
        scan_start_frame,
        winding_scan_axis,
        hysteresis,
        catalog,
        entry,
    )
    session.replace_default = from_source  # tuning an entry: writing it back replaces it
    viewer = Viewer(session, host, port).start()
    if open_browser:
        import webbrowser

        webbrowser.open(viewer.url)
    return viewer


def _given(value, default):
    return default if value is None else value
