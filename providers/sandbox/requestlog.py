"""What a sandbox was asked and what it answered, for tests to assert on."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from providers.sandbox.faults import CONTROL_PREFIX


@dataclass(frozen=True)
class LoggedRequest:
    at: float
    method: str
    path: str
    query: str
    status: int | None  # None: no answer was sent (the connection was dropped)
    headers: dict[str, str]  # request headers, with credentials masked


_SECRET_HEADERS = {"authorization", "apisecretkey", "cookie"}


class RequestLog:
    """An ASGI middleware that remembers the last ``limit`` requests."""

    def __init__(self, app, limit: int = 100_000):
        self.app = app
        self.entries: deque[LoggedRequest] = deque(maxlen=limit)

    def clear(self) -> None:
        self.entries.clear()

    def statuses(self) -> list[int | None]:
        return [entry.status for entry in self.entries]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = {
            k.decode("latin-1").lower(): ("***" if k.decode("latin-1").lower() in _SECRET_HEADERS
                                          else v.decode("latin-1"))
            for k, v in scope.get("headers", [])
        }

        def entry(status: int | None) -> LoggedRequest:
            return LoggedRequest(time.time(), scope["method"], scope["path"],
                                 scope.get("query_string", b"").decode("latin-1"), status, headers)

        status: list[int] = []
        started: list[dict] = []  # the answer's start, held until its first body part

        async def watch(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])
                started.append(message)
                return
            if message["type"] == "http.response.body" and not message.get("more_body"):
                # Logged before the last byte goes out, so a client that has its answer always finds
                # the request in the log. A dropped connection never gets here: no status.
                self.entries.append(entry(status[0]))
            if started:
                await send(started.pop())
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if started:
                await send(started.pop())  # let the server see the half-sent answer and cut it
            self.entries.append(entry(None))  # the connection was cut: the client got no answer
            raise
