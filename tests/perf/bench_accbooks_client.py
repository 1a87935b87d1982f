"""AccBooks client benchmarks (issue 4). Run on demand, not in CI:

    .venv/bin/python tests/perf/bench_accbooks_client.py [--size medium] [--repeat 3] [--pacing]

Throughput: in-process (the sandbox's ASGI app through httpx, no throttle, no pacing), invoices a
second from the wire to validated ``SalesDocument``s, for the medium demo company (50,000 invoices),
server included; ledger lines likewise. The best of ``--repeat`` runs.

``--pacing``: a full list of every entity of the company at the Starter plan (60 requests a minute),
on a virtual clock shared by the sandbox's rate limiter and the client's pacer (so an hour of pacing
runs in seconds): requests sent, 429s met (the target is none) and the pace achieved against the plan's
ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from providers.accbooks.client import Client
from providers.base import Entity
from providers.http import limits_for
from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import build_sandbox

UNPACED = limits_for("accbooks", rate=None, headers=False)


async def _count(client: Client, entity: Entity) -> tuple[int, float]:
    started = time.perf_counter()
    count = 0
    async for page in client.list(entity):
        count += len(page.items)
    return count, time.perf_counter() - started


def throughput(sandbox, key: str, repeat: int) -> None:
    async def run(entity: Entity) -> tuple[int, float]:
        async with Client("http://127.0.0.1/v1/", key, transport=sandbox.stack.transport(), limits=UNPACED) as c:
            return await _count(c, entity)

    for entity in (Entity.INVOICES, Entity.LEDGER_LINES):
        best = min((asyncio.run(run(entity)) for _ in range(repeat)), key=lambda r: r[1])
        print(f"{entity.value}: {best[0]:,} in {best[1]:.2f} s = {best[0] / best[1]:,.0f}/s (in-process, best of "
              f"{repeat})")


class VirtualClock:
    """Time that moves only when the client sleeps; the sandbox's limiter reads the same clock."""

    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def pacing(size: str | int, seed: int) -> None:
    # The medium company is on Pro: held to Starter's limits here.
    starter = {"pro": {"per_minute": 60, "per_day": 10_000}}
    sandbox = build_sandbox("accbooks", SandboxOptions(size=size, seed=seed, throttle=True,
                                                       extra={"rate_limits": starter}))
    clock = VirtualClock()
    sandbox.clock = clock.time
    cid = sandbox.companies()[2]["id"]
    key = sandbox.credentials()[f"api_key:{cid}"]

    async def run() -> dict[str, int]:
        counts = {}
        async with Client("http://127.0.0.1/v1/", key, transport=sandbox.stack.transport(), clock=clock.time,
                          wall=clock.time, sleep=clock.sleep) as client:
            for entity in (Entity.CUSTOMERS, Entity.INVOICES, Entity.BANK_ACCOUNTS, Entity.LEDGER_LINES,
                           Entity.ACCOUNTS):
                counts[entity.value] = (await _count(client, entity))[0]
        return counts

    started, wall = clock.now, time.perf_counter()
    counts = asyncio.run(run())
    minutes = (clock.now - started) / 60
    statuses = sandbox.stack.requests.statuses()
    throttled = statuses.count(429)
    print(f"pacing at 60/min: {len(statuses):,} requests in {minutes:,.1f} virtual minutes "
          f"({len(statuses) / minutes:.1f}/min = {len(statuses) / minutes / 60:.0%} of the ceiling), "
          f"429s: {throttled}; {counts}; {time.perf_counter() - wall:.1f} s of real time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="medium")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pacing", action="store_true", help="also the Starter-plan full list")
    args = parser.parse_args()
    size = int(args.size) if str(args.size).isdigit() else args.size
    sandbox = build_sandbox("accbooks", SandboxOptions(size=size, seed=args.seed, throttle=False))
    cid = sandbox.companies()[2]["id"]
    throughput(sandbox, sandbox.credentials()[f"api_key:{cid}"], args.repeat)
    if args.pacing:
        pacing(size, args.seed)


if __name__ == "__main__":
    main()
