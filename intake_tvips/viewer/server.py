"""The viewer's web app (aiohttp): the page and a small API over one :class:`ViewSession`.

Every request must carry the session's token, in the query (``?token=...``, as the URL
printed at start has it) or in the ``X-Token`` header (the page's own requests); any other
is refused with 403. Only the page's three files and the routes below exist: nothing else
of the machine is served, and the only file written is the catalog given at start.

Routes (numbers as query parameters; binary arrays as little-endian float32, their shape
in the ``X-Shape`` header):

* ``GET /``: the page; ``GET /static/app.js|app.css``
* ``GET /api/info``: the recording (its URL without credentials), the scan, the catalog
* ``GET /api/status[?since=N]``: progress of the first pass, hysteresis suggestion, default
  detector (with ``since``: once the frames read are no longer N, or a second passed)
* ``GET /api/image?cy&cx&r_out&r_in&ny&nx&start&winding&hysteresis``: the virtual image
* ``GET /api/mean``: the mean pattern of the frames read so far (patterns are binned to
  at most 512 pixels a side: ``display_bin`` in the info)
* ``GET /api/pattern?y&x&ny&nx&start&winding&hysteresis``: one position's pattern
  (``X-Frame``: its frame number), one frame read by byte range
* ``POST /api/catalog`` (JSON: the scan, ``replace``): write the catalog entry
* ``POST /api/exact`` (JSON: the detector): a second pass for that detector's exact image
  (``X-Exact: 1`` on the images drawn from it)
"""

from __future__ import annotations

import hmac
import json
from importlib import resources

import numpy as np

from intake_tvips._optional import require
from intake_tvips.viewer.session import ViewSession
from intake_tvips.viewer.state import Detector, ScanChoice, ViewError

#: the longest a ``status?since=N`` request waits for news
LONG_POLL_SECONDS = 1.0
#: the page's files (nothing else is served)
STATIC = {"app.js": "text/javascript", "app.css": "text/css"}
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the URL
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'self' http://localhost:* http://127.0.0.1:*",
}


def _static(name: str) -> str:
    return resources.files("intake_tvips.viewer").joinpath("static", name).read_text("utf-8")


def _number(query, key: str, kind=float, default=None):
    text = query.get(key)
    if text is None or text == "":
        if default is not None:
            return default
        raise ViewError(f"missing parameter {key!r}")
    try:
        value = kind(text)
    except ValueError:
        raise ViewError(f"parameter {key!r} must be a number, got {text!r}") from None
    if kind is float and not np.isfinite(value):
        raise ViewError(f"parameter {key!r} must be finite, got {text!r}")
    return value


def scan_from(query) -> ScanChoice:
    """The scan parameters of a request (query or JSON body)."""
    winding = query.get("winding") or None
    if winding in ("none", "null"):
        winding = None
    if winding not in (None, "x", "y"):
        raise ViewError(f"winding must be none, x or y, got {winding!r}")
    shape = (_number(query, "ny", int), _number(query, "nx", int))
    if min(shape) < 1:
        raise ViewError(f"scan shape must be positive, got {shape}")
    return ScanChoice(
        shape, _number(query, "start", int), winding, _number(query, "hysteresis", int, 0)
    )


def detector_from(query) -> Detector:
    return Detector(
        _number(query, "cy"),
        _number(query, "cx"),
        _number(query, "r_out"),
        _number(query, "r_in", float, 0.0),
    )


