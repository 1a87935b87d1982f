"""Shared async HTTP for the four provider clients: pacing, retries, safe parsing, redaction.

One ``HttpSession`` per connection (a signed-in company, or a sign-in that spans several). It wraps an
``httpx.AsyncClient`` (HTTP/2 where the server offers it, TLS verification always on) and adds:

- The URL rule: ``https://`` only; plain ``http://`` is refused (``InsecureURL``) unless the host is
  loopback (127.0.0.0/8, ::1, ``localhost``), where the sandboxes run. Checked on every hop of a redirect.
- Pacing, from data: a ``RateLimits`` per provider (``LIMITS``) drives a ``Pacer``: a token bucket at
  the documented rate, slowed after a 429 and recovering gradually (``adaptive``), blocked for a
  ``Retry-After``, and, where the service sends ``X-RateLimit-Limit/Remaining/Reset`` (``headers``), kept
  inside the service's window: it counts what is left, spreads the remainder until the reset when it runs
  low, and waits for the reset rather than spend the last request. The clock and sleep are injectable.
- Retries with exponential backoff and full jitter: idempotent requests (GET, HEAD, OPTIONS, PUT,
  DELETE) on a dropped connection, a timeout, 429 and 5xx; any method on 429/502/503/504 (the
  request was refused, not done). A non-idempotent request (POST) whose connection failed after it was
  sent is never retried here: ``UnknownOutcome``, so the caller looks it up by its idempotency key; a POST
  answered 500 is ``UnknownOutcome`` too (the service may have done part of it).
- Typed errors only: timeouts and network failures -> ``Unavailable``; a final 429 -> ``RateLimited``;
  5xx -> ``Unavailable`` (a proxy's HTML page becomes a readable sentence); an answer larger than
  ``max_body`` (50 MB), a bad encoding, or JSON/XML we cannot read -> ``BadResponse``.
- ``Reply``: the read answer. ``reply.json()`` parses with Decimal (money never passes through float);
  ``reply.xml()`` parses with defusedxml (DTDs, entities and external references refused: an XML bomb is
  a ``BadResponse``). Every status below 500 except 429 is handed back for the client to map, with the
  service's own words.
- Redaction: ``RedactingFilter`` scrubs tokens, keys and secrets from every log record of this module, of
  the clients (``get_logger``) and of httpx/httpcore/hpack (which log URLs and, at DEBUG over HTTP/2,
  header values). Values sent in ``Authorization``/``apisecretkey``-like headers are registered as
  secrets automatically; a client registers any other secret it learns (``register_secret``). The app
  adds ``redaction_filter()`` to its log handlers so nothing else can leak one either.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import logging
import random
import re
import ssl
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import Any

import defusedxml
import defusedxml.ElementTree as SafeElementTree
import httpx

from providers import decimal_json
from providers.base import BadResponse, ProviderError, RateLimited, Unavailable, UnknownOutcome

DEFAULT_MAX_BODY = 50 * 1024 * 1024
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "apisecretkey", "x-api-key", "api-key",
                               "cookie", "set-cookie", "x-auth-token"})

log = logging.getLogger(__name__)


class InsecureURL(ProviderError, ValueError):
    """A plain-HTTP URL to a host that is not this machine: keys and tokens would cross the network in
    clear text."""


# --- rate limits as data --------------------------------------------------------------------------

@dataclass(frozen=True)
class RateLimits:
    """How fast one provider may be called. Data, not code: one per provider in ``LIMITS``."""

    rate: float | None = None  # sustained requests a second; None: no documented limit
    burst: int = 1  # requests that may go back to back before the rate applies
    adaptive: bool = True  # after a 429: slow down (x backoff_factor), then win the rate back gradually
    backoff_factor: float = 0.5
    recovery: float = 0.05  # share of the ceiling regained with each answer that was not a 429
    min_rate: float = 0.2
    headers: bool = False  # follow X-RateLimit-Limit / -Remaining / -Reset
    header_period: float | None = 60.0  # seconds X-RateLimit-Limit counts over (sets the ceiling); None: ignore
    reserve: int = 0  # requests of each window to leave unused (for other apps sharing the key)
    max_in_flight: int | None = None  # concurrent requests through one session


LIMITS: dict[str, RateLimits] = {
    # "More than 5 requests per second for a sustained period may be subject to throttling"; limits
    # may change, so a 429 slows the pace and it recovers gradually.
    "clearbooks": RateLimits(rate=5.0, burst=5),
    # 60/min (Starter) or 300/min (Pro) + a daily quota, announced on every answer: the headers rule,
    # the rate starts at the Starter pace until the first answer states the plan's limit.
    "accbooks": RateLimits(rate=1.0, burst=1, headers=True, header_period=60.0),
    # The FAQ: 100 requests a second per user. Rate plus burst is the most any one-second window can
    # hold, so together they stay at the limit.
    "accountsiq": RateLimits(rate=90.0, burst=10),
    # None documented: no pacing, but a 429 or Retry-After is still obeyed.
    "accountingsuite": RateLimits(rate=None),
}


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 10  # tries of one request in all
    # Tries while nothing answers at all (connection refused, no route): the network is down or the
    # service is gone, and the sync scheduler's own back-off takes over; ten tries would keep the user
    # waiting about 20 s before the window could say "Offline".
    unreachable_attempts: int = 3
    base: float = 0.2  # first backoff ceiling, seconds; doubles each try (full jitter below it)
    cap: float = 10.0  # largest backoff ceiling
    deadline: float = 300.0  # seconds one request may spend over all its tries and waits
    max_wait: float = 120.0  # a Retry-After or pacing wait longer than this goes to the caller (RateLimited)
    idempotent_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    any_method_statuses: frozenset[int] = frozenset({429, 502, 503, 504})

    def backoff(self, attempt: int, rand: Callable[[], float]) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1)))."""
        return rand() * min(self.cap, self.base * (2 ** (attempt - 1)))


