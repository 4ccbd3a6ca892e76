"""Per-caller rate limits: token buckets, refilled continuously, shared by every worker.

Buckets live in fixed slots addressed by a hash of the caller's key, in memory mapped
before the workers fork, so `--workers N` allows the configured rate in all, not N times
it. Two callers whose keys share a slot share a bucket; with 262,144 slots that is rare
and can only make a limit stricter, never looser.
"""

from __future__ import annotations

import mmap
import multiprocessing
import time
import zlib

import numpy as np

from aura_server.domain.errors import DomainError

SLOTS = 1 << 18


class RateLimited(DomainError):
    """Too many requests from one user or token; retry after `retry_after` seconds."""

    def __init__(self, who: str, retry_after: float) -> None:
        super().__init__(f"rate limit exceeded for {who}; retry in {retry_after:.2f} s")
        self.retry_after = retry_after


class RateLimiter:
    """`rate` requests a second per key, with bursts up to `burst`; rate 0 turns it off.
    Create it before forking workers: they then share its buckets."""

    def __init__(self, rate: float, burst: float, slots: int = SLOTS) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._slots = slots if rate > 0 else 1
        # Per slot: tokens used (0 = a full bucket, so fresh zeroed memory is all full
        # buckets) and when they were counted (time.monotonic, the same in every process).
        self._memory = mmap.mmap(-1, 2 * 8 * self._slots)  # anonymous and shared across fork
        self._used = np.frombuffer(self._memory, dtype=np.float64, count=self._slots)
        self._when = np.frombuffer(
            self._memory, dtype=np.float64, count=self._slots, offset=8 * self._slots
        )
        self._lock = multiprocessing.Lock()

    def take(self, key: str, who: str) -> None:
        if self.rate <= 0:
            return
        slot = zlib.crc32(key.encode()) % self._slots
        now = time.monotonic()
        with self._lock:
            refilled = (now - float(self._when[slot])) * self.rate
            tokens = min(self.burst, self.burst - float(self._used[slot]) + refilled)
            self._when[slot] = now
            if tokens < 1.0:
                self._used[slot] = self.burst - tokens
                raise RateLimited(who, (1.0 - tokens) / self.rate)
            self._used[slot] = self.burst - tokens + 1.0
