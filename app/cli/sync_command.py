"""`ledgerdesk sync`: sync one company headless, for scripts, benchmarks and the soak test.

`--demo` starts a provider's sandbox on loopback and syncs one of its demo companies. `--company ID
--connection FILE` syncs a company of a running sandbox described by a connection file (see
``app.sync.connections``; real services are signed in to from the app, whose keyring holds their
secrets). Progress goes to stderr; the result (with `--json`, one JSON object) to stdout.

Exit codes: 0 done (nothing left to send), 1 stopped early (offline, cancelled, an error), 3 done but
some edits are conflicts or were refused (they wait for the user).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from app.cli.logging_setup import setup_logging
from app.store import CompanyStore
from app.store.paths import company_file
from app.sync.connections import Connection, open_provider, sandbox_connection
from app.sync.engine import SyncEngine
from app.sync.events import Progress, SyncResult
from providers.base import Entity
from providers.sandbox.registry import PROVIDERS


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sync", help="sync one company headless (push its outbox, pull the service's changes)",
        description="Sync one company without a window: push the edits waiting in its outbox, then pull what "
                    "changed at the service. Prints progress on stderr and the result on stdout.")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--company", metavar="ID", help="the company to sync (with --connection)")
    # Its own dest: the top-level --demo (the window) must not see it.
    which.add_argument("--demo", dest="sync_demo", action="store_true",
                       help="start a sandbox on loopback and sync a demo company")
    parser.add_argument("--connection", type=Path, metavar="FILE",
                        help="a sandbox connection file: provider, url, company, credentials (JSON)")
    parser.add_argument("--provider", choices=PROVIDERS, default="accountingsuite",
                        help="with --demo: the sandbox to start (default: accountingsuite)")
    parser.add_argument("--size", default="small", help="with --demo: the demo data's size (default: small)")
    parser.add_argument("--store", type=Path, metavar="FILE",
                        help="the company file (default: the company's file under LEDGERDESK_HOME or the user's "
                             "data folder; a temporary one with --demo)")
    parser.add_argument("--entities", metavar="LIST",
                        help=f"comma-separated lists to pull (default: all the provider has): "
                             f"{','.join(e.value for e in Entity)}")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--push-only", action="store_true", help="only send the outbox")
    mode.add_argument("--pull-only", action="store_true", help="only pull")
    parser.add_argument("--full", action="store_true", help="re-list everything even where a change feed exists")
    parser.add_argument("--until-sent", action="store_true",
                        help="run again (backing off while offline) until nothing more can be sent")
    parser.add_argument("--concurrency", type=int, default=8, help="records pushed side by side (default: 8)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log more, and show it on stderr")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    setup_logging(verbose=getattr(args, "verbose", False))
    if args.company and args.connection is None:
        print("--company needs --connection FILE until the app's sign-in keeps connections (issue 5).",
              file=sys.stderr)
        return 2
    try:
        return asyncio.run(_main(args))
    except KeyboardInterrupt:
        return 1


async def _main(args: argparse.Namespace) -> int:
    server = None
    temporary = None
    if args.sync_demo:
        from app.cli.sandboxes import build
        from providers.sandbox.base import SandboxOptions
        from providers.sandbox.server import serve_in_thread

        sandbox = build(args.provider, SandboxOptions(size=args.size))
        server = serve_in_thread(sandbox.stack.asgi)
        # The last demo company is the one --size describes.
        connection = sandbox_connection(args.provider, sandbox, server.url, sandbox.companies()[-1]["id"])
        if args.store is None:
            temporary = tempfile.TemporaryDirectory(prefix="ledgerdesk-sync-")
            args.store = Path(temporary.name) / "demo.sqlite"
    else:
        connection = Connection.load(args.connection).with_company(args.company)
    path = args.store or company_file(connection.provider, "sandbox", connection.company)
    try:
        store = CompanyStore.open(path) if path.exists() else CompanyStore.create(path)
        try:
            return await _sync(args, connection, store)
        finally:
            store.close()
    finally:
        if server is not None:
            server.stop()
        if temporary is not None:
            temporary.cleanup()


async def _sync(args: argparse.Namespace, connection: Connection, store: CompanyStore) -> int:
    entities = None if not args.entities else [Entity(name.strip()) for name in args.entities.split(",")]
    provider = await open_provider(connection)
    try:
        engine = SyncEngine(store, provider, company=connection.company, entities=entities,
                            concurrency=args.concurrency)
        if not args.quiet:
            engine.hub.subscribe(_progress_printer())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, engine.cancel)
        result = await _runs(args, engine, store)
    finally:
        await provider.aclose()
    counts = store.outbox_counts()
    if args.json:
        print(json.dumps({**asdict(result), "ok": result.ok, "outbox": counts, "store": str(store.path)}))
    else:
        print(_summary(result, counts))
    if not result.ok:
        return 1
    return 3 if counts["failed"] or counts["conflict"] else 0


async def _runs(args: argparse.Namespace, engine: SyncEngine, store: CompanyStore) -> SyncResult:
    pull, push = not args.push_only, not args.pull_only
    delay = 0.5
    while True:
        result = await engine.run_once(reason="asked", pull=pull, push=push, full=args.full)
        if not args.until_sent or result.cancelled or (result.error and not result.offline):
            return result
        # Done when nothing waits, or nothing more could go (what waits is behind a conflict or a refusal).
        if result.ok and (store.outbox_counts()["pending"] == 0 or result.pushed == 0):
            return result
        await asyncio.sleep(delay if result.offline else 0)
        delay = min(delay * 2, 10.0) if result.offline else 0.5


def _progress_printer():
    last = [0.0]

    def show(event: object) -> None:
        if not isinstance(event, Progress):
            return
        now = time.monotonic()
        if now - last[0] < 0.5 and event.done != event.total:
            return
        last[0] = now
        total = f"/{event.total}" if event.total is not None else ""
        print(f"{event.phase} {event.entity}: {event.done}{total} ({event.rate:,.0f}/s)", file=sys.stderr)
    return show


def _summary(result: SyncResult, counts: dict[str, int]) -> str:
    state = "done" if result.ok else ("offline" if result.offline else "stopped")
    lines = [f"{state} in {result.seconds:.1f} s: pushed {result.pushed}, pulled {result.pulled} "
             f"({result.received} received, {result.deleted} deleted), conflicts {result.conflicts}, "
             f"refused {result.failures}"]
    if result.error:
        lines.append(result.error)
    lines += [f"could not read {problem}" for problem in result.problems]
    lines.append(f"outbox: {counts['pending']} pending, {counts['failed']} refused, {counts['conflict']} conflicts")
    return "\n".join(lines)
