"""A "browser" played by an HTTP client: it follows the authorisation URL through the service's
redirects to the loopback listener. For the demo and tests, where the sandboxes consent at once; a
real service shows a person a sign-in page, which this cannot fill in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from app.auth.browser_flow import Opener
from app.auth.errors import SignInError
from providers.http import html_summary


def http_browser(*, timeout: float = 30.0) -> Opener:
    async def open_url(url: str) -> bool:
        redirect = parse_qs(urlsplit(url).query).get("redirect_uri", [""])[0]
        # No proxy from the environment: everything here is on this computer.
        async with httpx.AsyncClient(follow_redirects=True, trust_env=False, timeout=timeout) as http:
            response = await http.get(url)
        if redirect and _same_place(response.url, redirect):
            return True
        summary = html_summary(response.content) or f"HTTP {response.status_code}"
        raise SignInError(f"The sign-in page did not send the browser back to Ledgerdesk (it answered "
                          f"{response.status_code}: {summary}).")

    return open_url


def _same_place(url: httpx.URL, redirect: str) -> bool:
    expected = httpx.URL(redirect)
    return (url.scheme, url.host, url.port, url.path) == (expected.scheme, expected.host, expected.port,
                                                          expected.path)
