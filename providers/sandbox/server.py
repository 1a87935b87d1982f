"""Serve a sandbox: over real loopback HTTP with uvicorn, or in-process through httpx.

Every sandbox is assembled the same way: the provider's own ASGI app, wrapped by fault injection,
wrapped by the request log, beside control routes under ``/_sandbox`` that read the log and switch
faults at run time (so a sandbox started by ``ledgerdesk sandbox`` can be steered from outside).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from dataclasses import dataclass, field

import httpx
import uvicorn

from providers.decimal_json import dumps, loads
from providers.sandbox.faults import CONTROL_PREFIX, ConnectionDropped, FaultInjector
from providers.sandbox.requestlog import RequestLog

log = logging.getLogger(__name__)


@dataclass
class SandboxStack:
    """A provider's app with its faults and log. ``asgi`` is what a server or transport runs."""

    app: object
    faults: FaultInjector = field(init=False)
    requests: RequestLog = field(init=False)

    def __post_init__(self) -> None:
        self.faults = FaultInjector(self.app)
        self.requests = RequestLog(self.faults)

    async def asgi(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(CONTROL_PREFIX):
            await self._control(scope, receive, send)
        else:
            await self.requests(scope, receive, send)

    async def _control(self, scope, receive, send):
        path, method = scope["path"][len(CONTROL_PREFIX):], scope["method"]
        status, answer = 200, None
        if path == "/faults" and method == "GET":
            answer = self.faults.settings.as_dict()
        elif path == "/faults" and method in ("PUT", "PATCH"):
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            try:
                changes = {k: (float(v) if k.endswith("_rate") else v) for k, v in loads(body).items()}
                self.faults.settings.update(**changes)
                answer = self.faults.settings.as_dict()
            except (ValueError, AttributeError) as error:
                status, answer = 400, {"error": str(error)}
        elif path == "/log" and method == "GET":
            answer = [{"method": e.method, "path": e.path, "query": e.query, "status": e.status}
                      for e in self.requests.entries]
        else:
            status, answer = 404, {"error": "no such control"}
        body = dumps(answer).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def transport(self) -> httpx.AsyncBaseTransport:
        """In-process: no sockets, the same faults (a drop surfaces as httpx's own transport error)."""
        return _InProcessTransport(app=self.asgi)


class _InProcessTransport(httpx.ASGITransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except ConnectionDropped as error:
            raise httpx.RemoteProtocolError(f"server disconnected: {error}", request=request) from None


def loopback_socket(port: int = 0) -> socket.socket:
    # IPPROTO_TCP, not 0: asyncio turns on TCP_NODELAY only then; without it a small answer waits
    # ~40 ms on Nagle and delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class _HideInjectedDrops(logging.Filter):
    """uvicorn logs an app exception with its traceback; an injected drop is not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


logging.getLogger("uvicorn.error").addFilter(_HideInjectedDrops())


class _QuietServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the host program owns signals
        pass


def _config(asgi, log_level: str) -> uvicorn.Config:
    # h11 keeps a dropped-connection fault a real mid-answer close; access logs would be noise.
    return uvicorn.Config(asgi, log_level=log_level, access_log=False, lifespan="off", http="h11", interface="asgi3",
                          timeout_keep_alive=30)


@dataclass
class RunningServer:
    url: str
    port: int
    _server: uvicorn.Server
    _thread: threading.Thread | None = None
    _task: asyncio.Task | None = None

    def stop(self) -> None:
        """Stop a server that runs in its own thread (blocks until it has stopped)."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    async def aclose(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def serve_in_thread(asgi, port: int = 0, log_level: str = "warning") -> RunningServer:
    """Serve on 127.0.0.1 from a background thread with its own event loop; returns once it listens."""
    sock = loopback_socket(port)
    server = _QuietServer(_config(asgi, log_level))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])),
                              name="sandbox-server", daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.01)
    bound = sock.getsockname()[1]
    return RunningServer(url=f"http://127.0.0.1:{bound}", port=bound, _server=server, _thread=thread)


async def serve(asgi, port: int = 0, log_level: str = "warning") -> RunningServer:
    """Serve on 127.0.0.1 as a task on the running loop (the app's qasync loop in the demo)."""
    sock = loopback_socket(port)
    server = _QuietServer(_config(asgi, log_level))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    bound = sock.getsockname()[1]
    return RunningServer(url=f"http://127.0.0.1:{bound}", port=bound, _server=server, _task=task)
