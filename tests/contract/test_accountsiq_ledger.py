"""The medium AccountsIQ entity's whole ledger, listed over loopback and compared line by line with the
sandbox's own transactions (money exact). A module of its own so that each contract file stays within
a minute: the ledger is some 96,000 transactions of about four lines each."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from providers.accountsiq.client import Client
from providers.accountsiq.sandbox_data import T_LINES
from providers.base import Entity
from providers.http import RetryPolicy
from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread

MEDIUM = "mournefoods"


@pytest.fixture(scope="module")
def listed():
    sandbox = build_sandbox("accountsiq", SandboxOptions(size="medium", seed=5))
    server = serve_in_thread(sandbox.stack.asgi)
    credentials = sandbox.credentials()

    async def go():
        async with Client(server.url, credentials["client_id"], credentials["client_secret"], MEDIUM,
                          retry=RetryPolicy(base=0.01, cap=0.2)) as provider:
            pages = [page async for page in provider.list(Entity.LEDGER_LINES, page_size=5_000)]
            return pages, provider.http.stats

    try:
        pages, stats = asyncio.run(go())
    finally:
        server.stop()
    entity = next(e for e in sandbox.entities() if e.id == MEDIUM)
    entity.ensure_loaded()
    return pages, stats, entity


def test_the_medium_ledger_matches_line_by_line_money_exact(listed):
    pages, stats, entity = listed
    lines = [line for page in pages for line in page.items]
    by_id = {line.remote_id: line for line in lines}
    assert len(by_id) == len(lines)  # none twice
    expected = 0
    for txn_id, row in entity.txns.items():
        stored = entity.txn(txn_id)[T_LINES]
        expected += len(stored)
        total = Decimal(0)
        for number, (code, amount, _kind, _tax, description) in enumerate(stored, start=1):
            line = by_id[f"{txn_id}.{number}"]
            assert (line.transaction_id, line.account_code, line.amount, line.date) == (
                str(txn_id), code, Decimal(amount), row.date)
            assert line.description == (description or row.number)
            total += line.amount
        assert total == 0  # every transaction balances
    assert len(lines) == expected > 300_000
    assert all(len(page.items) == 5_000 for page in pages[:-1])
    assert len({page.cursor for page in pages}) == 1 and pages[0].cursor
    assert stats.requests < len(entity.txns) // 1_000 + 5  # pages of the service's size, a few extra reads
