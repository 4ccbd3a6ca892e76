"""The one interceptor every call passes through, doing in one wrapper what a call needs
around its servicer: the worker tag, the deadline check, the token and what it may do,
the rate limits, the constraints the protos declare (constraints.py), domain errors
mapped to status codes, a metric sample and a log line.

One wrapper, built once per method and reused (not per call), and metric children looked
up once per label set: the health Check must cost little more than on a bare server.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

import grpc

from aura_server.access.limits import RateLimiter
from aura_server.access.rules import OPEN_PREFIXES, authorize
from aura_server.access.tokens import TokenVerifier, bearer_token
from aura_server.domain.errors import DeadlineExceeded, DomainError
from aura_server.grpc_api.constraints import check_request
from aura_server.grpc_api.errors import Handler, internal, status_for
from aura_server.telemetry.metrics import metrics

log = logging.getLogger("aura.requests")


class Tagged(
    NamedTuple("Tagged", [("code", Any), ("details", str), ("trailing_metadata", Any)]), grpc.Status
):
    """A status with the worker's tag among its trailing metadata."""


DOOR_METADATA = "x-aura-door"  # the REST door marks the calls it forwards


class RequestInterceptor(grpc.ServerInterceptor):
    def __init__(self, worker: str, verifier: TokenVerifier | None, limiter: RateLimiter) -> None:
        self.worker = worker
        self.tag = (("x-aura-worker", worker),)
        self.verifier = verifier
        self.limiter = limiter
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}
        self._counters: dict[tuple[str, str, str], Any] = {}
        self._latencies: dict[tuple[str, str], Any] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        method = handler_call_details.method
        wrapped = self._handlers.get(method)
        if wrapped is not None:
            return wrapped
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler  # unknown methods and streams (reflection) pass through
        wrapped = grpc.unary_unary_rpc_method_handler(
            self._wrap(method, handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        self._handlers[method] = wrapped
        return wrapped

    def _wrap(self, method: str, inner: Handler) -> Handler:
        rpc = method.rsplit("/", 1)[-1]
        checked = not method.startswith(OPEN_PREFIXES)

        def call(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            try:
                # With the status, in the answer's one batch: initial metadata sent apart
                # costs the call a batch of its own.
                context.set_trailing_metadata(self.tag)
                if checked:
                    self._admit(method, request, context)
                    check_request(request)
                response = inner(request, context)
            except DomainError as error:
                status = status_for(error)
            except grpc.RpcError:  # the client went away (cancelled): nobody to answer
                self._record(rpc, "CANCELLED", time.perf_counter() - started, request, context)
                raise
            except Exception:  # a bug: log it whole, tell the caller no more than needed
                log.exception("unhandled error in %s", method)
                status = internal(method)
            else:
                self._record(rpc, "OK", time.perf_counter() - started, request, context)
                return response
            self._record(rpc, status.code.name, time.perf_counter() - started, request, context)
            context.abort_with_status(
                Tagged(status.code, status.details, (*status.trailing_metadata, *self.tag))
            )

        return call

    def _admit(self, method: str, request: Any, context: grpc.ServicerContext) -> None:
        """The deadline, the token and what it may do, and the rate limits."""
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            raise DeadlineExceeded("the client's deadline passed before the work began")
        if self.verifier is not None:
            metadata = dict(context.invocation_metadata())
            principal = self.verifier.verify(bearer_token(metadata.get("authorization")))
            authorize(principal, method, request)
            if not principal.is_service:
                self.limiter.take(f"token:{principal.subject}", f"token {principal.subject}")
        user_id = getattr(request, "user_id", "")
        if user_id:
            self.limiter.take(f"user:{user_id}", f"user {user_id}")

    def _record(
        self, rpc: str, code: str, elapsed: float, request: Any, context: grpc.ServicerContext
    ) -> None:
        door = "grpc"
        request_id = ""
        for key, value in context.invocation_metadata() or ():
            if key == DOOR_METADATA and value == "rest":
                door = "rest"
            elif key == "x-request-id":
                request_id = str(value)
        counter = self._counters.get((rpc, door, code))
        if counter is None:
            counter = self._counters[(rpc, door, code)] = metrics().requests.labels(rpc, door, code)
        latency = self._latencies.get((rpc, door))
        if latency is None:
            latency = self._latencies[(rpc, door)] = metrics().latency.labels(rpc, door)
        counter.inc()
        latency.observe(elapsed)
        if log.isEnabledFor(logging.INFO):
            log.info(
                "%s %s %.1f ms",
                rpc,
                code,
                elapsed * 1000,
                extra={
                    "request_id": request_id or uuid.uuid4().hex,
                    "user_id": getattr(request, "user_id", ""),
                    "rpc": rpc,
                    "door": door,
                    "status": code,
                    "latency_ms": round(elapsed * 1000, 3),
                    "worker": self.worker,
                },
            )
