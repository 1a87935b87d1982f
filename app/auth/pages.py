"""The small pages the loopback listener shows in the browser tab, one for each way a sign-in ends.

Everything that comes from outside (the service's error text, the service's name) is HTML-escaped: the
query of a callback is attacker-controlled, and a page that echoed it raw would run its script on the
listener's origin.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

_STYLE = ("body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:34rem;margin:4rem auto;"
          "padding:0 1rem;color:#1d1d1f;line-height:1.45}h1{font-size:1.4rem}.ok{color:#1b7f3b}"
          ".no{color:#b00020}p.small{color:#666;font-size:.9rem}")


@dataclass(frozen=True)
class Page:
    status: int
    title: str
    message: str
    ok: bool = False

    def render(self) -> bytes:
        mark = "ok" if self.ok else "no"
        return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Ledgerdesk: '
                f"{html.escape(self.title)}</title><style>{_STYLE}</style></head><body>"
                f'<h1 class="{mark}">{html.escape(self.title)}</h1><p>{html.escape(self.message)}</p>'
                '<p class="small">Ledgerdesk</p></body></html>').encode()


def signed_in(service: str) -> Page:
    return Page(200, f"Signed in to {service}",
                f"Ledgerdesk is now connected to {service}. You can close this tab and return to Ledgerdesk.",
                ok=True)


def exchange_failed(service: str, message: str) -> Page:
    return Page(200, f"{service} sign-in failed",
                f"{message} You can close this tab; Ledgerdesk shows what to do next.")


def finishing(service: str) -> Page:
    return Page(200, f"Finishing the {service} sign-in",
                "Ledgerdesk received the answer. You can close this tab and return to Ledgerdesk.", ok=True)


def declined(service: str) -> Page:
    return Page(200, "You declined access",
                f"You declined access, so Ledgerdesk was not connected to {service}. You can close this tab.")


def refused(service: str, error: str, description: str | None) -> Page:
    said = f": {description}" if description else ""
    return Page(400, f"{service} did not sign you in", f"{service} answered “{error}”{said}. "
                "Nothing was connected. You can close this tab and start the sign-in again in Ledgerdesk.")


def state_mismatch(service: str) -> Page:
    return Page(400, "This sign-in answer was not expected",
                f"The answer from {service} does not belong to the sign-in Ledgerdesk started, so it was "
                "ignored and nothing was connected. Start the sign-in again in Ledgerdesk.")


def incomplete(service: str) -> Page:
    return Page(400, "The sign-in answer is incomplete",
                f"The answer from {service} carried no authorisation code. Nothing was connected. Start the "
                "sign-in again in Ledgerdesk.")


def already_used() -> Page:
    return Page(409, "This sign-in is already complete",
                "Ledgerdesk accepts one answer per sign-in and has already received it. You can close this tab.")


def expired(service: str) -> Page:
    return Page(410, "This sign-in has ended",
                f"The {service} sign-in was cancelled or timed out in Ledgerdesk. Start it again there.")


def not_found() -> Page:
    return Page(404, "Nothing here", "This address belongs to a Ledgerdesk sign-in and has nothing else to show.")


def bad_request(why: str) -> Page:
    return Page(400, "Bad request", why)
