"""Clear Books client benchmarks against the targets of issue 4. Run on demand, not in CI:

    .venv/bin/python tests/perf/bench_clearbooks_client.py [--size medium] [--runs 3] [--skip-pacing]
                                                           [--with-ledger] [--json out.json]

Throughput: the invoices of a ``medium`` business listed in-process (``stack.transport()``, an
ASGITransport: no sockets), the sandbox's throttle off and the client's pacing off, from the wire to
validated domain models. The in-process server runs on the same thread, so its cost is inside the
figure. Both the wall-clock rate and the rate per second of this process's CPU are printed: on a
machine busy with other work the wall clock stretches, the CPU cost does not. Target: >= 8,000/s.

Pacing: a full list of the same business (every listable entity; the ~290,000 ledger lines only with
``--with-ledger``, which adds about five minutes) over loopback HTTP against a sandbox that throttles at
5 requests a second (burst 10), with the client's own limits (``LIMITS["clearbooks"]``). Targets: under
1% of requests answered 429, and at least 90% of the throttle's ceiling (4.5 requests/s). The rate is
printed overall and after the opening burst (the sustained pace).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from providers.base import Entity, Operation
from providers.clearbooks.client import Client
from providers.http import RateLimits
from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread
from tests.sandbox.test_clearbooks_sandbox import sign_in

CEILING = 5.0
BUSINESS = "184503"  # the business whose size follows --size


def _token(sandbox, base_url: str, transport: httpx.BaseTransport | None = None) -> str:
    with httpx.Client(base_url=base_url, timeout=60, transport=transport) as http:
        return sign_in(http, sandbox.credentials())["access_token"]


class _SyncOverAsgi(httpx.BaseTransport):
    """Signs in without a server: the sign-in helper is synchronous, the sandbox an ASGI app."""

    def __init__(self, transport: httpx.AsyncBaseTransport):
        self.transport = transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def send() -> httpx.Response:
            request.stream = httpx.ByteStream(request.read())
            response = await self.transport.handle_async_request(request)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)
        return asyncio.run(send())


def throughput(size: str, runs: int) -> dict[str, float]:
    sandbox = build_sandbox("clearbooks", SandboxOptions(size=size, throttle=False))
    transport = sandbox.stack.transport()
    token = _token(sandbox, "http://127.0.0.1", _SyncOverAsgi(transport))
    results = []

    async def listing() -> None:
        async with Client("http://127.0.0.1/v1", BUSINESS, token, transport=transport,
                          limits=RateLimits(rate=None)) as client:
            for run in range(runs):
                count = 0
                started, cpu = time.perf_counter(), time.process_time()
                async for page in client.list(Entity.INVOICES):
                    count += len(page.items)
                wall, used = time.perf_counter() - started, time.process_time() - cpu
                results.append((count / wall, count / used))
                print(f"  run {run + 1}: {count:,} invoices in {wall:.2f} s: {count / wall:,.0f}/s wall, "
                      f"{count / used:,.0f}/s of CPU")

    asyncio.run(listing())
    best_wall = max(wall for wall, _cpu in results)
    best_cpu = max(cpu for _wall, cpu in results)
    return {"invoices/s (wall, best)": best_wall, "invoices/s (per CPU second, best)": best_cpu}


def pacing(size: str, with_ledger: bool) -> dict[str, float]:
    sandbox = build_sandbox("clearbooks", SandboxOptions(size=size, throttle=True))
    server = serve_in_thread(sandbox.stack.asgi)
    token = _token(sandbox, server.url)
    marks: list[float] = []

    async def listing() -> tuple[int, float]:
        async with Client(server.url + "/v1", BUSINESS, token) as client:
            async def mark(_request: httpx.Request) -> None:
                marks.append(time.perf_counter())
            client.http.client.event_hooks["request"].append(mark)
            started = time.perf_counter()
            count = 0
            for entity in Entity:
                if not client.capabilities.supports(entity, Operation.LIST):
                    continue
                if entity is Entity.LEDGER_LINES and not with_ledger:
                    continue
                before = count
                async for page in client.list(entity):
                    count += len(page.items)
                print(f"  {entity.value}: {count - before:,} records, {client.http.stats.requests} requests so far, "
                      f"{time.perf_counter() - started:.0f} s")
            return count, time.perf_counter() - started, client.http.stats

    try:
        count, elapsed, stats = asyncio.run(listing())
    finally:
        server.stop()
    rate = stats.requests / elapsed
    sustained = (len(marks) - 11) / (marks[-1] - marks[10]) if len(marks) > 20 else rate
    share = stats.throttled / stats.requests
    print(f"  {count:,} records, {stats.requests} requests in {elapsed:.1f} s: {rate:.2f} requests/s overall, "
          f"{sustained:.2f}/s after the opening burst; {stats.throttled} answered 429 ({share:.2%})")
    return {"requests": stats.requests, "requests/s": rate, "requests/s sustained": sustained,
            "share answered 429": share, "seconds": elapsed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="medium")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-pacing", action="store_true")
    parser.add_argument("--with-ledger", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    figures: dict[str, float] = {}
    checks: list[tuple[str, bool]] = []
    if not args.skip_throughput:
        print(f"throughput, in-process, {args.size} business, throttle and pacing off:")
        found = throughput(args.size, args.runs)
        figures.update(found)
        checks.append(("invoices/s >= 8,000 (per CPU second)", found["invoices/s (per CPU second, best)"] >= 8000))
        checks.append(("invoices/s >= 8,000 (wall)", found["invoices/s (wall, best)"] >= 8000))
    if not args.skip_pacing:
        print(f"pacing, loopback, {args.size} business, sandbox throttling at {CEILING:g} requests/s:")
        found = pacing(args.size, args.with_ledger)
        figures.update({f"pacing {k}": v for k, v in found.items()})
        checks.append(("429s < 1% of requests", found["share answered 429"] < 0.01))
        checks.append(("requests/s >= 90% of the ceiling", found["requests/s"] >= 0.9 * CEILING))
    for name, value in figures.items():
        print(f"{name:42} {value:>14,.2f}")
    for name, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0 if all(ok for _name, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
