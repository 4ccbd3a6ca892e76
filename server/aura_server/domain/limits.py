"""Per-caller rate limits: token buckets, refilled continuously."""

from __future__ import annotations

import threading
import time

from cachetools import LRUCache

from aura_server.domain.errors import DomainError


class RateLimited(DomainError):
    """Too many requests from one user or token; retry after `retry_after` seconds."""

    def __init__(self, who: str, retry_after: float) -> None:
        super().__init__(f"rate limit exceeded for {who}; retry in {retry_after:.2f} s")
        self.retry_after = retry_after


class RateLimiter:
    """`rate` requests a second per key, with bursts up to `burst`; rate 0 turns it off."""

    def __init__(self, rate: float, burst: float, keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._buckets: LRUCache[str, tuple[float, float]] = LRUCache(keys)  # tokens, when
        self._lock = threading.Lock()

    def take(self, key: str, who: str) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                raise RateLimited(who, (1.0 - tokens) / self.rate)
            self._buckets[key] = (tokens - 1.0, now)
