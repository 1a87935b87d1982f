"""What every request meets before the API proper: HTTPS, the API key, and the plan's rate limits.

Order: plain HTTP is refused (403 ``https_required``) unless the sandbox is on loopback; then the key
(401); then the rate limit (429); then the route (404/405) and its permission (403), in the app. Every
answer, errors included, carries ``X-RateLimit-Limit/Remaining/Reset``.

Rate limits are fixed windows: the minute window is the clock minute (``epoch // 60``), the day window
the UTC day. ``X-RateLimit-Limit`` is the plan's per-minute limit; ``Remaining`` is what is left of
whichever window has less left; ``Reset`` is the end of that window (so it is the next UTC midnight once
the day's quota is nearly spent). A request refused with 429 does not count. Requests without a valid
key count against their client address at the Starter plan's limits. Counters live in memory: a
restarted sandbox starts them afresh.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from providers.accbooks.errors import error
from providers.accbooks.keys import KeyRing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    name: str
    per_minute: int
    per_day: int


PLANS = {"starter": Plan("Starter", 60, 10_000), "pro": Plan("Pro", 300, 100_000)}


def plans_with(overrides: dict | None) -> dict[str, Plan]:
    """``options.extra["rate_limits"]``, e.g. ``{"starter": {"per_minute": 5, "per_day": 20}}``."""
    plans = dict(PLANS)
    for name, limits in (overrides or {}).items():
        base = plans[name]
        plans[name] = Plan(base.name, int(limits.get("per_minute", base.per_minute)),
                           int(limits.get("per_day", base.per_day)))
    return plans


@dataclass
class _Bucket:
    minute: int = -1
    minute_used: int = 0
    day: int = -1
    day_used: int = 0


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, bucket_id: str, plan: Plan, enforce: bool) -> tuple[bool, list[tuple[bytes, bytes]]]:
        """Count one request; returns whether it may proceed and the headers to send with the answer."""
        now = self.clock()
        bucket = self._buckets.setdefault(bucket_id, _Bucket())
        minute, day = int(now // 60), int(now // 86_400)
        if bucket.minute != minute:
            bucket.minute, bucket.minute_used = minute, 0
        if bucket.day != day:
            bucket.day, bucket.day_used = day, 0
        allowed = not enforce or (bucket.minute_used < plan.per_minute and bucket.day_used < plan.per_day)
        if allowed:
            bucket.minute_used += 1
            bucket.day_used += 1
        minute_left = max(0, plan.per_minute - bucket.minute_used)
        day_left = max(0, plan.per_day - bucket.day_used)
        minute_reset, day_reset = (minute + 1) * 60, (day + 1) * 86_400
        if allowed:
            reset = day_reset if day_left < minute_left else minute_reset
        else:  # wait for the window that is spent; when both are, the later one
            reset = day_reset if bucket.day_used >= plan.per_day else minute_reset
        headers = [(b"x-ratelimit-limit", str(plan.per_minute).encode()),
                   (b"x-ratelimit-remaining", str(min(minute_left, day_left)).encode()),
                   (b"x-ratelimit-reset", str(reset).encode())]
        if not allowed:
            headers.append((b"retry-after", str(max(1, math.ceil(reset - now))).encode()))
        return allowed, headers


class Gate:
    """Pure ASGI middleware in front of the Starlette router; puts the caller's key in ``scope["state"]``."""

    def __init__(self, app, keys: KeyRing, plan_of: Callable[[str], Plan], limiter: RateLimiter,
                 loopback: bool, throttle: bool):
        self.app = app
        self.keys = keys
        self.plan_of = plan_of
        self.limiter = limiter
        self.loopback = loopback
        self.throttle = throttle

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        client = (scope.get("client") or ("unknown", 0))[0]
        anonymous = f"ip:{client}"
        starter = self.plan_of("")

        if not self._secure(scope, headers) and not self.loopback:
            _ok, limits = self.limiter.take(anonymous, starter, False)
            await _answer(error(403, "https_required", "HTTPS is required"), limits, scope, receive, send)
            return

        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        key = self.keys.find(token) if token else None
        if key is None:
            allowed, limits = self.limiter.take(anonymous, starter, self.throttle)
            if not allowed:
                await _answer(_too_many(starter), limits, scope, receive, send)
            elif not token:
                await _answer(error(401, "unauthorized", "No API key was sent: use Authorization: Bearer <key>",
                                    headers={"WWW-Authenticate": "Bearer"}), limits, scope, receive, send)
            else:
                await _answer(error(401, "unauthorized", "The API key is invalid or has been revoked",
                                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}),
                              limits, scope, receive, send)
            return

        plan = self.plan_of(key.company_id)
        allowed, limits = self.limiter.take(f"key:{key.key_id}", plan, self.throttle)
        if not allowed:
            await _answer(_too_many(plan), limits, scope, receive, send)
            return
        scope.setdefault("state", {})["key"] = key

        started = False

        async def with_limits(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []), *limits]}
            await send(message)

        try:
            await self.app(scope, receive, with_limits)
        except Exception:
            if started:
                raise
            log.exception("AccBooks sandbox failed on %s %s", scope["method"], scope["path"])
            await _answer(error(500, "internal_error", "Something went wrong on our side; try again later"),
                          limits, scope, receive, send)

    @staticmethod
    def _secure(scope, headers: dict[bytes, bytes]) -> bool:
        forwarded = headers.get(b"x-forwarded-proto")
        if forwarded is not None:  # a TLS-terminating proxy in front says what the client used
            return forwarded.split(b",")[0].strip().lower() == b"https"
        return scope.get("scheme") == "https"


def _too_many(plan: Plan):
    return error(429, "rate_limit_exceeded",
                 f"Rate limit exceeded for the {plan.name} plan ({plan.per_minute} requests per minute, "
                 f"{plan.per_day:,} per day)")


async def _answer(response, limits, scope, receive, send) -> None:
    response.raw_headers.extend(limits)
    await response(scope, receive, send)