def make_app(session: ViewSession, token: str):
    """The aiohttp application serving ``session`` to holders of ``token``."""
    web = require("aiohttp.web", "view", "intake-tvips view")

    @web.middleware
    async def guard(request, handler):
        given = request.query.get("token") or request.headers.get("X-Token") or ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            return web.Response(
                status=403,
                text="403 Forbidden: open the URL with the token that intake-tvips view "
                "printed when it started (...?token=...)\n",
                headers=HEADERS,
            )
        try:
            response = await handler(request)
        except (ValueError, OSError) as e:  # ViewError, CatalogError, an unwritable file
            response = web.json_response({"error": " ".join(str(e).split())}, status=400)
        response.headers.update(HEADERS)
        return response

    app = web.Application(middlewares=[guard])
    routes = _Routes(session, token, web)
    app.router.add_get("/", routes.page)
    app.router.add_get("/static/{name}", routes.static)
    app.router.add_get("/api/info", routes.info)
    app.router.add_get("/api/status", routes.status)
    app.router.add_get("/api/image", routes.image)
    app.router.add_get("/api/mean", routes.mean)
    app.router.add_get("/api/pattern", routes.pattern)
    app.router.add_post("/api/catalog", routes.catalog)
    app.router.add_post("/api/exact", routes.exact)
    return app


async def _json_query(request) -> dict:
    """A JSON object body as query-like text values."""
    try:
        body = json.loads(await request.text())
    except ValueError:
        raise ViewError("the request body must be JSON") from None
    if not isinstance(body, dict):
        raise ViewError("the request body must be a JSON object")
    return {k: None if v is None else str(v) for k, v in body.items()}


def _array_response(web, a: np.ndarray, headers: dict | None = None):
    a = np.ascontiguousarray(a, dtype="<f4")
    h = {"X-Shape": ",".join(map(str, a.shape))}
    h.update({k: str(v) for k, v in (headers or {}).items()})
    return web.Response(body=a.tobytes(), content_type="application/octet-stream", headers=h)


class _Routes:
    """The handlers; numpy work and reads run on the default executor (threads)."""

    def __init__(self, session: ViewSession, token: str, web):
        self.s, self.token, self.web = session, token, web

    async def _off(self, fn, *args):
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def page(self, request):
        html = _static("index.html").replace("{{TOKEN}}", self.token)
        return self.web.Response(text=html, content_type="text/html")

    async def static(self, request):
        name = request.match_info["name"]
        if name not in STATIC:
            raise self.web.HTTPNotFound()
        return self.web.Response(text=_static(name), content_type=STATIC[name])

    async def info(self, request):
        return self.web.json_response(self.s.info())

    async def status(self, request):
        """With ``since=N``: answers once the frames read differ from N, the pass has
        ended, or after ``LONG_POLL_SECONDS`` (so the page hears of progress at once)."""
        import asyncio

        since = _number(request.query, "since", int, -1)
        waited = 0.0
        while since >= 0 and waited < LONG_POLL_SECONDS:
            if self.s.sums.frames_done != since or self.s.scan_pass.finished is not None:
                break
            await asyncio.sleep(0.02)
            waited += 0.02
        return self.web.json_response(await self._off(self.s.status))

    async def image(self, request):
        det, scan = detector_from(request.query), scan_from(request.query)
        done = self.s.sums.frames_done
        image, exact = await self._off(self.s.image, det, scan)
        return _array_response(self.web, image, {"X-Done": done, "X-Exact": int(exact)})

    async def mean(self, request):
        return _array_response(self.web, await self._off(self.s.mean_pattern))

    async def pattern(self, request):
        q = request.query
        y, x, scan = _number(q, "y", int), _number(q, "x", int), scan_from(q)
        frame, pattern = await self._off(self.s.pattern, y, x, scan)
        if pattern is None:
            pattern = np.zeros(self.s.mean_pattern().shape, dtype=np.float32)
        return _array_response(self.web, pattern, {"X-Frame": frame})

    async def exact(self, request):
        self.s.start_exact(detector_from(await _json_query(request)))
        return self.web.json_response(await self._off(self.s.status))

    async def catalog(self, request):
        body = await _json_query(request)
        scan = scan_from(body)
        return self.web.json_response(
            await self._off(
                self.s.write_catalog, scan, body.get("replace") in ("True", "true", "1")
            )
        )
