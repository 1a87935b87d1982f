"""What can go wrong while signing in, as errors whose ``message`` is a sentence for the user.

They are ``ProviderError``s, so the UI shows them the way it shows every other service problem. A
sign-in that did not happen is not an ``AuthError``: that one means an existing connection must be
signed in again.
"""

from __future__ import annotations

from providers.base import AuthError, ProviderError


class SignInError(ProviderError):
    """The sign-in did not complete; nothing was saved."""


class SignInDeclined(SignInError):
    pass


class SignInCancelled(SignInError):
    pass


class SignInTimedOut(SignInError):
    pass


class StateMismatch(SignInError):
    """The answer that reached the listener was not for the request Ledgerdesk made."""


class SignInRefused(SignInError):
    """The service refused the sign-in (its authorisation page or token endpoint said no)."""


class CredentialsRefused(AuthError):
    """A pasted key or a client id and secret that the service does not accept (its own words)."""


class VaultUnavailable(ProviderError):
    """The OS keyring cannot be used; the message says why and what to do."""
