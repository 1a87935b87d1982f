"""Soak test of the sync engine (issue 6). Run on demand, not in CI (it takes several minutes):

    .venv/bin/python tests/perf/soak_sync.py [--edits 1000] [--kills 5] [--latency 2000] [--seed 1]

1. A sandbox runs in its own process (`ledgerdesk sandbox --data FILE`), so it outlives the sync process.
2. A company is pulled, then 1,000 edits are made offline in its store, across customers and invoices:
   creates (invoices of customers that are themselves new, too), updates (several to one record, updates
   of records not yet created at the service), and deletions of records the service has.
3. The sandbox starts injecting faults: 20% 5xx, 10% connections dropped after the service committed,
   10% throttled (429), up to 2 s of latency on every request.
4. `ledgerdesk sync --until-sent` runs as a separate process and is killed with SIGKILL at 5 random
   moments, restarted each time, until it has sent everything.
5. Faults off, a last sync; then the service is compared with what the edits meant: every created record
   there exactly once, every update's last value there, every deleted record gone (0 lost, 0 duplicated),
   nothing left in the outbox, and the cache equal to the service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from app.domain import Customer, Invoice  # noqa: E402
from app.store import CompanyStore, tables  # noqa: E402
from app.sync.conflicts import Conflicts  # noqa: E402
from app.sync.connections import Connection, open_provider  # noqa: E402
from providers.base import Entity  # noqa: E402
from tests.sync.compare import cache_matches, service_records  # noqa: E402

PYTHON = sys.executable


def start_sandbox(folder: Path, provider: str, size: str, seed: int) -> tuple[subprocess.Popen, dict]:
    process = subprocess.Popen(
        [PYTHON, "-m", "app", "sandbox", "--provider", provider, "--size", size, "--seed", str(seed),
         "--data", str(folder / "sandbox.sqlite"), "--json"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "LEDGERDESK_HOME": str(folder / "sandbox-home")})
    line = process.stdout.readline()
    if not line:
        raise RuntimeError("the sandbox did not start")
    return process, json.loads(line)


def set_faults(url: str, **settings: object) -> None:
    httpx.patch(f"{url}/_sandbox/faults", json=settings, timeout=10).raise_for_status()


def sync_command(connection_file: Path, company: str, store: Path, *flags: str) -> list[str]:
    return [PYTHON, "-m", "app", "sync", "--company", company, "--connection", str(connection_file),
            "--store", str(store), "--json", "-q", *flags]


async def prepare(connection: Connection, store: CompanyStore, edits: int, rng: random.Random) -> dict:
    """The offline edits, and what they mean at the service once sent."""
    async with await open_provider(connection) as provider:
        # Records that exist at the service, to be deleted offline; and invoices opened (their lines loaded)
        # before going offline, to be changed offline.
        doomed = [await provider.create(Entity.CUSTOMERS, Customer(name=f"Soak doomed {uuid.uuid4().hex[:10]}"),
                                        idempotency_key=uuid.uuid4().hex) for _ in range(edits // 20)]
        listed = [d async for page in provider.list(Entity.INVOICES) for d in page.items]
        opened = [await provider.get(Entity.INVOICES, d.remote_id) for d in rng.sample(listed, edits // 10)]
        # New documents copy a real line of this service (its item, account and VAT codes are valid there).
        template = next(line for d in opened for line in d.lines
                        if (line.item_code or line.account_code) and ":" not in line.vat_rate_key)
    from app.store.sync_support import SyncSupport  # noqa: F401  (the store file gains its sync tables)

    await store.upsert(tables.CUSTOMERS, doomed)
    await store.upsert(tables.INVOICES, opened)
    seeded = [store.get(tables.CUSTOMERS, r[0]) for r in store.reader().execute(
        "SELECT id FROM customers WHERE name NOT LIKE 'Soak%' ORDER BY id")]
    intended_phone: dict[str, str] = {}  # customer name -> last phone
    intended_reference: dict[str, str] = {}  # invoice marker (its first reference) -> last reference
    deleted: list[str] = []
    new_customers: list[Customer] = []
    new_invoices: list[tuple[int, str]] = []
    made = Counter()
    token = iter(range(1, 10 ** 9))

    def edit_customer(customer: Customer) -> None:
        value = f"P{next(token)}"
        saved = store.get(tables.CUSTOMERS, customer.local_id)
        store.save(tables.CUSTOMERS, saved.model_copy(update={"phone": value}))
        intended_phone[saved.name] = value
        made["customer updates"] += 1

    for doomed_customer in doomed:
        local = store.get_by_remote_id(tables.CUSTOMERS, doomed_customer.remote_id)
        store.delete(tables.CUSTOMERS, local.local_id)
        deleted.append(local.name)
        made["customer deletions"] += 1
    for opened_invoice in opened:
        local = store.get_by_remote_id(tables.INVOICES, opened_invoice.remote_id)
        marker = f"R{next(token)}"
        store.save(tables.INVOICES, local.model_copy(update={"reference": marker}))
        intended_reference[marker] = marker
        made["invoice updates"] += 1
    while sum(made.values()) < edits:
        roll = rng.random()
        if roll < 0.15:
            value = f"P{next(token)}"
            customer = store.save(tables.CUSTOMERS, Customer(name=f"Soak {uuid.uuid4().hex[:12]}", phone=value))
            new_customers.append(customer)
            intended_phone[customer.name] = value
            made["customer creates"] += 1
        elif roll < 0.45:
            edit_customer(rng.choice(seeded + new_customers))
        elif roll < 0.70:
            customer = rng.choice(seeded + new_customers)
            marker = f"R{next(token)}"
            invoice = store.save(tables.INVOICES, Invoice(
                customer_local_id=customer.local_id, date="2026-10-01", reference=marker,
                lines=[template.model_copy(update={"quantity": rng.randint(1, 5), "vat_amount": None})]))
            new_invoices.append((invoice.local_id, marker))
            intended_reference[marker] = marker
            made["invoice creates"] += 1
        elif new_invoices:
            local_id, marker = rng.choice(new_invoices)
            value = f"R{next(token)}"
            current = store.get(tables.INVOICES, local_id)
            store.save(tables.INVOICES, current.model_copy(update={"reference": value}))
            intended_reference[marker] = value
            made["invoice updates"] += 1
    return {"phones": intended_phone, "references": intended_reference, "deleted": deleted, "made": dict(made),
            "initial customers": len(seeded), "outbox": len(store.outbox_entries())}


def run_with_kills(command: list[str], env: dict, kills: int, rng: random.Random, log: Path) -> dict:
    killed_at: list[float] = []
    runs = 0
    started = time.monotonic()
    while True:
        runs += 1
        with log.open("a") as out:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        if len(killed_at) < kills:
            moment = rng.uniform(2, 45)
            try:
                process.wait(timeout=moment)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                killed_at.append(round(time.monotonic() - started, 1))
                continue
        else:
            process.wait(timeout=7200)
        if process.returncode in (0, 3) and len(killed_at) >= kills:
            break
        if process.returncode not in (0, 1, 3):
            raise RuntimeError(f"the sync process ended with {process.returncode}; see {log}")
    return {"runs": runs, "killed at s": killed_at, "sending s": round(time.monotonic() - started, 1)}


def verify(connection: Connection, store: CompanyStore, intended: dict) -> dict:
    customers, documents = asyncio.run(service_records_for(connection))
    names = Counter(c.name for c in customers)
    phones = {c.name: c.phone for c in customers}
    references = Counter(d.reference for d in documents)
    lost, duplicated, wrong = [], [], []
    for name, phone in intended["phones"].items():
        if names[name] == 0:
            lost.append(name)
        elif names[name] > 1:
            duplicated.append(name)
        elif phones[name] != phone:
            wrong.append((name, phones[name], phone))
    for reference in intended["references"].values():
        if references[reference] == 0:
            lost.append(reference)
        elif references[reference] > 1:
            duplicated.append(reference)
    still_there = [name for name in intended["deleted"] if names[name]]
    duplicated += [name for name, n in names.items() if n > 1 and name not in duplicated]
    problems = cache_matches(store, customers, documents)
    return {"lost": len(lost), "duplicated": len(duplicated), "wrong value": len(wrong),
            "deleted but still there": len(still_there), "cache differs": len(problems),
            "examples": (lost + duplicated + wrong + still_there + problems)[:10]}


async def service_records_for(connection: Connection):
    class Harness:
        def client(self):
            return _Client(connection)
    return await service_records(Harness())


class _Client:
    def __init__(self, connection: Connection):
        self.connection = connection

    async def __aenter__(self):
        self.provider = await open_provider(self.connection)
        return self.provider

    async def __aexit__(self, *exc):
        await self.provider.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--provider", default="accountingsuite")
    parser.add_argument("--size", default="small")
    parser.add_argument("--edits", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--latency", type=int, default=2000, help="ms, the most any request waits")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="soak-sync-"))
    sandbox, description = start_sandbox(folder, args.provider, args.size, args.seed)
    figures: dict[str, object] = {"folder": str(folder)}
    try:
        company = description["companies"][-1]["id"]
        connection = Connection(args.provider, description["url"], company,
                                {k: str(v) for k, v in description["credentials"].items()})
        connection_file = folder / "connection.json"
        connection.save(connection_file)
        store_path = folder / "company.sqlite"
        env = {**os.environ, "LEDGERDESK_HOME": str(folder / "home")}
        command = sync_command(connection_file, company, store_path, "--until-sent", "--concurrency", "16")
        subprocess.run(sync_command(connection_file, company, store_path, "--pull-only"), cwd=ROOT, env=env,
                       check=True, capture_output=True)
        with CompanyStore.open(store_path) as store:
            intended = asyncio.run(prepare(connection, store, args.edits, rng))
        figures["edits"] = intended["made"]
        figures["outbox entries"] = intended["outbox"]
        set_faults(description["url"], error_rate=0.2, drop_after_rate=0.1, throttle_rate=0.1,
                   latency_ms=args.latency, seed=args.seed)
        figures.update(run_with_kills(command, env, args.kills, rng, folder / "sync.log"))
        log = httpx.get(f"{description['url']}/_sandbox/log", timeout=60).json()
        statuses = Counter(str(entry["status"]) for entry in log)
        figures["requests"] = len(log)
        figures["answers"] = dict(statuses.most_common())
        set_faults(description["url"], error_rate=0.0, drop_after_rate=0.0, throttle_rate=0.0, latency_ms=0)
        final = subprocess.run(sync_command(connection_file, company, store_path), cwd=ROOT, env=env,
                               capture_output=True, text=True)
        figures["after the last sync"] = json.loads(final.stdout.strip().splitlines()[-1])["outbox"]
        # Nobody else edited the company: any conflict is one the engine could not rule out (a create whose
        # answer was lost, found changed). Keeping mine must still bring every edit to the service.
        with CompanyStore.open(store_path) as store:
            conflicts = Conflicts(store)
            for case in conflicts.cases():
                asyncio.run(conflicts.keep_mine(case.entry.id))
        if figures["after the last sync"]["conflict"]:
            subprocess.run(sync_command(connection_file, company, store_path, "--until-sent"), cwd=ROOT, env=env,
                           capture_output=True, text=True)
        with CompanyStore.open(store_path) as store:
            figures["outbox left"] = len(store.outbox_entries())
            figures.update(verify(connection, store, intended))
    finally:
        sandbox.send_signal(signal.SIGTERM)
        sandbox.wait(timeout=30)
    print(json.dumps(figures, indent=2, default=str))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    if not args.keep and figures.get("lost") == 0 and figures.get("duplicated") == 0:
        import shutil
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
