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
        status: list[int] = []

        async def watch(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        headers = {
            k.decode("latin-1").lower(): ("***" if k.decode("latin-1").lower() in _SECRET_HEADERS
                                          else v.decode("latin-1"))
            for k, v in scope.get("headers", [])
        }
        try:
            await self.app(scope, receive, watch)
        except Exception:
            status[:] = []  # the connection was cut: the client got no answer
            raise
        finally:
            self.entries.append(LoggedRequest(time.time(), scope["method"], scope["path"],
                                              scope.get("query_string", b"").decode("latin-1"),
                                              status[0] if status else None, headers))
