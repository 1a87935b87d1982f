"""The Clear Books client's sign-in plumbing and pacing, against fresh sandboxes over loopback HTTP.

Each test signs in to its own sandbox: Clear Books holds one token pair per user and application, so a
refresh here would revoke the token of any other test sharing the sandbox. Renewal is the real refresh
grant against the sandbox's ``/oauth/token`` with the demo client's credentials (``oauth.RefreshGrant``).
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest

from providers.base import AuthError, Entity, Operation, PermissionDenied, ProviderError, RateLimited
from providers.clearbooks.client import Client
from providers.clearbooks.oauth import RefreshGrant, TokenPair
from providers.http import RateLimits, RetryPolicy
from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread
from tests.sandbox.test_clearbooks_sandbox import sign_in

SEED = 9
TINY, SMALL = "184501", "184502"
FAST_RETRY = RetryPolicy(base=0.01, cap=0.2)


@pytest.fixture
def fresh():
    running = []

    def make(size: str = "tiny", throttle: bool = False, **extra):
        sandbox = build_sandbox("clearbooks", SandboxOptions(size=size, seed=SEED, throttle=throttle, extra=extra))
        server = serve_in_thread(sandbox.stack.asgi)
        running.append(server)
        with httpx.Client(base_url=server.url, timeout=30) as http:
            pair = sign_in(http, sandbox.credentials())
        return sandbox, server.url, pair

    yield make
    for server in running:
        server.stop()


def grant_for(sandbox, url: str, refresh_token: str, saved: list, events: list | None = None) -> RefreshGrant:
    creds = sandbox.credentials()

    async def persist(pair: TokenPair) -> None:
        saved.append(pair)
        if events is not None:
            events.append(("persisted", pair.access_token))

    return RefreshGrant(url + creds["token_path"], creds["client_id"], creds["client_secret"], refresh_token, persist)


def watch_tokens(client: Client, events: list) -> None:
    """Record the bearer token of every request the client sends, in order."""
    async def hook(request: httpx.Request) -> None:
        events.append(("sent", request.headers["authorization"].removeprefix("Bearer ")))
    client.http.client.event_hooks["request"].append(hook)


def test_a_token_that_expires_mid_list_is_renewed_and_the_list_completes(fresh):
    sandbox, url, pair = fresh("small", throttle=True, access_token_ttl=1)
    saved: list[TokenPair] = []
    events: list[tuple[str, str]] = []
    grant = grant_for(sandbox, url, pair["refresh_token"], saved, events)
    sandbox.stack.requests.clear()

    async def go():
        async with Client(url + "/v1", SMALL, pair["access_token"], grant) as client:
            watch_tokens(client, events)
            found = [invoice async for page in client.list(Entity.INVOICES, page_size=25) for invoice in page.items]
            await grant.aclose()
            return found, client.tokens.renewals

    invoices, renewals = asyncio.run(go())
    assert [i.remote_id for i in invoices] == [str(d["id"]) for d in sandbox.books.all(SMALL, "sales:invoices")]
    assert len(invoices) == 400 and renewals >= 1 and grant.refreshes == renewals == len(saved)
    api = [e for e in sandbox.stack.requests.entries if e.path.startswith("/v1/")]
    refused = [n for n, e in enumerate(api) if e.status == 401]
    assert len(refused) == renewals  # each 401: one refresh, then the same page again, which passed
    assert all(api[n + 1].status == 200 and api[n + 1].query == api[n].query for n in refused)
    assert refused[0] > 0  # it expired mid-list, not before it
    # The new pair was saved before its access token was sent anywhere.
    for pair_saved in saved:
        assert events.index(("persisted", pair_saved.access_token)) < events.index(("sent", pair_saved.access_token))
    assert saved[-1].refresh_token == grant.refresh_token != pair["refresh_token"]


def test_a_401_renews_once_and_retries_once(fresh):
    sandbox, url, _pair = fresh()
    calls = []

    async def refresh() -> str:
        calls.append(1)
        return "still-not-a-valid-token"

    async def go():
        async with Client(url + "/v1", TINY, "expired-or-revoked", refresh) as client:
            with pytest.raises(AuthError) as caught:
                await client.get(Entity.CUSTOMERS, "1")
            return caught.value

    sandbox.stack.requests.clear()
    error = asyncio.run(go())
    assert calls == [1] and error.message == "The access token is invalid"
    assert [e.status for e in sandbox.stack.requests.entries] == [401, 401]


def test_requests_that_fail_together_share_one_refresh(fresh, monkeypatch):
    sandbox, url, pair = fresh()
    saved: list[TokenPair] = []
    grant = grant_for(sandbox, url, pair["refresh_token"], saved)
    customers = [str(c["id"]) for c in sandbox.books.all(TINY, "customers")[:6]]
    later = time.time() + 7200
    monkeypatch.setattr(sandbox, "clock", lambda: later)  # the access token has expired

    async def go():
        async with Client(url + "/v1", TINY, pair["access_token"], grant, limits=RateLimits(rate=None)) as client:
            found = await asyncio.gather(*(client.get(Entity.CUSTOMERS, ident) for ident in customers))
            await grant.aclose()
            return found, client.tokens.renewals

    found, renewals = asyncio.run(go())
    assert [c.remote_id for c in found] == customers and renewals == 1 == len(saved)


def test_a_refused_refresh_means_signing_in_again(fresh, monkeypatch):
    sandbox, url, pair = fresh()
    creds = sandbox.credentials()
    with httpx.Client(base_url=url) as http:  # the refresh token is used up elsewhere
        assert http.post(creds["token_path"], data={
            "grant_type": "refresh_token", "refresh_token": pair["refresh_token"],
            "client_id": creds["client_id"], "client_secret": creds["client_secret"]}).status_code == 200
    saved: list[TokenPair] = []
    grant = grant_for(sandbox, url, pair["refresh_token"], saved)

    async def go():
        async with Client(url + "/v1", TINY, pair["access_token"], grant) as client:
            with pytest.raises(AuthError) as caught:
                await client.list(Entity.CUSTOMERS).__anext__()
            await grant.aclose()
            return caught.value

    error = asyncio.run(go())
    assert "sign in to Clear Books again" in error.message and error.detail == "invalid_grant"
    assert "already been used" in error.message and saved == []


def test_a_pair_that_cannot_be_saved_is_not_used(fresh, monkeypatch):
    sandbox, url, pair = fresh()
    creds = sandbox.credentials()

    def persist(_pair: TokenPair) -> None:
        raise OSError("keyring locked")

    grant = RefreshGrant(url + creds["token_path"], creds["client_id"], creds["client_secret"],
                         pair["refresh_token"], persist)
    later = time.time() + 7200
    monkeypatch.setattr(sandbox, "clock", lambda: later)
    sandbox.stack.requests.clear()

    async def go():
        async with Client(url + "/v1", TINY, pair["access_token"], grant) as client:
            with pytest.raises(ProviderError) as caught:
                await client.get(Entity.CUSTOMERS, "1")
            await grant.aclose()
            return caught.value

    error = asyncio.run(go())
    assert "could not be saved" in error.message
    assert [(e.path, e.status) for e in sandbox.stack.requests.entries] == [
        ("/v1/accounting/customers/1", 401), ("/oauth/token", 200)]


def test_no_token_or_secret_reaches_the_logs(fresh, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    sandbox, url, pair = fresh("tiny")
    saved: list[TokenPair] = []
    grant = grant_for(sandbox, url, pair["refresh_token"], saved)
    sandbox.stack.faults.settings.update(error_rate=0.2, throttle_rate=0.1, seed=3)
    # The first token expires by moving the sandbox's clock, not by sleeping past a one-second lifetime:
    # under throttling the retries of one call can outlast such a short-lived renewed token too.
    later = time.time() + 7200
    monkeypatch.setattr(sandbox, "clock", lambda: later)

    async def go():
        async with Client(url + "/v1", TINY, pair["access_token"], grant, retry=FAST_RETRY) as client:
            customers = [c async for page in client.list(Entity.CUSTOMERS, page_size=5) for c in page.items]
            with pytest.raises(ProviderError):
                await client.get(Entity.INVOICES, "999999")
            await grant.aclose()
            return customers

    assert len(asyncio.run(go())) == 8 and saved
    secrets = [pair["access_token"], pair["refresh_token"], sandbox.credentials()["client_secret"]]
    secrets += [s.access_token for s in saved] + [s.refresh_token for s in saved]
    text = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    assert caplog.records and "renewing the access token" in caplog.text
    for secret in secrets:
        assert secret not in text
    assert repr(saved[0]).startswith("TokenPair(") and saved[0].access_token not in repr(saved[0])


def test_pacing_keeps_under_the_throttle_and_near_its_ceiling(fresh):
    """The CI-sized twin of ``tests/perf/bench_clearbooks_client.py``: a whole small company against a
    sandbox that throttles at 5 requests a second, with the client's own limits."""
    _sandbox, url, pair = fresh("small", throttle=True)

    async def go():
        async with Client(url + "/v1", SMALL, pair["access_token"], page_size=100) as client:
            started = time.perf_counter()
            count = 0
            for entity in Entity:
                if client.capabilities.supports(entity, Operation.LIST):
                    async for page in client.list(entity):
                        count += len(page.items)
            return count, time.perf_counter() - started, client.http.stats

    count, elapsed, stats = asyncio.run(go())
    rate = stats.requests / elapsed
    print(f"\n{stats.requests} requests for {count} records in {elapsed:.1f} s: {rate:.2f} requests/s, "
          f"{stats.throttled} answered 429")
    assert stats.requests >= 30
    assert stats.throttled / stats.requests < 0.01
    assert rate >= 0.9 * 5


