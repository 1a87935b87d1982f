"""Sandbox figures for issue 3, run on demand: how long each provider's sandbox takes to build its
demo companies at size "medium" (the largest is ~5,000 customers and 50,000 invoices), and how fast
it serves invoices over loopback: AccBooks in pages of 100 (its maximum), AccountingSuite as its one
whole list (it has no paging). Clear Books and AccountsIQ: tests/perf/test_*_sandbox_perf.py.

    .venv/bin/python tests/perf/bench_sandboxes.py [--provider NAME] [--pages 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import PROVIDERS, build_sandbox
from providers.sandbox.server import serve_in_thread


def page_requests(provider: str, sandbox, url: str):
    """Yield callables that each fetch one page of 200 invoices of the medium company, as its API asks."""
    creds = sandbox.credentials()
    company = sandbox.companies()[-1]["id"]
    if provider == "accountingsuite":
        # No paging in this API: the whole list comes at once; time one whole list instead.
        key = creds[f"apisecretkey.{company}"]
        yield lambda c: c.get(f"{url}/invoices", headers={"apisecretkey": key})
        return
    if provider == "accbooks":
        key = creds.get(f"api_key:{company}") or creds["api_key"]
        for page in range(1, 41):
            yield lambda c, p=page: c.get(f"{url}/v1/invoices", params={"page": p, "per_page": 100},
                                          headers={"Authorization": f"Bearer {key}"})
        return
    # Clear Books and AccountsIQ need a sign-in first: their timing tests do the same measurement.
    raise SystemExit(f"run: .venv/bin/python -m pytest -s tests/perf/test_{provider}_sandbox_perf.py")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--provider", choices=PROVIDERS, action="append", help="accountingsuite or accbooks")
    args = parser.parse_args()
    for provider in args.provider or ["accountingsuite", "accbooks"]:
        started, cpu = time.perf_counter(), time.process_time()
        sandbox = build_sandbox(provider, SandboxOptions(size="medium", throttle=False))
        built, built_cpu = time.perf_counter() - started, time.process_time() - cpu
        server = serve_in_thread(sandbox.stack.asgi)
        samples = []
        with httpx.Client(timeout=60) as client:
            for fetch in page_requests(provider, sandbox, server.url):
                began = time.perf_counter()
                answer = fetch(client)
                samples.append((time.perf_counter() - began) * 1000)
                answer.raise_for_status()
        server.stop()
        print(f"{provider:16} medium built in {built:5.2f} s ({built_cpu:.2f} s CPU); page median "
              f"{statistics.median(samples):6.2f} ms over {len(samples)} requests")


if __name__ == "__main__":
    main()
