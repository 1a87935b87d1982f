"""Window benchmarks against the targets of issue 7. Run on demand, not in CI:

    .venv/bin/python tests/perf/bench_ui.py [--invoices 1000000] [--reuse FILE | --keep FILE]
                                            [--repeat 5] [--json out.json]

A company of ``--invoices`` invoices is ingested as tests/perf/bench_store.py does (or ``--reuse`` a file it
kept with ``--keep``); a second company of ``--other`` invoices is generated for switching and for the pull.

- start to first paint: a fresh ``python`` process per run, timed from just before it is spawned to the
  first paint of the invoices table with rows in it (the cached company, the default view); median of
  ``--repeat`` runs.
- in one more fresh process (so its RSS is the window's own): sort by every sortable column both ways and
  search for several kinds of text, each timed from the request (what a header click or the end of the
  search box's debounce does) to the repaint with the new rows; switch companies both ways; drag the
  scroll bar through the list and to its end, then read the peak RSS; and, while a worker thread pulls
  ``--pull`` invoices into the open company page by page (as sync will), a 5 ms timer measures how late
  the main thread runs it while the user sorts and searches.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

TARGETS = {
    "start to first paint, median s": ("<=", 1.0),
    "switch company to first paint (worst) ms": ("<=", 150),
    "sort by a column (worst) ms": ("<=", 150),
    "search (worst) ms": ("<=", 100),
    "main-thread stall during a pull (worst) ms": ("<=", 50),
    "peak RSS after scrolling to the end MB": ("<=", 350),
}
SEARCHES = ("Harbour", "INV-00042", "oak", "PO 4711", "Siobhán", "zzz-nothing")


def prepare(args: argparse.Namespace, folder: Path) -> tuple[Path, Path]:
    from app.domain.generate import DemoCompany
    from app.store import CompanyStore, tables
    from tests.perf.bench_store import ingest

    if args.reuse:
        big = args.reuse
    else:
        big = args.keep or folder / "big.sqlite"
        company = DemoCompany("Benchmark Wholesale Ltd", args.invoices, seed=7)
        company.counts = type(company.counts)(args.customers, args.invoices)
        company._names = company._customer_names()
        started = time.perf_counter()
        with CompanyStore.create(big) as store:
            ingest(store, company)
        print(f"ingested {args.invoices:,} invoices in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    other = folder / "other.sqlite"
    company = DemoCompany("Millbank Surveyors LLP", args.other, seed=11)
    with CompanyStore.create(other) as store:
        store.upsert_now(tables.CUSTOMERS, company.customers())
        store.upsert_now(tables.INVOICES, company.invoices())
        store.end_bulk_load()
    return big, other


def spawn(mode: str, env: dict[str, str], *extra: str) -> tuple[float, dict]:
    started = time.time()
    done = subprocess.run([sys.executable, __file__, "--child", mode, *extra], env=env, capture_output=True,
                          text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"the {mode} child failed:\n{done.stderr}")
    return started, json.loads(done.stdout.strip().splitlines()[-1])


# --- children ------------------------------------------------------------------------------------


def _window(big: Path, other: Path | None = None):
    import asyncio

    import qasync
    from PySide6.QtCore import QLocale

    from app.store import CompanyStore
    from ui.app import create_window, make_application
    from ui.context import CompanyContext, SingleCompany

    QLocale.setDefault(QLocale("en_GB"))
    app = make_application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    contexts = [CompanyContext(key="bench/big", name="Benchmark Wholesale Ltd", provider="clearbooks",
                               store=CompanyStore.open(big))]
    if other is not None:
        contexts.append(CompanyContext(key="bench/other", name="Millbank Surveyors LLP", provider="accbooks",
                                       store=CompanyStore.open(other)))
    window = create_window(contexts[0], SingleCompany(*contexts))
    window.resize(1280, 800)
    if os.environ.get("BENCH_GC"):  # experiments: "freeze", "threshold:a,b,c", "off", "switch:seconds"
        import gc
        for part in os.environ["BENCH_GC"].split(";"):
            if part == "freeze":
                gc.freeze()
            elif part == "off":
                gc.disable()
            elif part.startswith("threshold:"):
                gc.set_threshold(*map(int, part.split(":")[1].split(",")))
            elif part.startswith("switch:"):
                sys.setswitchinterval(float(part.split(":")[1]))
    return app, loop, window, contexts


def child_first_paint(big: Path) -> None:
    import asyncio

    from PySide6.QtCore import QEvent, QObject

    _app, loop, window, contexts = _window(big)
    table = window.invoices.table
    painted = asyncio.Event()
    seen: dict[str, float] = {}

    class FirstPaint(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint and "paint" not in seen \
                    and window.invoices.model.row_at(0) is not None:
                table.viewportEvent(event)  # paint now, inside the filter, so the time is its end
                seen["paint"] = time.time()
                painted.set()
                return True
            return False

    watcher = FirstPaint()
    table.viewport().installEventFilter(watcher)
    window.show()
    loop.run_until_complete(painted.wait())
    print(json.dumps({"first_paint": seen["paint"], "rows": window.invoices.model.total,
                      "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    _close(loop, window, contexts)


def _close(loop, window, contexts) -> None:
    import asyncio

    window._closing_confirmed = True
    window.close()
    from ui.tasks import reads_finished

    loop.run_until_complete(asyncio.sleep(0.05))
    reads_finished()  # cancelled reads finish their SQL step on the reader threads: not under a closed store
    loop.close()  # joins the loop's worker threads
    for context in contexts:
        context.store.close()


def child_session(big: Path, other: Path, pull: int, repeat: int) -> None:
    import asyncio

    from PySide6.QtCore import QElapsedTimer, QEvent, QObject, Qt, QTimer

    from app.domain.generate import DemoCompany
    from app.store import tables

    _app, loop, window, contexts = _window(big, other)
    view = window.invoices
    model = view.model
    table = view.table
    results: dict[str, object] = {}

    class Lag:
        """How late a 5 ms timer fires: the main thread's stalls."""

        def __init__(self):
            self.clock = QElapsedTimer()
            self.timer = QTimer(interval=5)
            self.timer.timeout.connect(self.tick)
            self.worst = 0.0

        def start(self):
            self.worst = 0.0
            self.clock.start()
            self.timer.start()

        def tick(self):
            late = self.clock.restart() - 5
            self.worst = max(self.worst, late)

        def stop(self) -> float:
            self.timer.stop()
            return float(self.worst)

    lag = Lag()

    async def until(condition, timeout: float = 30.0) -> None:
        deadline = time.perf_counter() + timeout
        while not condition():
            if time.perf_counter() > deadline:
                raise TimeoutError("the window did not get there")
            await asyncio.sleep(0.0005)

    class Painted(QObject):
        """The end of the first paint of the table after ``arm``: the paint runs inside the filter, timed."""

        def __init__(self):
            super().__init__()
            self.armed = False
            self.done = asyncio.Event()
            self.at = 0.0

        def arm(self):
            self.armed = True
            self.done.clear()
            table.viewport().update()  # a paint is due now even if Qt had already drawn these rows

        def eventFilter(self, watched, event):
            if self.armed and event.type() == QEvent.Type.Paint:
                table.viewportEvent(event)  # what the scroll area does with its viewport's paint
                self.at = time.perf_counter()
                self.armed = False
                self.done.set()
                return True
            return False

    painted = Painted()
    table.viewport().installEventFilter(painted)

    async def shown(action) -> float:
        """From the action to the end of the paint that shows its first rows, in ms."""
        started = time.perf_counter()
        loaded = asyncio.Event()

        def arrived():
            painted.arm()  # the reset has just scheduled the repaint that shows the new rows
            loaded.set()

        model.loaded.connect(arrived)
        action()
        await loaded.wait()
        await painted.done.wait()
        model.loaded.disconnect(arrived)
        return (painted.at - started) * 1000

    async def scenario() -> None:
        window.show()
        await until(lambda: model.total > 0 and not model.busy)

        lag.start()
        sorts: dict[str, list[float]] = {}
        number = next(n for n, c in enumerate(model.columns) if c.key == "number")
        date = next(n for n, c in enumerate(model.columns) if c.key == "date")
        for column, spec in enumerate(model.columns):
            if spec.sort is None:
                continue
            for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
                for _ in range(repeat):
                    model.sort(date if column == number else number, order)  # another order first
                    await until(lambda: not model.busy)
                    sorts.setdefault(f"{spec.key} {order.name[:-5].lower()}", []).append(
                        await shown(lambda column=column, order=order: model.sort(column, order)))
        results["sort by a column (worst) ms"] = round(max(max(v) for v in sorts.values()), 1)
        results["sort by a column (median) ms"] = round(statistics.median(
            statistics.median(v) for v in sorts.values()), 1)
        results["_sorts"] = {k: round(statistics.median(v), 1) for k, v in sorts.items()}

        searches: dict[str, list[float]] = {}
        for text in SEARCHES:
            for _ in range(repeat):
                view.search.setText("")
                view.apply_filters()
                await until(lambda: not model.busy)
                view.search.setText(text)
                searches.setdefault(text, []).append(await shown(view.apply_filters))
        view.search.setText("")
        view.apply_filters()
        await until(lambda: not model.busy)
        results["search (worst) ms"] = round(max(max(v) for v in searches.values()), 1)
        results["_searches"] = {k: round(statistics.median(v), 1) for k, v in searches.items()}
        results["search box debounce ms"] = 150
        results["main-thread stall during sorts and searches ms"] = lag.stop()

        # Scrolling: drag the bar through the list, then to the end.
        model.sort(next(n for n, c in enumerate(model.columns) if c.key == "date"), Qt.SortOrder.DescendingOrder)
        await until(lambda: not model.busy)
        bar = table.verticalScrollBar()
        drags = []
        for step in range(1, 41):
            started = time.perf_counter()
            bar.setValue(bar.maximum() * step // 41)
            top = table.rowAt(0)
            await until(lambda top=top: model.row_at(max(top, 0)) is not None and not model.busy)
            painted.arm()
            await painted.done.wait()
            drags.append((painted.at - started) * 1000)
        started = time.perf_counter()
        table.scrollToBottom()
        await until(lambda: model.row_at(model.total - 1) is not None and not model.busy)
        painted.arm()
        await painted.done.wait()
        results["scroll to the end ms"] = round((painted.at - started) * 1000, 1)
        results["jump the scroll bar (worst) ms"] = round(max(drags), 1)
        results["rows cached after scrolling"] = model.cached_rows()
        results["peak RSS after scrolling to the end MB"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

        # Switching companies, both ways.
        switches = []
        for _ in range(repeat):
            for key in ("bench/other", "bench/big"):
                switched = asyncio.Event()

                def arrived(_context, switched=switched):
                    switched.set()

                window.companySwitched.connect(arrived)
                switches.append(await shown(lambda key=key: window.switch_to(key)))
                await switched.wait()
                window.companySwitched.disconnect(arrived)
                await until(lambda: not model.busy)
        results["switch company to first paint (worst) ms"] = round(max(switches), 1)
        results["switch company to first paint (median) ms"] = round(statistics.median(switches), 1)

        # A pull into the open company while the user works.
        window.switch_to("bench/other")
        await until(lambda: window.context.key == "bench/other" and model.total > 0 and not model.busy)
        store = window.context.store
        company = DemoCompany("Millbank Surveyors LLP", pull, seed=12, id_offset=50_000_000)
        pulled = {"pages": 0, "done": False}

        def pulling() -> None:
            invoices = company.invoices()
            while batch := list(itertools.islice(invoices, 2000)):
                store.upsert_now(tables.INVOICES, batch)
                pulled["pages"] += 1
            pulled["done"] = True

        lag.start()
        worker = threading.Thread(target=pulling, name="bench-pull")
        started = time.perf_counter()
        worker.start()
        during = []
        while not pulled["done"]:
            for column in (1, 3, 8):
                during.append(await shown(lambda column=column: model.sort(column, Qt.SortOrder.AscendingOrder)))
            view.search.setText("oak")
            during.append(await shown(view.apply_filters))
            view.search.setText("")
            during.append(await shown(view.apply_filters))
            bar.setValue(bar.maximum() // 3)
            await asyncio.sleep(0.05)
        worker.join()
        results["main-thread stall during a pull (worst) ms"] = lag.stop()
        results["pull: invoices, s"] = [pull, round(time.perf_counter() - started, 1)]
        results["sort/search during the pull (worst) ms"] = round(max(during), 1)
        results["sort/search during the pull (median) ms"] = round(statistics.median(during), 1)

    loop.run_until_complete(scenario())
    print(json.dumps(results))
    _close(loop, window, contexts)


# --- the parent ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--other", type=int, default=100_000, help="invoices of the company switched to")
    parser.add_argument("--pull", type=int, default=100_000, help="invoices pulled while the user works")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, help="keep the big company file here (to reuse with --reuse)")
    parser.add_argument("--reuse", type=Path, help="skip the ingest and use this company file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--big", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--second", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child == "first-paint":
        child_first_paint(args.big)
        return
    if args.child == "session":
        child_session(args.big, args.second, args.pull, args.repeat)
        return

    folder = Path(tempfile.mkdtemp(prefix="ledgerdesk-bench-ui-"))
    big, other = prepare(args, folder)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LEDGERDESK_HOME": str(folder / "home"),
           "PYTHONDONTWRITEBYTECODE": "1"}
    results: dict[str, object] = {"invoices": args.invoices}
    spawn("first-paint", env, "--big", str(big))  # a first run warms the OS file cache: "cached company"
    paints, sizes = [], []
    for _ in range(args.repeat):
        started, answer = spawn("first-paint", env, "--big", str(big))
        paints.append(answer["first_paint"] - started)
        sizes.append(answer["rss"])
    results["start to first paint, median s"] = round(statistics.median(paints), 3)
    results["start to first paint, worst s"] = round(max(paints), 3)
    results["peak RSS at first paint MB"] = round(max(sizes))
    _started, session = spawn("session", env, "--big", str(big), "--second", str(other), "--pull", str(args.pull),
                              "--repeat", str(args.repeat))
    results.update(session)

    print(f"{'figure':50} {'measured':>12} {'target':>10}")
    for name, value in results.items():
        if name.startswith("_"):
            continue
        target = TARGETS.get(name)
        verdict = ""
        if target:
            ok = value >= target[1] if target[0] == ">=" else value <= target[1]
            verdict = f"{target[0]} {target[1]:>7}  {'ok' if ok else 'MISSED'}"
        print(f"{name:50} {value!s:>12} {verdict}")
    for detail in ("_sorts", "_searches"):
        print(f"\n{detail[1:]} (median ms): " + ", ".join(f"{k}: {v}" for k, v in results[detail].items()))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
