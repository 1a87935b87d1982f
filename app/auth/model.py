"""What a sign-in yields, handed from ``browser_flow``/``signin`` to the workspace and the vault."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.base import AuthError, Company, SignInKind
from providers.http import register_secret

TOKENS = "tokens"  # the vault name of an OAuth connection's token set


@dataclass(frozen=True)
class TokenSet:
    """An access token, the refresh token that renews it, and when the access token expires (epoch
    seconds; None when the service does not say). Stored as one vault entry, so the pair changes
    together."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None

    def __post_init__(self) -> None:
        register_secret(self.access_token)
        register_secret(self.refresh_token)

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any], now: float | None = None) -> TokenSet:
        """An RFC 6749 token answer; ``expires_in`` counted from ``now``."""
        expires_in = answer.get("expires_in")
        seconds = float(expires_in) if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) \
            else None
        now = time.time() if now is None else now
        return cls(str(answer["access_token"]), answer.get("refresh_token") or None,
                   None if seconds is None else now + seconds)

    def dumps(self) -> str:
        return json.dumps({"access_token": self.access_token, "refresh_token": self.refresh_token,
                           "expires_at": self.expires_at})

    @classmethod
    def loads(cls, text: str | None, service: str = "The service") -> TokenSet:
        try:
            data = json.loads(text or "")
            tokens = cls(data["access_token"], data.get("refresh_token"), data.get("expires_at"))
        except (ValueError, KeyError, TypeError):
            raise AuthError(f"The saved {service} sign-in is missing or unreadable: sign in again.") from None
        if not isinstance(tokens.access_token, str) or not tokens.access_token:
            raise AuthError(f"The saved {service} sign-in is missing or unreadable: sign in again.")
        return tokens


@dataclass(frozen=True)
class SignedIn:
    """A completed sign-in, not yet saved. ``secrets`` go to the vault; everything else is safe to
    write to the settings file."""

    provider: str
    kind: SignInKind
    account: str  # recognises a repeat sign-in to the same account (never a secret)
    label: str  # what the user sees for the connection
    companies: tuple[Company, ...]
    secrets: Mapping[str, str] = field(repr=False)
    endpoints: Mapping[str, str] = field(default_factory=dict)
    details: Mapping[str, str] = field(default_factory=dict)


def label_for(service: str, companies: list[Company] | tuple[Company, ...]) -> str:
    """"Clear Books: Harriet Lowe Garden Design and 2 more": what the user sees for a connection."""
    if not companies:
        return service
    first = companies[0].name
    return f"{service}: {first}" + (f" and {len(companies) - 1} more" if len(companies) > 1 else "")
