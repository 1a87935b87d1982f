"""PKCE (RFC 7636, S256) and the ``state`` of an authorisation request."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from providers.http import register_secret

# 32 random bytes: the 256 bits RFC 8252 section 8.9 asks of ``state``, and a verifier of 43
# characters, the shortest RFC 7636 allows while carrying the same entropy.
_ENTROPY_BYTES = 32


def new_state() -> str:
    state = secrets.token_urlsafe(_ENTROPY_BYTES)
    register_secret(state)
    return state


def new_verifier() -> str:
    verifier = secrets.token_urlsafe(_ENTROPY_BYTES)
    register_secret(verifier)
    return verifier


def challenge_s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def same_state(expected: str, received: str | None) -> bool:
    """Constant time, so the comparison's duration says nothing about how much of a guess was right.
    Bytes, because ``compare_digest`` refuses str with non-ASCII characters (a hostile query may have them)."""
    if received is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8", "surrogateescape"))
