"""Find a provider's sandbox class by name without importing the other three."""

from __future__ import annotations

import importlib

from providers.sandbox.base import ProviderSandbox, SandboxOptions

PROVIDERS = ("clearbooks", "accountingsuite", "accbooks", "accountsiq")


def sandbox_class(provider: str) -> type[ProviderSandbox]:
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}")
    module = importlib.import_module(f"providers.{provider}.sandbox")
    return module.Sandbox


def build_sandbox(provider: str, options: SandboxOptions | None = None) -> ProviderSandbox:
    return sandbox_class(provider)(options)
