"""Turning a storage driver's connection errors into the domain's StoreUnavailable."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from aura_server.domain.errors import StoreUnavailable
from aura_server.domain.repository import Repository
from aura_server.telemetry.metrics import metrics


def unavailable_on(*errors: type[Exception]) -> Callable[[type[Repository]], type[Repository]]:
    """Class decorator for a backend: its driver's connection errors, raised by any
    repository method, become StoreUnavailable (UNAVAILABLE to clients, never INTERNAL)."""

    def decorate(cls: type[Repository]) -> type[Repository]:
        for name in Repository.__abstractmethods__:
            method = cls.__dict__.get(name)
            if method is None or name == "close":
                continue

            # The metric child, looked up once (a label lookup per call cost more than
            # the histogram's own work).
            latency: list[Any] = []

            @functools.wraps(method)
            def guarded(
                self: Repository,
                *args: object,
                __method: Callable[..., object] = method,
                __name: str = name,
                __latency: list[Any] = latency,
                **kwargs: object,
            ) -> object:
                started = time.perf_counter()
                try:
                    return __method(self, *args, **kwargs)
                except errors as exc:
                    metrics().store_errors.labels(__name).inc()
                    raise StoreUnavailable(f"{self.backend}: {exc}") from exc
                finally:
                    if not __latency:
                        __latency.append(metrics().store_latency.labels(__name))
                    __latency[0].observe(time.perf_counter() - started)

            setattr(cls, name, guarded)
        return cls

    return decorate
