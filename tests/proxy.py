"""A fault-injecting HTTP reverse proxy on 127.0.0.1, for tests of remote failures.

Put it in front of the moto S3 server or the HTTP test server and tell it what to do to
the next requests that match (by method and a substring of the path):

    proxy = FaultProxy(server.endpoint)
    proxy.fail(503, times=2, path="_001")        # answer 503 instead of forwarding
    proxy.reset(times=1)                         # drop the connection with a TCP RST
    proxy.truncate(times=1, keep=0.5)            # half the body, then close the socket
    proxy.truncate(times=1, keep=0.5, honest=True)  # half the body, Content-Length fixed
    proxy.delay(2.0, times=1)                    # wait before forwarding
    proxy.fail(503, times=None)                  # every matching request, until clear()

Every request is logged (``proxy.log``, a :class:`servers.RequestLog`) with the fault it
got in ``proxy.faulted``. Each request is forwarded on its own upstream connection and
answered with ``Connection: close``, so a fault hits exactly one request.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from servers import RequestLog


@dataclass
class Fault:
    kind: str  # "status", "reset", "truncate", "delay"
    times: int | None  # None: forever
    path: str = ""
    method: str | None = None
    ranged: bool | None = None
    status: int = 503
    keep: float = 0.5
    honest: bool = False
    seconds: float = 0.0

    def matches(self, method: str, path: str, rng: str | None) -> bool:
        return (
            (self.method is None or self.method == method)
            and self.path in path
            and (self.ranged is None or (rng is not None) == self.ranged)
        )


class FaultProxy:
    """A reverse proxy for ``upstream`` (``http://host:port``) that injects faults."""

    def __init__(self, upstream: str):
        u = urlsplit(upstream)
        self.upstream = (u.hostname, u.port or 80)
        self.log = RequestLog()
        self.faulted: list[tuple[str, str, str]] = []  # (kind, method, path)
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault proxy did not start")

    # ------------------------------------------------------------ telling it what to do

    def _add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def fail(self, status: int = 503, times: int | None = 1, **match) -> None:
        self._add(Fault("status", times, status=status, **match))

    def reset(self, times: int | None = 1, **match) -> None:
        self._add(Fault("reset", times, **match))

    def truncate(
        self, times: int | None = 1, keep: float = 0.5, honest: bool = False, **match
    ) -> None:
        self._add(Fault("truncate", times, keep=keep, honest=honest, **match))

    def delay(self, seconds: float, times: int | None = 1, **match) -> None:
        self._add(Fault("delay", times, seconds=seconds, **match))

    def clear(self) -> None:
        """No more faults; forget the logs."""
        with self._lock:
            self._faults.clear()
            self.faulted.clear()
        self.log.clear()

    def _take(self, method: str, path: str, rng: str | None) -> Fault | None:
        with self._lock:
            for f in self._faults:
                if f.matches(method, path, rng):
                    if f.times is not None:
                        f.times -= 1
                        if f.times <= 0:
                            self._faults.remove(f)
                    self.faulted.append((f.kind, method, path))
                    return f
        return None

    # ------------------------------------------------------------ the server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    endpoint = url

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start():
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]

        self._loop.run_until_complete(start())
        self._ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        async def close():
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = [tuple(x.split(":", 1)) for x in lines[1:] if ":" in x]
        hdict = {k.strip().lower(): v.strip() for k, v in headers}
        body = b""
        if int(hdict.get("content-length", 0) or 0):
            body = await reader.readexactly(int(hdict["content-length"]))
        rng = hdict.get("range")
        self.log.begin(method, target.split("?", 1)[0], rng)
        try:
            fault = self._take(method, target, rng)
            await self._serve(fault, method, target, headers, body, writer)
        except (ConnectionError, OSError):
            pass
        finally:
            self.log.end()
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve(self, fault, method, target, headers, body, writer) -> None:
        if fault is not None and fault.kind == "status":
            msg = b"fault injected by the test proxy"
            writer.write(
                f"HTTP/1.1 {fault.status} Injected\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {len(msg)}\r\nConnection: close\r\n\r\n".encode()
                + msg
            )
            await writer.drain()
            return
        if fault is not None and fault.kind == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        out = [f"{method} {target} HTTP/1.1"]
        out += [f"{k}:{v}" for k, v in headers if k.strip().lower() != "connection"]
        out.append("Connection: close")
        up_writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body)
        await up_writer.drain()
        response = await up_reader.read()  # upstream closes after one response
        up_writer.close()
        rhead, _, rbody = response.partition(b"\r\n\r\n")
        rlines = [
            x
            for x in rhead.decode("latin-1").split("\r\n")
            if not x.lower().startswith("connection:")
        ]
        if fault is not None and fault.kind == "truncate" and rbody:
            rbody = rbody[: int(len(rbody) * fault.keep)]
            if fault.honest:
                rlines = [
                    f"Content-Length: {len(rbody)}"
                    if x.lower().startswith("content-length:")
                    else x
                    for x in rlines
                ]
        rlines.append("Connection: close")
        writer.write(("\r\n".join(rlines) + "\r\n\r\n").encode("latin-1") + rbody)
        await writer.drain()
