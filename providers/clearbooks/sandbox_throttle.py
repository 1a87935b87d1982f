"""Clear Books' own rate limit: "more than 5 requests per second for a sustained period may be subject to
throttling", answered with 429. Emulated as a token bucket per access token: it refills at ``rate``
requests a second and holds at most ``burst``, so a short burst passes and a sustained pace above the
rate does not. The reference documents no rate headers, so the only one sent is ``Retry-After`` (whole
seconds until a request would pass) on the 429 itself.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class Throttle:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, key: str, rate: float, burst: float) -> float:
        """Spend one request; 0 if it may pass, else the seconds to wait before one would."""
        with self._lock:
            now = self.clock()
            tokens, when = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - when) * rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / rate

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))
