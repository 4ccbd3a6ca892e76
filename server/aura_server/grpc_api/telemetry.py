"""The request interceptors: a metric sample and a structured log line for every call, and
a trace span when tracing is on."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import grpc

from aura_server.grpc_api.errors import Handler, wrap_unary
from aura_server.telemetry.metrics import metrics
from aura_server.telemetry.tracing import Tracer

log = logging.getLogger("aura.requests")
DOOR_METADATA = "x-aura-door"  # the REST door marks the calls it forwards


class TelemetryInterceptor(grpc.ServerInterceptor):
    def __init__(self, worker: str) -> None:
        self.worker = worker

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        rpc = handler_call_details.method.rsplit("/", 1)[-1]
        metadata = dict(handler_call_details.invocation_metadata or ())
        door = "rest" if metadata.get(DOOR_METADATA) == "rest" else "grpc"
        request_id = str(metadata.get("x-request-id") or uuid.uuid4().hex)

        def observe(inner: Handler) -> Handler:
            def observed(request: Any, context: grpc.ServicerContext) -> Any:
                started = time.perf_counter()
                code = "OK"
                try:
                    return inner(request, context)
                except BaseException:
                    status = context.code()  # set by abort before it raises
                    code = status.name if isinstance(status, grpc.StatusCode) else "UNKNOWN"
                    raise
                finally:
                    elapsed = time.perf_counter() - started
                    recorded = metrics()
                    recorded.requests.labels(rpc, door, code).inc()
                    recorded.latency.labels(rpc, door).observe(elapsed)
                    if log.isEnabledFor(logging.INFO):
                        log.info(
                            "%s %s %.1f ms",
                            rpc,
                            code,
                            elapsed * 1000,
                            extra={
                                "request_id": request_id,
                                "user_id": getattr(request, "user_id", ""),
                                "rpc": rpc,
                                "door": door,
                                "status": code,
                                "latency_ms": round(elapsed * 1000, 3),
                                "worker": self.worker,
                            },
                        )

            return observed

        return wrap_unary(continuation(handler_call_details), observe)


class TracingInterceptor(grpc.ServerInterceptor):
    """A server span per call, named after the RPC, with the gRPC semantic attributes."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer.tracer

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        method = handler_call_details.method
        service, _, rpc = method.lstrip("/").partition("/")

        def traced(inner: Handler) -> Handler:
            def call(request: Any, context: grpc.ServicerContext) -> Any:
                with self.tracer.start_as_current_span(
                    f"{service}/{rpc}",
                    kind=SpanKind.SERVER,
                    attributes={
                        "rpc.system": "grpc",
                        "rpc.service": service,
                        "rpc.method": rpc,
                        "aura.user_id": getattr(request, "user_id", ""),
                    },
                    record_exception=False,
                    set_status_on_exception=False,
                ) as span:
                    started = time.perf_counter()
                    try:
                        return inner(request, context)
                    except BaseException:
                        code = context.code()
                        name = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
                        span.set_attribute("rpc.grpc.status_code", name)
                        span.set_status(Status(StatusCode.ERROR, name))
                        raise
                    finally:
                        span.set_attribute("aura.seconds", time.perf_counter() - started)

            return call

        return wrap_unary(continuation(handler_call_details), traced)
