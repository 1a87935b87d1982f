"""Browsers played by httpx for the sign-in tests: one that clicks Allow or Deny on a consent page (and
types the demo login where asked), one that tampers with the callback's state, one that sends the
callback twice. Each keeps the pages it ended on."""

from __future__ import annotations

import asyncio
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.inputs: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = found.get("action") or ""
        elif tag == "input" and found.get("name"):
            self.inputs.add(found["name"])
            if found.get("type") == "hidden":
                self.fields[found["name"]] = found.get("value") or ""


def _is_loopback_callback(url: httpx.URL) -> bool:
    return url.path == "/callback"


class Browser:
    """``decision``: what the person clicks on a consent page ("allow"/"approve" or "deny").
    ``state``: replaces the callback's state (an attacker's forged answer). ``replay``: the callback is
    sent a second time while the first is still being answered."""

    def __init__(self, decision: str = "allow", *, login: tuple[str, str] | None = None,
                 state: str | None = None, replay: bool = False):
        self.decision = decision
        self.login = login
        self.state = state
        self.replay = replay
        self.pages: list[httpx.Response] = []
        self.replayed: httpx.Response | None = None
        self.callback_url: str | None = None
        self.replay_sent: asyncio.Event | None = None  # a test's exchange may wait for it

    async def __call__(self, url: str) -> bool:
        self.replay_sent = self.replay_sent or asyncio.Event()
        async with httpx.AsyncClient(trust_env=False, timeout=20) as http:
            response = await self._follow(http, await http.get(url))
            if response.status_code == 200 and b"<form" in response.content:
                response = await self._follow(http, await self._consent(http, response))
            self.pages.append(response)
        return True

    async def _consent(self, http: httpx.AsyncClient, page: httpx.Response) -> httpx.Response:
        form = _Form()
        form.feed(page.text)
        fields = dict(form.fields)
        if "email" in form.inputs and self.login:
            fields["email"], fields["password"] = self.login
        # Clear Books' buttons say approve/deny, AccountingSuite's allow/deny.
        clearbooks = "consent" in fields
        fields["decision"] = {"allow": "approve"}.get(self.decision, self.decision) if clearbooks else self.decision
        return await http.post(urljoin(str(page.url), form.action or ""), data=fields)

    async def _follow(self, http: httpx.AsyncClient, response: httpx.Response) -> httpx.Response:
        while response.is_redirect:
            target = response.url.join(response.headers["location"])
            if _is_loopback_callback(target):
                return await self._callback(http, target)
            response = await http.get(target)
        return response

    async def _callback(self, http: httpx.AsyncClient, target: httpx.URL) -> httpx.Response:
        if self.state is not None:
            parts = urlsplit(str(target))
            query = [(k, self.state if k == "state" else v) for k, v in parse_qsl(parts.query)]
            target = httpx.URL(urlunsplit(parts._replace(query=urlencode(query))))
        self.callback_url = str(target)
        if not self.replay:
            return await http.get(target)
        first = asyncio.ensure_future(http.get(target))
        await asyncio.sleep(0.1)  # the listener holds the first tab open while the code is exchanged
        async with httpx.AsyncClient(trust_env=False, timeout=20) as other:
            self.replayed = await other.get(target)
        assert self.replay_sent is not None
        self.replay_sent.set()
        return await first


async def idle(url: str) -> bool:
    """A browser that opens and is then left alone: the person never finishes."""
    return True
