"""Store benchmarks against the targets of issue 2. Run on demand, not in CI:

    .venv/bin/python tests/perf/bench_store.py [--invoices 1000000] [--repeat 5] [--json out.json]

Ingest: invoices stream from the demo generator in pages of 2,000 (as a pull delivers them); the
clock runs only inside the store's calls (row building, SQLite, search index, and the index build
at the end), not while the generator makes the next page. Queries: each figure is the median of
``--repeat`` runs on a cold reader connection (a fresh connection per query shape).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.domain.generate import DemoCompany
from app.store import INVOICES, CompanyStore, Filters, Sort, tables
from app.store.database import connect
from app.store.queries import count, page

TARGETS = {
    "ingest invoices/s": (">=", 30_000),
    "first page, any sort (worst) ms": ("<=", 20),
    "next page (worst) ms": ("<=", 5),
    "text search first page ms": ("<=", 50),
    "count for a filter (worst) ms": ("<=", 100),
    "peak RSS during ingest MB": ("<=", 300),
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ingest(store: CompanyStore, company: DemoCompany, page_size: int = 2000) -> dict[str, float]:
    store.upsert_now(tables.CUSTOMERS, company.customers())
    store.begin_bulk_load()
    invoices = company.invoices()
    timed = 0.0
    total = 0
    while batch := list(itertools.islice(invoices, page_size)):
        started = time.perf_counter()
        store.upsert_now(tables.INVOICES, batch)
        timed += time.perf_counter() - started
        total += len(batch)
    started = time.perf_counter()
    store.end_bulk_load()
    finishing = time.perf_counter() - started
    return {"invoices": total, "ingest s (pages)": round(timed, 2), "index build s": round(finishing, 2),
            "ingest invoices/s": round(total / (timed + finishing))}


def timed_ms(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 2)


def queries(path: Path, repeat: int) -> dict[str, float]:
    figures: dict[str, float] = {}
    first, following = {}, {}
    for key in INVOICES.sorts:
        for descending in (False, True):
            sort = Sort(key, descending)

            def first_page(sort=sort):
                conn = connect(path, read_only=True)
                try:
                    return page(conn, INVOICES, Filters(), sort, limit=100)
                finally:
                    conn.close()

            first[f"{key}{' desc' if descending else ''}"] = timed_ms(first_page, repeat)
            conn = connect(path, read_only=True)
            cursor = page(conn, INVOICES, Filters(), sort, limit=100)
            for _ in range(50):  # somewhere in the middle of a long scroll
                cursor = page(conn, INVOICES, Filters(), sort, after=cursor.after, limit=100)
            following[f"{key}{' desc' if descending else ''}"] = timed_ms(
                lambda conn=conn, sort=sort, after=cursor.after: page(conn, INVOICES, Filters(), sort, after, 100),
                repeat)
            conn.close()
    figures["first page, any sort (worst) ms"] = max(first.values())
    figures["first page, median over sorts ms"] = round(statistics.median(first.values()), 2)
    figures["next page (worst) ms"] = max(following.values())

    conn = connect(path, read_only=True)
    as_of = dt.date(2026, 11, 1)
    searches = {"customer name": "harbour joinery", "invoice number": "INV-004242", "line text": "oak table",
                "reference": "PO 4242"}
    search_times = {label: timed_ms(lambda text=text: page(conn, INVOICES, Filters(text=text), Sort("date", True),
                                                           limit=100), repeat)
                    for label, text in searches.items()}
    figures["text search first page ms"] = max(search_times.values())
    # The common words again in every order: where the sort follows the text (oak tables have the
    # largest totals), the first rows in that order hardly match.
    common = {}
    for key in INVOICES.sorts:
        for descending in (False, True):
            sort = Sort(key, descending)
            common[f"{key}{' desc' if descending else ''}"] = timed_ms(
                lambda sort=sort: page(conn, INVOICES, Filters(text="oak table"), sort, limit=100), repeat)
    figures["search 'oak table', median over sorts ms"] = round(statistics.median(common.values()), 2)
    figures["search 'oak table', worst sort ms"] = max(common.values())
    filters = {
        "none": Filters(), "status paid": Filters(status="paid"), "status draft": Filters(status="draft"),
        "last quarter": Filters(date_from=as_of - dt.timedelta(days=91), date_to=as_of),
        "overdue": Filters(overdue_on=as_of), "customer": Filters(customer_id=42),
        "search 'oak'": Filters(text="oak"),
        "paid in last quarter": Filters(status="paid", date_from=as_of - dt.timedelta(days=91)),
    }
    count_times = {label: timed_ms(lambda f=f: count(conn, INVOICES, f), repeat) for label, f in filters.items()}
    figures["count for a filter (worst) ms"] = max(count_times.values())
    filtered_first = {label: timed_ms(lambda f=f: page(conn, INVOICES, f, Sort("date", True), limit=100), repeat)
                      for label, f in filters.items()}
    figures["filtered first page (worst) ms"] = max(filtered_first.values())
    conn.close()
    figures["_detail"] = {"first page": first, "next page": following, "search": search_times, "search 'oak table' by sort": common,
                          "count": count_times, "filtered first page": filtered_first}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, help="keep the company file here (to reuse with --reuse)")
    parser.add_argument("--reuse", type=Path, help="skip the ingest and query this company file")
    args = parser.parse_args()

    results: dict[str, object] = {}
    # A million invoices make a 1 GB file: unless it is to be kept, it goes when the run ends.
    scratch = None if args.reuse or args.keep else Path(tempfile.mkdtemp(prefix="bench_store-"))
    path = args.reuse or args.keep or scratch / "bench.sqlite"
    try:
        if not args.reuse:
            company = DemoCompany("Benchmark Wholesale Ltd", args.invoices, seed=7)
            company.counts = type(company.counts)(args.customers, args.invoices)
            company._names = company._customer_names()
            with CompanyStore.create(path) as store:
                results.update(ingest(store, company))
            results["peak RSS during ingest MB"] = round(peak_rss_mb())
            results["file size MB"] = round(path.stat().st_size / 1e6)
        results.update(queries(path, args.repeat))
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)

    print(f"{'figure':40} {'measured':>12} {'target':>10}")
    for name, value in results.items():
        if name.startswith("_"):
            continue
        target = TARGETS.get(name)
        verdict = ""
        if target:
            ok = value >= target[1] if target[0] == ">=" else value <= target[1]
            verdict = f"{target[0]} {target[1]:>7}  {'ok' if ok else 'MISSED'}"
        print(f"{name:40} {value:>12} {verdict}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
