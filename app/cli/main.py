"""Parse the command line and hand over to the command asked for."""

from __future__ import annotations

import argparse
from importlib import metadata

from app.cli import sandbox_command, sync_command


def version() -> str:
    try:
        return metadata.version("ledgerdesk")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ledgerdesk",
        description="Ledgerdesk: a fast native desktop client for cloud bookkeeping services.",
        epilog="`ledgerdesk --demo` opens the window on the demo companies of four provider sandboxes that run "
               "on this computer.")
    parser.add_argument("--version", action="version", version=f"ledgerdesk {version()}")
    parser.add_argument("--demo", action="store_true",
                        help="run the demo: the four provider sandboxes on this computer, with demo companies "
                             "(uses LEDGERDESK_HOME if set, else a temporary folder: never your real data)")
    # For tests and CI: close the demo by itself this many seconds after it is up.
    parser.add_argument("--quit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more, and show it on stderr")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    sandbox_command.add_parser(commands)
    sync_command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command = getattr(args, "run", None)
    if args.demo and command is not None:
        parser.error("--demo cannot be combined with a command")
    if args.quit_after is not None and not args.demo:
        parser.error("--quit-after only applies to --demo")
    if args.demo:
        from app.cli import demo  # imports Qt: only when a window is wanted

        return demo.run(args)
    if command is None:
        from app.cli import desktop  # imports Qt: only when a window is wanted

        return desktop.run(args)
    return command(args)
