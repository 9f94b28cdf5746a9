"""Real servers on 127.0.0.1 for tests and benchmarks: S3 (moto) and HTTP with Range.

Both log every request (method, path, Range header) and the most requests they had in
flight at once, so tests can count what the reader asked for.

    python tests/servers.py s3 [--port N]        # a moto S3 server in its own process
    python tests/servers.py http DIR [--port N]  # an aiohttp static server for DIR
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
from dataclasses import dataclass, field

#: credentials moto accepts; any non-empty values do
S3_KEY = "testing"
S3_SECRET = "testing"


@dataclass
class Request:
    method: str
    path: str
    range: str | None


@dataclass
class RequestLog:
    """Thread-safe record of the requests a server saw."""

    requests: list[Request] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def begin(self, method: str, path: str, rng: str | None) -> None:
        with self._lock:
            self.requests.append(Request(method, path, rng))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def end(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.max_in_flight = self.in_flight

    def summary(self) -> dict:
        """Request counts by kind, for reports."""
        return {
            "requests": self.count(),
            "ranged_gets": self.count("GET", ranged=True),
            "other_gets": self.count("GET", ranged=False),
            "heads": self.count("HEAD"),
            "max_in_flight": self.max_in_flight,
        }

    def count(self, method: str | None = None, ranged: bool | None = None, contains: str = ""):
        return sum(
            1
            for r in list(self.requests)
            if (method is None or r.method == method)
            and (ranged is None or (r.range is not None) == ranged)
            and contains in r.path
        )


class _LoggingWSGI:
    def __init__(self, app, log: RequestLog):
        self.app, self.log = app, log

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == "/__requests__":  # for a server in another process
            import json

            body = json.dumps(self.log.summary()).encode()
            self.log.clear()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        self.log.begin(
            environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), environ.get("HTTP_RANGE")
        )
        try:
            # materialize the body so "in flight" covers the whole response
            return [b"".join(self.app(environ, start_response))]
        finally:
            self.log.end()


class S3Server:
    """moto's S3 in server mode on 127.0.0.1, in a thread of this process."""

    def __init__(self, port: int = 0):
        import logging

        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        self.log = RequestLog()
        app = _LoggingWSGI(DomainDispatcherApplication(create_backend_app), self.log)
        self._server = make_server(
            "127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def storage_options(self) -> dict:
        """What a reader (or a dask worker) needs to reach this server: plain data."""
        return {
            "key": S3_KEY,
            "secret": S3_SECRET,
            "client_kwargs": {"endpoint_url": self.endpoint, "region_name": "us-east-1"},
        }

    def reset(self) -> None:
        """Forget every bucket (moto's state) and the request log."""
        import requests

        requests.post(f"{self.endpoint}/moto-api/reset", timeout=10)
        self.log.clear()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)


class HTTPServer:
    """aiohttp serving ``root`` as static files (HEAD, GET, Range) on 127.0.0.1."""

    def __init__(self, root, port: int = 0):
        self.root = str(root)
        self.log = RequestLog()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._port = port
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("HTTP test server did not start")

    def _run(self) -> None:
        from aiohttp import web

        log = self.log

        @web.middleware
        async def logging(request, handler):
            log.begin(request.method, request.path, request.headers.get("Range"))
            try:
                return await handler(request)
            finally:
                log.end()

        async def start():
            app = web.Application(middlewares=[logging])
            app.router.add_static("/", self.root, show_index=False)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", self._port)
            await site.start()
            self.port = self._runner.addresses[0][1]

        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(start())
        self._ready.set()
        self._loop.run_forever()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        fut = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        fut.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


class NoRangeHTTPServer:
    """Python's ``http.server`` for ``root``: a real server that ignores Range headers."""

    def __init__(self, root):
        import functools
        import http.server

        self.log = RequestLog()
        log = self.log

        class Handler(http.server.SimpleHTTPRequestHandler):
            def send_head(self):
                log.begin(self.command, self.path, self.headers.get("Range"))
                log.end()
                return super().send_head()

            def log_message(self, *args):
                pass

        handler = functools.partial(Handler, directory=str(root))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def s3_client(endpoint: str):
    """A boto3 client for the moto server at ``endpoint`` (buckets, uploads, ACLs)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    )


def create_bucket(server: S3Server, bucket: str) -> None:
    s3_client(server.endpoint).create_bucket(Bucket=bucket)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=["s3", "http"])
    ap.add_argument("root", nargs="?", help="directory to serve (http)")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    server = S3Server(args.port) if args.kind == "s3" else HTTPServer(args.root, args.port)
    print(server.endpoint if args.kind == "s3" else server.url, flush=True)
    parent = os.getppid()
    try:
        while os.getppid() == parent:  # ends with the process that started it
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    server.stop()


if __name__ == "__main__":
    main()