# --- pacing ------------------------------------------------------------------------------------------

_RESET_MARGIN = 0.5  # seconds past a window's reset before its first request: clocks and transit differ


class Pacer:
    """Decides when each request may go. ``reserve()`` is synchronous (atomic on an event loop), so
    concurrent callers get distinct slots; ``acquire()`` sleeps until the slot.

    ``clock`` is monotonic seconds (the bucket), ``wall`` epoch seconds (to read ``X-RateLimit-Reset``)."""

    def __init__(self, limits: RateLimits, *, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time, sleep: Callable[[float], Any] = asyncio.sleep):
        self.limits = limits
        self.service = "The service"  # named in messages; the session sets it
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self.ceiling = limits.rate  # the most the service allows (header Limit may change it)
        self.rate = limits.rate  # the pace now (below the ceiling after a 429)
        self._tat = 0.0  # the bucket's theoretical arrival time (GCRA)
        self.blocked_until = 0.0
        self.imposed_until = 0.0  # the latest wait the service itself stated (Retry-After, a spent window)
        self.window_left: int | None = None  # requests we may still send in the service's window
        self.window_reset = 0.0  # monotonic time the window ends
        self._window_long = False  # a window much longer than header_period (a daily quota)
        self._limit: int | None = None  # the last X-RateLimit-Limit
        self._last_slot = 0.0
        self.in_flight = 0
        self.throttled = 0  # 429s seen: a figure for tests and benchmarks
        self.sent = 0

    def reserve(self) -> float:
        """Take the next slot; returns the seconds to wait for it."""
        now = self._clock()
        slot = max(now, self.blocked_until)
        rate = self.rate
        interval = 1.0 / rate if rate else 0.0
        if rate:
            slot = max(slot, self._tat - (self.limits.burst - 1) * interval)
        if self.window_left is not None and slot >= self.window_reset:
            self._next_window(slot)
        if self.window_left is not None and self.window_left <= self.limits.reserve:
            # Spent: nobody goes before the reset, whatever the bucket would allow.
            self.blocked_until = max(self.blocked_until, self.window_reset + _RESET_MARGIN)
            slot = max(slot, self.blocked_until)
            self._next_window(slot)
        if self.window_left is not None:
            usable = self.window_left - self.limits.reserve
            if not self._window_long and (rate is None or usable < rate * (self.window_reset - slot)):
                # At this pace the window would run dry before it resets: spread what is left.
                last = min(max(self._last_slot, now - 1.0), self.window_reset)
                slot = max(slot, last + (self.window_reset - last) / usable)
            self.window_left -= 1
        if rate:
            self._tat = max(self._tat, slot) + interval
        self._last_slot = slot
        self.in_flight += 1
        self.sent += 1
        return slot - now

    def _next_window(self, slot: float) -> None:
        """The window has reset: until an answer says, assume a fixed window of the last stated limit."""
        period = self.limits.header_period
        if self._limit is None or not period:
            self.window_left = None
            return
        while self.window_reset <= slot:
            self.window_reset += period
        self.window_left, self._window_long = self._limit, False

    async def acquire(self, max_wait: float | None = None) -> None:
        """Wait for a slot. A wait longer than ``max_wait`` that the service imposed (a Retry-After, a
        spent daily quota) is ``RateLimited`` instead; a long queue of our own requests is just waited."""
        delay = self.reserve()
        if max_wait is not None and delay > max_wait:
            imposed = self.imposed_until - self._clock()
            if imposed > max_wait:
                self.release()
                raise RateLimited(f"{self.service}'s rate limit allows the next request in {_duration(imposed)}",
                                  retry_after=imposed)
        if delay > 0:
            await self._sleep(delay)

    def release(self) -> None:
        """A reserved request ended without an answer."""
        self.in_flight = max(0, self.in_flight - 1)

    def block(self, seconds: float) -> None:
        """The service said to wait (Retry-After): every request through this pacer does."""
        self.blocked_until = max(self.blocked_until, self._clock() + seconds)
        self.imposed_until = max(self.imposed_until, self.blocked_until)

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Learn from an answer: the rate-limit headers, a 429, or a success."""
        self.in_flight = max(0, self.in_flight - 1)
        if self.limits.headers:
            self._read_window(headers)
        if status == 429:
            self.throttled += 1
            if self.limits.adaptive and self.rate:
                self.rate = max(self.limits.min_rate, self.rate * self.limits.backoff_factor)
        elif self.limits.adaptive and self.rate and self.ceiling and self.rate < self.ceiling:
            self.rate = min(self.ceiling, self.rate + self.ceiling * self.limits.recovery)

    def _read_window(self, headers: Mapping[str, str]) -> None:
        limit = _int_header(headers, "x-ratelimit-limit")
        remaining = _int_header(headers, "x-ratelimit-remaining")
        reset = _int_header(headers, "x-ratelimit-reset")
        if limit is not None and limit > 0:
            self._limit = limit
        if limit is not None and limit > 0 and self.limits.header_period:
            ceiling = limit / self.limits.header_period
            if ceiling != self.ceiling:
                share = (self.rate or ceiling) / (self.ceiling or ceiling)
                self.ceiling, self.rate = ceiling, ceiling * min(1.0, share)
        if remaining is None or reset is None:
            return
        seconds = reset_in(reset, headers, self._wall())
        if seconds is None:
            return
        # Requests still in flight may not be counted in this Remaining yet: assume they will be.
        self.window_left = max(0, remaining - self.in_flight)
        self.window_reset = self._clock() + seconds
        if self.window_left <= self.limits.reserve:
            self.imposed_until = max(self.imposed_until, self.window_reset + _RESET_MARGIN)
        self._window_long = seconds > 2 * (self.limits.header_period or 60.0)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


def _server_time(headers: Mapping[str, str]) -> float | None:
    date = headers.get("date")
    if not date:
        return None
    try:
        return email.utils.parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def reset_in(reset: int, headers: Mapping[str, str], wall_now: float) -> float | None:
    """Seconds until an ``X-RateLimit-Reset`` (epoch seconds, or a delta where it is small)."""
    if reset < 1_000_000_000:
        seconds = float(reset)
    else:
        now = wall_now
        server = _server_time(headers)
        if server is not None and abs(server - wall_now) > 2:  # trust the server's clock when ours is off
            now = server
        seconds = reset - now
    if seconds > 3 * 86_400:
        return None  # nonsense: ignore rather than stall
    return max(0.0, seconds)


def retry_after(headers: Mapping[str, str], wall_now: float | None = None) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), or None."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when - (time.time() if wall_now is None else wall_now))


# --- URLs ----------------------------------------------------------------------------------------------

def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def check_url(url: httpx.URL | str) -> httpx.URL:
    """Refuse anything but HTTPS, except plain HTTP to this machine."""
    url = httpx.URL(url)
    if url.scheme == "https":
        return url
    if url.scheme == "http" and is_loopback(url.host):
        return url
    if url.scheme == "http":
        raise InsecureURL(f"Refusing plain HTTP to {url.host}: only https:// is allowed, except to this "
                          "computer (127.0.0.1, ::1, localhost)")
    raise InsecureURL(f"Refusing the URL scheme {url.scheme!r}: only https:// is allowed")


# --- redaction ----------------------------------------------------------------------------------------

_SECRET_NAMES = (r"access_?token|refresh_?token|id_?token|client_?secret|apisecretkey|api_?key|apikey|"
                 r"x-api-key|password|passwd|secret|token|code_verifier|authorization|assertion")
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer xyz / Basic xyz (also inside repr'd bytes and header tuples)
    (re.compile(r"\b([Bb]earer|BEARER)(\s+)[A-Za-z0-9._~+/=\-]{8,}"), r"\1\2***"),
    (re.compile(r"\b(Basic|basic|BASIC)(\s+)[A-Za-z0-9+/]{12,}={0,2}"), r"\1\2***"),
    # header tuples as httpcore/hpack print them: (b'apisecretkey', b'value') / b'apisecretkey'=b'value'
    (re.compile(r"(?i)(b?['\"](?:" + "|".join(sorted(SENSITIVE_HEADERS)) + r")['\"]\s*[,=:]\s*b?['\"])"
                r"([^'\"]*)"), r"\1***"),
    # name: value / name=value / "name": "value" in headers, query strings, form and JSON bodies
    (re.compile(r"(?i)([\"']?\b(?:" + _SECRET_NAMES + r")[\"']?\s*[:=]\s*[\"']?)([^\"'&,;\s}<>]{1,})"),
     r"\1***"),
    # <AccessToken>xyz</AccessToken>, with or without a namespace prefix
    (re.compile(r"(?i)(<(?:\w+:)?(?:" + _SECRET_NAMES + r"|clientSecret|refreshToken|accessToken)\b[^>]*>)"
                r"([^<]+)"), r"\1***"),
)
_MAX_SECRETS = 512
_secrets: dict[str, None] = {}
_secret_pattern: re.Pattern[str] | None = None


def register_secret(value: str | None) -> None:
    """Never log this value (an API key, a token, a client secret) anywhere, in any form of log line."""
    global _secret_pattern
    if not value or len(value) < 6 or value in _secrets:
        return
    _secrets[value] = None
    while len(_secrets) > _MAX_SECRETS:
        _secrets.pop(next(iter(_secrets)))
    _secret_pattern = None


def _register_header_secret(name: str, value: str) -> None:
    if name.lower() in SENSITIVE_HEADERS:
        register_secret(value)
        scheme, _, credential = value.partition(" ")
        if credential and scheme.isalpha():
            register_secret(credential.strip())


def redact_text(text: str) -> str:
    global _secret_pattern
    if _secrets:
        if _secret_pattern is None:
            _secret_pattern = re.compile("|".join(re.escape(s) for s in sorted(_secrets, key=len, reverse=True)))
        text = _secret_pattern.sub("***", text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_url(url: httpx.URL | str) -> str:
    """The URL with its credentials and secret-looking query values masked."""
    url = httpx.URL(url)
    if url.userinfo:
        url = url.copy_with(username="***", password=None)
    return redact_text(str(url))


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and its exception text) with every secret masked. Never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's problem, not ours; leave it be
            return True
        record.msg, record.args = redact_text(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return True


_FILTER = RedactingFilter()
# Logger filters do not reach child loggers, so each logger that can print a URL or a header is named.
_THIRD_PARTY_LOGGERS = ("httpx", "httpcore", "httpcore.connection", "httpcore.http11", "httpcore.http2",
                        "httpcore.proxy", "httpcore.socks", "hpack", "hpack.hpack", "hpack.table", "h2")


def redaction_filter() -> RedactingFilter:
    """For the app's log handlers: a handler filter sees every record, whichever logger made it."""
    return _FILTER


