"""`ledgerdesk sandbox`: run provider sandboxes on loopback until Ctrl+C or SIGTERM."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading

from app.cli.logging_setup import route_uvicorn_to_root, setup_logging
from app.cli.sandboxes import (
    DISPLAY_NAMES,
    Faults,
    SandboxUnavailable,
    build,
    data_file,
    parse_rate,
    parse_size,
    parse_switch,
)
from providers.sandbox.base import SandboxOptions
from providers.sandbox.faults import CONTROL_PREFIX
from providers.sandbox.registry import PROVIDERS
from providers.sandbox.server import RunningServer, serve_in_thread

log = logging.getLogger(__name__)

EPILOG = f"""\
Each sandbox serves on 127.0.0.1 only. Faults can also be changed while it runs:
  curl URL{CONTROL_PREFIX}/faults                          (current settings)
  curl -X PATCH URL{CONTROL_PREFIX}/faults -d '{{"truncate_rate": 0.1, "drop_after_rate": 0.2}}'
  curl URL{CONTROL_PREFIX}/log                             (requests seen so far)
With --json each sandbox prints one JSON object on one line as soon as it listens:
  {{"provider", "url", "companies": [{{"id", "name"}}], "credentials", "faults"}}
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sandbox", help="run a provider's sandbox (an emulator of the service) on loopback",
        description="Run a provider's sandbox on 127.0.0.1 and print its URL, its demo companies and "
                    "the demo credentials. Runs until Ctrl+C (or SIGTERM).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--provider", choices=PROVIDERS, help="the service to emulate")
    which.add_argument("--all", action="store_true",
                       help="run all four (a provider whose sandbox does not import yet is skipped)")
    parser.add_argument("--port", type=int, default=0,
                        help="port to listen on (default: a free one); with --all, PORT, PORT+1, ...")
    parser.add_argument("--size", type=parse_size, default="small", metavar="tiny|small|medium|large|N",
                        help="size of the largest demo company; N = that many invoices (default: small)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the demo data and of the faults (default: 1)")
    parser.add_argument("--data", metavar="FILE",
                        help="keep the sandbox's data in this SQLite file, so a restart keeps it "
                             "(with --all: FILE-<provider>.sqlite each); default: in memory")
    parser.add_argument("--latency", type=int, default=0, metavar="MS",
                        help="delay each request by a random time up to MS milliseconds")
    parser.add_argument("--error-rate", type=parse_rate, default=0.0, metavar="R",
                        help="answer this share of requests (0..1) with a 500/502/503 proxy error page")
    parser.add_argument("--drop-rate", type=parse_rate, default=0.0, metavar="R",
                        help="drop the connection on this share of requests (0..1): half of them before the "
                             "service sees the request, half AFTER it has committed the write")
    parser.add_argument("--throttle", type=parse_switch, default=True, metavar="on|off",
                        help="enforce the service's own rate limits (default: on)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per sandbox, one per line, for scripts")
    # SUPPRESS: when not given here, the top-level -v (before the command) still counts.
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log more, and show it on stderr")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    log_file = setup_logging(verbose=args.verbose)
    stop = _stop_on_signals()
    providers = list(PROVIDERS) if args.all else [args.provider]
    faults = Faults(latency_ms=args.latency, error_rate=args.error_rate, drop_rate=args.drop_rate)
    running: list[RunningServer] = []
    try:
        for index, provider in enumerate(providers):
            if stop.is_set():
                break
            options = SandboxOptions(size=args.size, seed=args.seed, throttle=args.throttle,
                                     data=data_file(args.data, provider, several=args.all))
            _status(f"starting the {DISPLAY_NAMES[provider]} sandbox (size {args.size}) ...")
            try:
                sandbox = build(provider, options, faults, fault_seed=args.seed)
            except SandboxUnavailable as unavailable:
                log.warning("sandbox %s not started: %s", provider, unavailable.reason, exc_info=True)
                if not args.all:
                    _status(f"cannot start the {provider} sandbox: {unavailable.reason}")
                    return 1
                _status(f"skipping {provider}: {unavailable.reason}")
                continue
            port = args.port + index if args.port else 0
            try:
                server = serve_in_thread(sandbox.stack.asgi, port=port)
            except OSError as error:
                _status(f"cannot listen on 127.0.0.1:{port} for {provider}: {error.strerror or error}")
                return 1
            running.append(server)
            route_uvicorn_to_root()
            description = sandbox.describe(server.url)
            log.info("sandbox running: %s", description)
            _print_description(description, as_json=args.json)
        if not running:
            _status("no sandbox is running")
            return 1
        _status("press Ctrl+C to stop" + ("" if args.json else f"; log: {log_file}"))
        # Wait in short slices: a plain wait() is not interrupted by Ctrl+C on Windows.
        while not stop.wait(0.5):
            pass
        return 0
    except KeyboardInterrupt:
        _status("interrupted")
        return 130
    finally:
        for server in running:
            server.stop()
        if running:
            _status(f"stopped {len(running)} sandbox{'es' if len(running) > 1 else ''}")
            log.info("sandboxes stopped")


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def request_stop(signum, frame):
        if stop.is_set():  # a second Ctrl+C while a large company is still being generated: give up now
            raise KeyboardInterrupt
        stop.set()

    for name in ("SIGINT", "SIGTERM", "SIGBREAK"):  # SIGBREAK: Ctrl+Break in a Windows console
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), request_stop)
    return stop


def _status(message: str) -> None:
    # stdout carries only the descriptions, so a script reading --json lines never sees anything else.
    print(message, file=sys.stderr, flush=True)


def _print_description(description: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(description, default=str), flush=True)
        return
    url = description["url"]
    lines = [f"{DISPLAY_NAMES.get(description['provider'], description['provider'])} sandbox: {url}",
             "  companies:"]
    lines += [f"    {company['id']:<16} {company['name']}" for company in description["companies"]]
    lines.append("  demo credentials (made up for this sandbox, not secrets):")
    credentials = description["credentials"]
    width = max((len(key) for key in credentials), default=0)
    lines += [f"    {key:<{width}}  {value}" for key, value in credentials.items()]
    active = {key: value for key, value in description["faults"].items() if value and key != "seed"}
    lines.append("  faults: " + (", ".join(f"{key}={value}" for key, value in active.items()) or "none"))
    lines.append(f"  steer: {url}{CONTROL_PREFIX}/faults   request log: {url}{CONTROL_PREFIX}/log")
    print("\n".join(lines) + "\n", flush=True)