def test_the_services_throttle_is_rate_limited_in_its_own_words(fresh):
    sandbox, url, pair = fresh(throttle=True)

    async def go():
        async with Client(url + "/v1", TINY, pair["access_token"], limits=RateLimits(rate=None),
                          retry=RetryPolicy(attempts=1)) as client:
            with pytest.raises(RateLimited) as caught:
                for _ in range(20):
                    await client.get(Entity.CUSTOMERS, str(sandbox.books.all(TINY, "customers")[0]["id"]))
            return caught.value

    error = asyncio.run(go())
    assert error.message == "Too many requests: retry later with exponential backoff"
    assert error.status == 429 and error.retry_after >= 1


def test_a_missing_scope_names_the_permission(fresh):
    sandbox, url, _pair = fresh()
    with httpx.Client(base_url=url, timeout=30) as http:
        narrow = sign_in(http, sandbox.credentials(), scope="accounting.customers:read")

    async def go():
        async with Client(url + "/v1", TINY, narrow["access_token"]) as client:
            customers = await client.list(Entity.CUSTOMERS).__anext__()
            with pytest.raises(PermissionDenied) as caught:
                await client.list(Entity.INVOICES).__anext__()
            return customers, caught.value

    customers, error = asyncio.run(go())
    assert customers.items and error.permission == "accounting.sales:read"
    assert error.message == "This request needs the accounting.sales:read scope" and error.status == 403
