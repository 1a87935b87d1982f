"""What `ledgerdesk sandbox` and `ledgerdesk --demo` share: turning command-line settings into sandbox
options and faults, and building a sandbox while telling "not written yet" apart from a real failure."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from providers.sandbox.base import ProviderSandbox, SandboxOptions
from providers.sandbox.registry import PROVIDERS, sandbox_class

DISPLAY_NAMES = {
    "clearbooks": "Clear Books",
    "accountingsuite": "AccountingSuite",
    "accbooks": "AccBooks",
    "accountsiq": "AccountsIQ",
}
NAMED_SIZES = ("tiny", "small", "medium", "large")


class SandboxUnavailable(Exception):
    """A provider whose sandbox cannot be built here (its module does not import yet, or it failed)."""

    def __init__(self, provider: str, reason: str):
        super().__init__(f"{provider}: {reason}")
        self.provider = provider
        self.reason = reason


def parse_size(text: str) -> str | int:
    if text in NAMED_SIZES:
        return text
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r} is not a size: use {', '.join(NAMED_SIZES)} or a number of invoices")


def parse_rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number between 0 and 1") from None
    if not 0 <= rate <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1 (0.05 means 5% of requests)")
    return rate


def parse_switch(text: str) -> bool:
    if text.lower() in ("on", "yes", "true", "1"):
        return True
    if text.lower() in ("off", "no", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r}: use on or off")


@dataclass(frozen=True)
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    drop_rate: float = 0.0

    def settings(self) -> dict[str, object]:
        # Half the drops happen before the service sees the request and half after it has committed
        # the write: the second kind is the one that tests a client's idempotency, the first its retries.
        half = self.drop_rate / 2
        return {"latency_ms": self.latency_ms, "error_rate": self.error_rate,
                "drop_before_rate": half, "drop_after_rate": half}


def data_file(data: str | None, provider: str, several: bool) -> str | None:
    """With several sandboxes, one --data name becomes one file per provider (demo.sqlite ->
    demo-clearbooks.sqlite): the sandboxes keep different documents and must not share a file."""
    if data is None:
        return None
    path = Path(data).expanduser()
    if several:
        path = path.with_name(f"{path.stem}-{provider}{path.suffix or '.sqlite'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def build(provider: str, options: SandboxOptions, faults: Faults | None = None,
          fault_seed: int | None = None) -> ProviderSandbox:
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
    try:
        cls = sandbox_class(provider)
    except Exception as error:  # a half-written module can fail in any way, not only ImportError
        raise SandboxUnavailable(
            provider, f"providers/{provider}/sandbox.py does not import yet ({type(error).__name__}: {error})"
        ) from error
    try:
        sandbox = cls(options)
    except Exception as error:
        raise SandboxUnavailable(provider, f"the sandbox failed to start ({type(error).__name__}: {error})") from error
    if faults is not None:
        sandbox.stack.faults.settings.update(**faults.settings())
    if fault_seed is not None:
        # Faults drawn from the run's seed, so a run that showed a problem can be replayed.
        sandbox.stack.faults.reseed(fault_seed)
    return sandbox
