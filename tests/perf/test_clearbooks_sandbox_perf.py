"""The Clear Books sandbox's targets: a medium business built in under 10 s, and a page of 200 invoices
served over loopback in 30 ms or less (median). Run with ``-s`` to see the figures."""

from __future__ import annotations

import statistics
import time

import httpx
import pytest

from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread
from tests.sandbox.test_clearbooks_sandbox import Api, sign_in


@pytest.mark.slow
def test_a_medium_sandbox_builds_quickly_and_serves_a_page_of_200_invoices_quickly():
    started, cpu = time.perf_counter(), time.process_time()
    sandbox = build_sandbox("clearbooks", SandboxOptions(size="medium", throttle=False))
    built, built_cpu = time.perf_counter() - started, time.process_time() - cpu
    server = serve_in_thread(sandbox.stack.asgi)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            api = Api(http, sign_in(http, sandbox.credentials())["access_token"], int(sandbox.companies()[2]["id"]))
            first = api.get("/v1/accounting/sales/invoices", params={"limit": 200})
            assert first.headers["x-pagination-total-count"] == "50000"
            timings = []
            for page in range(1, 251, 2):
                start = time.perf_counter()
                response = api.get("/v1/accounting/sales/invoices", params={"limit": 200, "page": page})
                timings.append(time.perf_counter() - start)
                assert response.status_code == 200 and response.content.count(b'"formattedDocumentNumber"') == 200
    finally:
        server.stop()
    median = statistics.median(timings) * 1000
    print(f"\nmedium sandbox built in {built:.2f} s ({built_cpu:.2f} s of CPU); a page of 200 invoices: "
          f"median {median:.1f} ms, slowest {max(timings) * 1000:.1f} ms over {len(timings)} pages")
    # CPU time, not wall time: on a shared machine other work stretches the wall clock, not the cost.
    assert built_cpu < 10
    assert median <= 30
