"""Logging for every entry point: a rotating file in the user's log folder, and stderr for what a person
running a command should see. Both pass through a redaction filter, because log files get attached to
bug reports and secrets must never reach them (DESIGN.md: tokens and keys live in the keyring only)."""

from __future__ import annotations

import logging
import logging.handlers
import re
from pathlib import Path

from app.store.paths import log_dir
from providers.http import redaction_filter

LOG_FILE_NAME = "ledgerdesk.log"
REDACTED = "[redacted]"

# Names whose values are secrets, in any spelling the services, OAuth or our own code use.
_SECRET_NAMES = (
    r"(?:proxy-)?authorization|apisecretkey|api[_-]?key|access[_-]?token|refresh[_-]?token|id[_-]?token"
    r"|client[_-]?secret|code[_-]?verifier|password|passwd|secret|token"
)
# name=value, name: value, "name": "value", 'name': 'value', ASGI's (b'name', b'value'); an optional auth
# scheme stays readable ("Authorization: Bearer [redacted]"). A dotted suffix covers keys such as
# "apisecretkey.1001"; "token_type" or "token_path" are not secret and do not match.
_PAIR = re.compile(
    rf"""(?P<name>\b[\w-]*?(?:{_SECRET_NAMES})(?:\.[\w-]+)?)
         (?P<sep>["']?\s*[:=]\s*(?:b?["'])?|["']\s*,\s*b["'])
         (?P<scheme>(?:bearer|basic|token|digest)\s+)?
         (?P<value>[^\s"'&,;<>(){{}}\[\]]+)""",
    re.IGNORECASE | re.VERBOSE,
)
# SOAP headers and other XML: <AccessToken>...</AccessToken>, with or without a namespace prefix.
_XML = re.compile(rf"(?P<open><(?:[\w-]+:)?[\w-]*?(?:{_SECRET_NAMES})>)(?P<value>[^<]+)", re.IGNORECASE)
# A bearer credential quoted on its own, away from any header name.
_BEARER = re.compile(r"\b(?P<scheme>bearer\s+)(?P<value>[A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)


def redact(text: str) -> str:
    text = _PAIR.sub(lambda m: f"{m['name']}{m['sep']}{m['scheme'] or ''}{REDACTED}", text)
    text = _XML.sub(lambda m: f"{m['open']}{REDACTED}", text)
    return _BEARER.sub(lambda m: f"{m['scheme']}{REDACTED}", text)


class RedactSecrets(logging.Filter):
    """Put on handlers, not loggers: a logger's filter never sees records that propagate to it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the redacted traceback is what gets written.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s"


def setup_logging(verbose: bool = False, console_level: int = logging.WARNING) -> Path:
    """Configure the root logger once per process; returns the log file's path."""
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_FILE_NAME
    redactor = RedactSecrets()
    # Values the sign-ins and clients register as secrets (tokens, codes, keys), whatever logger prints
    # them: patterns alone miss a token that a library logs as a bare argument.
    registered = redaction_filter()

    # A few MB is weeks of normal use; backups keep the run before a crash when the app restarts.
    to_file = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    to_file.setFormatter(logging.Formatter(_FORMAT))
    to_file.setLevel(logging.DEBUG if verbose else logging.INFO)
    to_file.addFilter(redactor)
    to_file.addFilter(registered)

    to_console = logging.StreamHandler()
    to_console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    to_console.setLevel(logging.INFO if verbose else console_level)
    to_console.addFilter(redactor)
    to_console.addFilter(registered)

    close_logging()
    root = logging.getLogger()
    root.addHandler(to_file)
    root.addHandler(to_console)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.captureWarnings(True)
    return path


def route_uvicorn_to_root() -> None:
    """uvicorn installs its own stderr handlers and stops propagation whenever a server is configured;
    call this after the servers are created so that their errors also reach our (redacted) log file."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True


def close_logging() -> None:
    """Release the log file (Windows cannot delete an open file), e.g. before removing its folder."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
