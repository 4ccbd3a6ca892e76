"""A trace span per call when tracing is on (the metric sample and log line of every
call are in interceptor.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import grpc

from aura_server.grpc_api.errors import Handler, wrap_unary
from aura_server.telemetry.tracing import Tracer


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
