"""The AccountsIQ sandbox's targets: a medium wholesaler built in well under 10 s, and a GetInvoicesBy
page of 200 invoices answered over loopback in 30 ms or less (median). Run with ``-s`` to see the figures."""

from __future__ import annotations

import statistics
import time

import pytest

from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread
from tests.sandbox.test_accountsiq_sandbox import Aiq


@pytest.mark.slow
def test_a_medium_sandbox_builds_quickly_and_serves_a_page_of_200_invoices_quickly():
    started, cpu = time.perf_counter(), time.process_time()
    sandbox = build_sandbox("accountsiq", SandboxOptions(size="medium", throttle=False))
    built, built_cpu = time.perf_counter() - started, time.process_time() - cpu
    server = serve_in_thread(sandbox.stack.asgi)
    try:
        aiq = Aiq(server.url, sandbox.credentials())
        entity = sandbox.companies()[2]["id"]
        last = aiq.ok("GetInvoicesBy", "<query><Skip>49400</Skip><Limit>200</Limit></query>", entity=entity)
        assert 0 < len(last.items("Invoice")) <= 200  # 50,000 invoices less the generator's voided drafts
        timings, costs = [], []
        for page in range(0, 245, 2):
            body = f"<query><Skip>{page * 200}</Skip><Limit>200</Limit></query>"
            start, cpu = time.perf_counter(), time.process_time()
            response = aiq.post("GetInvoicesBy", body, entity=entity)
            timings.append(time.perf_counter() - start)
            costs.append(time.process_time() - cpu)
            assert response.status_code == 200 and response.content.count(b"<Invoice>") == 200
    finally:
        server.stop()
    median, cost = statistics.median(timings) * 1000, statistics.median(costs) * 1000
    print(f"\nmedium sandbox built in {built:.2f} s ({built_cpu:.2f} s of CPU); a GetInvoicesBy page of 200: "
          f"median {median:.1f} ms ({cost:.1f} ms of CPU, server and client), slowest {max(timings) * 1000:.1f} ms "
          f"over {len(timings)} pages, {len(response.content) // 1024} KiB each")
    # CPU time, not wall time: on a shared machine other work stretches the wall clock, not the cost. The
    # client and the server share this process, so a request's CPU time is the whole round trip's cost.
    assert built_cpu < 10
    assert cost <= 30
