"""Sync tests: the engine against each provider's sandbox over real loopback HTTP, through the real clients.

``Harness`` gives a test what it needs of one sandbox: a fresh company store, the engine's client (made
inside the test's own event loop), a second client that edits the service directly (another user, at
the service), and the sandbox's fault switches.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.store import CompanyStore
from app.sync.connections import Connection, clearbooks_token, open_provider, sandbox_connection
from app.sync.engine import SyncEngine
from app.sync.events import Hub, SyncResult
from providers.base import Entity
from providers.http import RateLimits, RetryPolicy
from providers.sandbox.base import SandboxOptions
from providers.sandbox.faults import ConnectionDropped
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import RunningServer, serve_in_thread

FAST_RETRY = RetryPolicy(base=0.005, cap=0.05, deadline=30.0)
NO_FAULTS = {"latency_ms": 0, "error_rate": 0.0, "drop_before_rate": 0.0, "drop_after_rate": 0.0,
             "throttle_rate": 0.0, "truncate_rate": 0.0}


def run(coro):
    return asyncio.run(coro)


class DropAfter:
    """Serves a sandbox, and cuts the connection after the service has answered chosen requests: the
    write is done and committed, the answer never arrives (the sandbox's own faults hit every request)."""

    def __init__(self, app):
        self.app = app
        self.rules: list[list] = []  # [method, path fragment, times left]

    def drop(self, method: str, contains: str, times: int = 1) -> None:
        """Rules apply one after another: the next one only once the one before has dropped its share."""
        self.rules.append([method, contains, times])

    async def __call__(self, scope, receive, send):
        rule = next((r for r in self.rules if r[2] > 0), None)
        if rule is None or scope["type"] != "http" or scope["method"] != rule[0] or rule[1] not in scope["path"]:
            await self.app(scope, receive, send)
            return
        rule[2] -= 1

        async def swallow(message):
            pass

        await self.app(scope, receive, swallow)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
        raise ConnectionDropped("dropped after the service handled the request (test)")


@dataclass
class Harness:
    provider: str
    sandbox: Any
    server: RunningServer
    connection: Connection
    dropper: DropAfter
    client_options: dict[str, Any] = field(default_factory=dict)

    def company(self, company: str) -> Harness:
        return Harness(self.provider, self.sandbox, self.server, self.connection.with_company(company),
                       self.dropper, self.client_options)

    def faults(self, **settings: Any) -> None:
        self.sandbox.stack.faults.settings.update(**{**NO_FAULTS, **settings})

    @contextlib.asynccontextmanager
    async def client(self, **options: Any) -> AsyncIterator[Any]:
        options = {"retry": FAST_RETRY, **self.client_options, **options}
        provider = await open_provider(self.connection, **options)
        try:
            yield provider
        finally:
            await provider.aclose()

    async def everything(self, entity: Entity) -> list[Any]:
        async with self.client() as remote:
            return [item async for page in remote.list(entity) for item in page.items]

    async def sync(self, store: CompanyStore, hub: Hub | None = None, *, full: bool = False,
                   **options: Any) -> SyncResult:
        async with self.client() as provider:
            engine = SyncEngine(store, provider, company=self.connection.company, hub=hub, **options)
            return await engine.run_once(full=full)

    def requests(self, method: str | None = None, contains: str = "") -> list[Any]:
        return [e for e in self.sandbox.stack.requests.entries
                if (method is None or e.method == method) and contains in e.path]


def start(provider: str, size: str = "tiny", seed: int = 5, client_options: dict[str, Any] | None = None,
          **options: Any) -> Harness:
    sandbox = build_sandbox(provider, SandboxOptions(size=size, seed=seed, **options))
    dropper = DropAfter(sandbox.stack.asgi)
    server = serve_in_thread(dropper)
    return Harness(provider, sandbox, server, sandbox_connection(provider, sandbox, server.url), dropper,
                   client_options or {})


@pytest.fixture(scope="module")
def accountingsuite():
    harness = start("accountingsuite", size="small")
    yield harness
    harness.server.stop()


@pytest.fixture(scope="module")
def clearbooks():
    # The service's 5 requests a second would make these tests crawl; the throughput benchmark keeps it.
    harness = start("clearbooks", size="small", throttle=False, client_options={"limits": RateLimits(rate=None)})
    connection = harness.connection.with_company(harness.sandbox.companies()[1]["id"])
    # One token pair per user and app (a new sign-in revokes the last): the engine's client and the
    # other user's share it.
    token = run(clearbooks_token(connection.url, connection.credentials, None))
    harness.connection = Connection(connection.provider, connection.url, connection.company,
                                    {**connection.credentials, "access_token": token})
    yield harness
    harness.server.stop()


@pytest.fixture
def store(tmp_path: Path):
    with CompanyStore.create(tmp_path / "company.sqlite") as company:
        yield company
