"""Fault injection for any sandbox: an ASGI middleware whose settings can change while it serves.

Faults are what a real service and the network in front of it do on a bad day: latency, proxy
error pages, connections that drop before the request reaches the service or after the service
has committed it, throttling, and bodies cut short. Each is a probability per request, drawn from
the instance's own seeded random generator so that a failing test can be replayed.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import asdict, dataclass, fields

# Paths under this prefix control the sandbox itself and are never faulted or logged.
CONTROL_PREFIX = "/_sandbox"

_PROXY_PAGE = (
    "<html><head><title>{status} {reason}</title></head><body><center><h1>{status} {reason}</h1></center>"
    "<hr><center>nginx</center></body></html>"
)
_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Temporarily Unavailable"}


class ConnectionDropped(Exception):
    """Raised inside the sandbox to cut the connection without an answer."""


@dataclass
class FaultSettings:
    latency_ms: int = 0  # each request waits a random time up to this
    error_rate: float = 0.0  # answered 500/502/503 with an HTML proxy page, nothing done
    drop_before_rate: float = 0.0  # connection cut before the service sees the request
    drop_after_rate: float = 0.0  # the service does the work (and commits), then the connection is cut
    throttle_rate: float = 0.0  # answered 429 with Retry-After, nothing done
    truncate_rate: float = 0.0  # the answer's body is cut in half (its length header agrees)
    seed: int | None = None

    def update(self, **changes: object) -> None:
        known = {f.name for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault setting {name!r}")
            setattr(self, name, value)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def active(self) -> bool:
        return any((self.latency_ms, self.error_rate, self.drop_before_rate, self.drop_after_rate,
                    self.throttle_rate, self.truncate_rate))


class FaultInjector:
    """Wraps an ASGI app. ``settings`` may be changed at any time, from a test or over HTTP."""

    def __init__(self, app, settings: FaultSettings | None = None):
        self.app = app
        self.settings = settings or FaultSettings()
        self._random = random.Random(self.settings.seed)
        self.injected: dict[str, int] = {}

    def reseed(self, seed: int | None) -> None:
        self.settings.seed = seed
        self._random = random.Random(seed)

    def _roll(self, rate: float) -> bool:
        return rate > 0 and self._random.random() < rate

    def _count(self, fault: str) -> None:
        self.injected[fault] = self.injected.get(fault, 0) + 1

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX) or not self.settings.active:
            await self.app(scope, receive, send)
            return
        s = self.settings
        if s.latency_ms:
            await asyncio.sleep(self._random.uniform(0, s.latency_ms) / 1000)
        if self._roll(s.drop_before_rate):
            self._count("drop_before")
            await _drop(send, "dropped before the request reached the service")
        if self._roll(s.error_rate):
            self._count("error")
            await _send_proxy_error(send, self._random.choice(list(_REASONS)))
            return
        if self._roll(s.throttle_rate):
            self._count("throttle")
            await _send_simple(send, 429, b"Too Many Requests", [(b"retry-after", b"1")])
            return
        drop_after = self._roll(s.drop_after_rate)
        truncate = not drop_after and self._roll(s.truncate_rate)
        if not (drop_after or truncate):
            await self.app(scope, receive, send)
            return
        start, body = await _collect(self.app, scope, receive)
        if drop_after:
            self._count("drop_after")
            await _drop(send, "dropped after the service handled the request")
        self._count("truncate")
        body = body[: len(body) // 2]
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _drop(send, why: str) -> None:
    """Promise a body and never deliver it: the server must close the connection mid-answer, which a
    client sees exactly as a dropped connection (an incomplete message)."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/octet-stream"), (b"content-length", b"4096")]})
    raise ConnectionDropped(why)


async def _collect(app, scope, receive):
    """Run the app to completion and keep its answer instead of sending it."""
    start: dict = {}
    chunks: list[bytes] = []

    async def keep(message):
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    return start, b"".join(chunks)


async def _send_simple(send, status: int, body: bytes, extra_headers=(), content_type=b"text/plain") -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *extra_headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_proxy_error(send, status: int) -> None:
    page = _PROXY_PAGE.format(status=status, reason=_REASONS[status]).encode()
    await _send_simple(send, status, page, content_type=b"text/html")