def get_logger(name: str) -> logging.Logger:
    """A logger whose records are redacted before any handler sees them (clients log through these)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


for _name in (__name__, *_THIRD_PARTY_LOGGERS):
    get_logger(_name)


# --- parsing ------------------------------------------------------------------------------------------

_TITLE = re.compile(rb"(?is)<title[^>]*>(.*?)</title>|<h1[^>]*>(.*?)</h1>")
_TAGS = re.compile(r"<[^>]+>")


def html_summary(body: bytes) -> str:
    """The title (or first heading) of an HTML page, as plain text; '' when it has none."""
    found = _TITLE.search(body[:65_536])
    if not found:
        return ""
    raw = (found.group(1) or found.group(2) or b"").decode("utf-8", "replace")
    return " ".join(_TAGS.sub(" ", raw).split())[:200]


def looks_like_html(content_type: str, body: bytes) -> bool:
    if "html" in content_type:
        return True
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def parse_json(body: bytes | str, *, service: str = "The service") -> Any:
    """Decimal JSON (no float ever); anything unreadable is a ``BadResponse``."""
    raw = body.encode() if isinstance(body, str) else body
    if not raw.strip():
        raise BadResponse(f"{service} sent an empty answer where data was expected")
    if looks_like_html("", raw):
        title = html_summary(raw)
        raise BadResponse(f"{service} sent a web page where data was expected" + (f" ({title})" if title else ""))
    try:
        return decimal_json.loads(raw)
    except decimal_json.JSONDecodeError as error:
        raise BadResponse(f"{service} sent an answer that is not valid JSON ({error})") from None


def parse_xml(body: bytes | str, *, service: str = "The service") -> ElementTree.Element:
    """XML through defusedxml: a DTD, entity or external reference (an XML bomb) is a ``BadResponse``."""
    raw = body.encode() if isinstance(body, str) else body
    if not raw.strip():
        raise BadResponse(f"{service} sent an empty answer where XML was expected")
    try:
        return SafeElementTree.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as error:
        raise BadResponse(f"{service} sent XML that is refused for safety ({type(error).__name__})") from None
    except (ElementTree.ParseError, ValueError, UnicodeError, RecursionError) as error:
        raise BadResponse(f"{service} sent an answer that is not valid XML ({error})") from None


# --- the answer ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Reply:
    """An answer read whole (within the size cap). Deliberately no float-parsing ``.json()`` of httpx."""

    method: str
    url: httpx.URL
    status: int
    headers: httpx.Headers
    body: bytes
    elapsed: float  # seconds, this attempt
    attempts: int = 1
    http_version: str = "HTTP/1.1"
    service: str = "The service"

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def is_html(self) -> bool:
        return looks_like_html(self.content_type, self.body)

    @property
    def text(self) -> str:
        charset = "utf-8"
        for part in self.headers.get("content-type", "").split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset" and value:
                charset = value.strip('"')
        try:
            return self.body.decode(charset, "replace")
        except LookupError:
            return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return parse_json(self.body, service=self.service)

    def xml(self) -> ElementTree.Element:
        return parse_xml(self.body, service=self.service)

    def describe(self) -> str:
        """A readable one-liner for an answer we cannot use: an HTML page's title, or the status."""
        reason = _reason(self.status)
        summary = html_summary(self.body) if self.is_html else ""
        if summary and not summary.startswith(str(self.status)):
            return f"{self.status} {reason}: {summary}".strip()
        return summary or f"{self.status} {reason}".strip()


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


