"""What every provider sandbox offers, so the CLI, the demo and the tests treat all four alike.

A sandbox module (``providers/<name>/sandbox.py``) defines a ``ProviderSandbox`` subclass. It is
built with ``build_sandbox(name, ...)`` from ``providers.sandbox.registry``, holds its data in a
``DocStore`` (memory, or a file so a restart keeps the data), seeds three demo companies the first
time, and exposes ``stack`` (its app wrapped with faults and the request log).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from app.domain.generate import DemoCompany
from providers.sandbox.docstore import DocStore
from providers.sandbox.server import SandboxStack

# Three businesses per provider, from a sole trader to a wholesaler; the last one's size follows --size.
_DEMO_SHAPES = {
    "tiny": ("tiny", "tiny", "tiny"),
    "small": ("tiny", "small", "small"),
    "medium": ("tiny", "small", "medium"),
    "large": ("tiny", "medium", "large"),
}


def demo_companies(provider: str, size: str | int, seed: int, names: tuple[str, str, str],
                   currency: str = "GBP") -> list[DemoCompany]:
    shapes = _DEMO_SHAPES.get(str(size), ("tiny", "small", size))
    return [DemoCompany(name, shape, seed=seed * 1000 + index, currency=currency)
            for index, (name, shape) in enumerate(zip(names, shapes, strict=True))]


@dataclass
class SandboxOptions:
    size: str | int = "small"
    seed: int = 1
    data: str | None = None  # a SQLite file: the sandbox keeps its data there across restarts
    loopback: bool = True  # served on 127.0.0.1: plain HTTP is allowed where the service demands HTTPS
    throttle: bool = True  # the service's own rate limits (429 past them)
    auto_consent: bool = True  # OAuth consent pages approve at once (demo and tests)
    extra: dict = field(default_factory=dict)


class ProviderSandbox:
    """Base of the four sandboxes. Subclasses set ``provider`` and ``company_names`` and implement
    ``seed_company`` (write one demo company's data in the wire shapes) and ``app()``."""

    provider: ClassVar[str]
    company_names: ClassVar[tuple[str, str, str]]

    def __init__(self, options: SandboxOptions | None = None):
        self.options = options or SandboxOptions()
        self.store = DocStore(self.options.data or ":memory:")
        if self.store.is_empty:
            for company in demo_companies(self.provider, self.options.size, self.options.seed,
                                          self.company_names):
                self.seed_company(company)
        self.stack = SandboxStack(self.app())

    # --- what each provider supplies ---
    def seed_company(self, company: DemoCompany) -> None:
        raise NotImplementedError

    def app(self):
        raise NotImplementedError

    def credentials(self) -> dict[str, str]:
        """The demo sign-in details a person needs to connect to this sandbox (not secrets)."""
        raise NotImplementedError

    def companies(self) -> list[dict[str, str]]:
        """``[{"id": ..., "name": ...}]`` as the service identifies them."""
        raise NotImplementedError

    # --- shared ---
    def describe(self, url: str) -> dict[str, object]:
        return {"provider": self.provider, "url": url, "companies": self.companies(),
                "credentials": self.credentials(), "faults": self.stack.faults.settings.as_dict()}