# --- the session --------------------------------------------------------------------------------------

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
_NEVER_RETRY = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


@dataclass
class _Attempt:
    number: int = 0
    started: float = 0.0
    last_error: str = ""


@dataclass
class SessionStats:
    requests: int = 0  # attempts sent
    retries: int = 0
    throttled: int = 0  # answers with 429
    statuses: dict[int, int] = field(default_factory=dict)


class HttpSession:
    """One provider connection's HTTP. ``service`` names it in messages ("AccBooks is unavailable ...").

    ``error_message(reply)`` (optional) pulls the service's own sentence out of an error body, for the
    ``Unavailable``/``RateLimited`` raised here; 4xx answers are handed back for the client to map."""

    def __init__(self, base_url: str, *, service: str = "The service", limits: RateLimits | None = None,
                 retry: RetryPolicy | None = None, timeout: httpx.Timeout | float | None = None,
                 headers: Mapping[str, str] | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 max_body: int = DEFAULT_MAX_BODY, pacer: Pacer | None = None,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
                 sleep: Callable[[float], Any] = asyncio.sleep, rand: Callable[[], float] = random.random,
                 error_message: Callable[[Reply], str | None] | None = None, follow_redirects: bool = False,
                 max_connections: int = 10):
        self.base_url = check_url(base_url)
        self.service = service
        self.limits = limits or RateLimits()
        self.retry = retry or RetryPolicy()
        self.max_body = max_body
        self.pacer = pacer or Pacer(self.limits, clock=clock, wall=wall, sleep=sleep)
        self.pacer.service = service
        self.stats = SessionStats()
        self._clock, self._wall, self._sleep, self._rand = clock, wall, sleep, rand
        self._error_message = error_message
        self._in_flight = (asyncio.Semaphore(self.limits.max_in_flight) if self.limits.max_in_flight else None)
        for name, value in (headers or {}).items():
            _register_header_secret(name, value)
        if not isinstance(timeout, httpx.Timeout):
            timeout = DEFAULT_TIMEOUT if timeout is None else httpx.Timeout(timeout)
        self.client = httpx.AsyncClient(
            base_url=self.base_url, headers=dict(headers or {}), timeout=timeout, transport=transport,
            http2=True, verify=True, follow_redirects=follow_redirects,
            # A proxy from the environment serves real services; never the loopback sandboxes.
            trust_env=not is_loopback(self.base_url.host),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            event_hooks={"request": [self._check_hop]})

    async def __aenter__(self) -> HttpSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    def set_header(self, name: str, value: str | None) -> None:
        """Change a default header (a renewed token): registered as a secret if it is one."""
        if value is None:
            self.client.headers.pop(name, None)
            return
        _register_header_secret(name, value)
        self.client.headers[name] = value

    @staticmethod
    async def _check_hop(request: httpx.Request) -> None:
        check_url(request.url)

    # --- one request, with pacing and retries -------------------------------------------------------
    async def request(self, method: str, url: str, *, params: Mapping[str, Any] | None = None,
                      json: Any = None, content: bytes | str | None = None, data: Mapping[str, Any] | None = None,
                      headers: Mapping[str, str] | None = None, idempotent: bool | None = None,
                      pass_statuses: Collection[int] = (), timeout: httpx.Timeout | float | None = None) -> Reply:
        """Send with pacing and retries; returns the answer for any status below 500 except 429, and for
        a non-HTML status in ``pass_statuses`` (a SOAP fault comes as 500). Raises only ``ProviderError``s.

        ``json`` is written with ``decimal_json`` (Decimals as exact numbers; a float is refused)."""
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        send_headers = dict(headers or {})
        for name, value in send_headers.items():
            _register_header_secret(name, value)
        if json is not None:
            _refuse_floats(json)
            content = decimal_json.dumps(json).encode()
            send_headers.setdefault("Content-Type", "application/json")
        if data is not None:
            for key, value in data.items():
                if isinstance(value, str) and (key == "code" or re.fullmatch(_SECRET_NAMES, key, re.IGNORECASE)):
                    register_secret(value)
        extensions = {}
        if timeout is not None:
            extensions["timeout"] = (timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
                                     ).as_dict()
        try:
            request = self.client.build_request(method, url, params=params, content=content, data=data,
                                                headers=send_headers, extensions=extensions or None)
        except (httpx.InvalidURL, TypeError, ValueError) as error:
            raise ProviderError(f"Cannot build the request to {self.service}: {error}") from None
        check_url(request.url)
        attempt = _Attempt(started=self._clock())
        while True:
            attempt.number += 1
            reply = await self._attempt(request, idempotent, attempt)
            if reply is None:
                continue
            if not self._should_retry(reply, idempotent, pass_statuses):
                return self._final(reply, idempotent, pass_statuses)
            wait = retry_after(reply.headers, self._wall())
            if reply.status == 429 and wait is None:
                wait = self.retry.backoff(attempt.number, self._rand) + 0.05
            if attempt.number >= self.retry.attempts or (wait or 0) > self.retry.max_wait \
                    or self._clock() - attempt.started + (wait or 0) > self.retry.deadline:
                return self._final(reply, idempotent, pass_statuses, exhausted=True)
            self.stats.retries += 1
            if wait is not None:
                self.pacer.block(wait)  # the service said when: every request through this pacer waits
                log.info("%s %s answered %s; retrying in %.2f s (Retry-After), try %d of %d", method,
                         redact_url(request.url), reply.status, wait, attempt.number + 1, self.retry.attempts)
            else:
                delay = self.retry.backoff(attempt.number, self._rand)
                log.info("%s %s answered %s; retrying in %.2f s, try %d of %d", method, redact_url(request.url),
                         reply.status, delay, attempt.number + 1, self.retry.attempts)
                await self._sleep(delay)

    async def _attempt(self, request: httpx.Request, idempotent: bool, attempt: _Attempt) -> Reply | None:
        """One try. Returns the reply, or None when a transport failure is to be retried."""
        await self.pacer.acquire(self.retry.max_wait)
        started = self._clock()
        self.stats.requests += 1
        try:
            if self._in_flight is None:
                reply = await self._send(request, attempt.number)
            else:
                async with self._in_flight:
                    reply = await self._send(request, attempt.number)
        except (httpx.TransportError, OSError) as error:
            self.pacer.release()
            elapsed = self._clock() - started
            return await self._transport_failed(request, idempotent, attempt, error, elapsed)
        except BaseException:
            self.pacer.release()
            raise
        self.pacer.observe(reply.status, reply.headers)
        self.stats.statuses[reply.status] = self.stats.statuses.get(reply.status, 0) + 1
        if reply.status == 429:
            self.stats.throttled += 1
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %d in %.1f ms (%s, try %d)", request.method, redact_url(request.url), reply.status,
                      reply.elapsed * 1000, reply.http_version, attempt.number)
        return reply

    async def _transport_failed(self, request: httpx.Request, idempotent: bool, attempt: _Attempt,
                                error: BaseException, elapsed: float) -> None:
        what = _describe_transport_error(error, self.service)
        where = f"{request.method} {redact_url(request.url)}"
        log.info("%s failed after %.1f ms: %s (try %d)", where, elapsed * 1000, redact_text(what), attempt.number)
        if _certificate_error(error):
            raise Unavailable(f"{self.service}'s security certificate could not be verified, so nothing was "
                              "sent. Check the computer's date and any proxy or antivirus that intercepts HTTPS.")
        if isinstance(error, _NEVER_RETRY):
            raise Unavailable(f"{self.service} could not be reached: {what}")
        sent = not isinstance(error, _NOT_SENT)
        if sent and not idempotent:
            raise UnknownOutcome(f"{what} after the request was sent: it may or may not have been done at "
                                 f"{self.service}.", detail={"method": request.method, "url": redact_url(request.url)})
        delay = self.retry.backoff(attempt.number, self._rand)
        attempts = self.retry.unreachable_attempts if isinstance(error, httpx.ConnectError) else self.retry.attempts
        if attempt.number >= min(attempts, self.retry.attempts) \
                or self._clock() - attempt.started + delay > self.retry.deadline:
            raise Unavailable(f"{what} ({attempt.number} tries)")
        self.stats.retries += 1
        await self._sleep(delay)
        return None

    async def _send(self, request: httpx.Request, attempt: int) -> Reply:
        started = self._clock()
        try:
            response = await self.client.send(request, stream=True)
        except httpx.TooManyRedirects:
            raise BadResponse(f"{self.service} redirected too many times") from None
        try:
            declared = response.headers.get("content-length")
            if declared is not None and declared.strip().isdigit() and int(declared) > self.max_body:
                raise BadResponse(f"{self.service} sent an answer of {int(declared):,} bytes, more than the "
                                  f"{self.max_body:,} accepted")
            chunks: list[bytes] = []
            size = 0
            try:
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_body:
                        raise BadResponse(f"{self.service} sent an answer larger than the {self.max_body:,} bytes "
                                          "accepted")
                    chunks.append(chunk)
            except httpx.DecodingError as error:
                raise BadResponse(f"{self.service} sent an answer that could not be decoded ({error})") from None
        finally:
            await response.aclose()
        return Reply(request.method, request.url, response.status_code, response.headers, b"".join(chunks),
                     self._clock() - started, attempt, response.http_version, self.service)

    def _should_retry(self, reply: Reply, idempotent: bool, pass_statuses: Collection[int]) -> bool:
        if reply.status in pass_statuses and not reply.is_html:
            return False
        statuses = self.retry.idempotent_statuses if idempotent else self.retry.any_method_statuses
        return reply.status in statuses

    def _final(self, reply: Reply, idempotent: bool, pass_statuses: Collection[int],
               exhausted: bool = False) -> Reply:
        status = reply.status
        if status == 429:
            wait = retry_after(reply.headers, self._wall())
            raise RateLimited(self._message(reply, f"{self.service} is limiting requests; try again later"),
                              retry_after=wait, status=429)
        if status < 500 or (status in pass_statuses and not reply.is_html):
            return reply
        message = self._message(reply, f"{self.service} is unavailable ({reply.describe()})")
        if exhausted:
            message += f" ({reply.attempts} tries)"
        if not idempotent and status not in self.retry.any_method_statuses and status not in (501, 505):
            raise UnknownOutcome(f"{message}: the request may or may not have been done", status=status)
        raise Unavailable(message, status=status)

    def _message(self, reply: Reply, fallback: str) -> str:
        if reply.is_html:
            return (f"{self.service} is unavailable: its server answered {reply.describe()} with an error page "
                    "(often a proxy in front of it). Try again later.")
        if self._error_message is not None:
            try:
                said = self._error_message(reply)
            except Exception:  # an error body we cannot read still gets the plain message
                said = None
            if said:
                return said
        return fallback

    # --- conveniences -------------------------------------------------------------------------------
    async def get(self, url: str, **kwargs: Any) -> Reply:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> Reply:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> Reply:
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> Reply:
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> Reply:
        return await self.request("DELETE", url, **kwargs)


def _refuse_floats(value: Any) -> None:
    """Money must not pass through float: a float in a body is a bug in the caller, caught here."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            raise TypeError("a float in a request body: use Decimal (money never passes through float)")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def limits_for(provider: str, **overrides: Any) -> RateLimits:
    """A provider's limits, with fields changed (a test's faster or slower pace)."""
    return replace(LIMITS.get(provider, RateLimits()), **overrides)


def _describe_transport_error(error: BaseException, service: str) -> str:
    if isinstance(error, httpx.ConnectTimeout | httpx.PoolTimeout):
        return f"{service} could not be reached in time"
    if isinstance(error, httpx.TimeoutException):
        return f"{service} did not answer in time"
    if isinstance(error, httpx.ConnectError | ConnectionRefusedError):
        return f"{service} could not be reached ({error or type(error).__name__})"
    return f"The connection to {service} was lost ({error or type(error).__name__})"


def _certificate_error(error: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
