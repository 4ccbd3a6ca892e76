"""Domain errors as gRPC statuses, with google.rpc details that name the field."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from aura_server.access.limits import RateLimited
from aura_server.access.tokens import PermissionDenied, Unauthenticated
from aura_server.domain.errors import (
    DeadlineExceeded,
    DomainError,
    InvalidArgument,
    NotFound,
    StoreUnavailable,
)

log = logging.getLogger(__name__)

Handler = Callable[[Any, grpc.ServicerContext], Any]


def wrap_unary(
    handler: grpc.RpcMethodHandler | None, wrap: Callable[[Handler], Handler]
) -> grpc.RpcMethodHandler | None:
    """The same handler with its unary behaviour wrapped (streams and unknown methods
    pass through): the one piece every interceptor here needs."""
    if handler is None or handler.unary_unary is None:
        return handler
    return grpc.unary_unary_rpc_method_handler(
        wrap(handler.unary_unary),
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _status(code: int, message: str, detail: Any | None = None) -> grpc.Status:
    status = status_pb2.Status(code=code, message=message)
    if detail is not None:
        packed = any_pb2.Any()
        packed.Pack(detail)
        status.details.append(packed)
    return rpc_status.to_status(status)


# When to try again after the store refused a write (it was held, or unreachable).
STORE_RETRY_MS = 500


def status_for(error: DomainError) -> grpc.Status:
    """The status a domain error becomes, with google.rpc details that name the field."""
    if isinstance(error, InvalidArgument):
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=error.field, description=error.description
        )
        return _status(
            code_pb2.INVALID_ARGUMENT,
            str(error),
            error_details_pb2.BadRequest(field_violations=[violation]),
        )
    if isinstance(error, NotFound):
        return _status(
            code_pb2.NOT_FOUND,
            str(error),
            error_details_pb2.ResourceInfo(resource_name=error.field, description=str(error)),
        )
    if isinstance(error, RateLimited):
        retry = error_details_pb2.RetryInfo()
        retry.retry_delay.FromNanoseconds(int(error.retry_after * 1e9))
        return _status(code_pb2.RESOURCE_EXHAUSTED, str(error), retry)
    if isinstance(error, DeadlineExceeded):
        return _status(code_pb2.DEADLINE_EXCEEDED, str(error))
    if isinstance(error, Unauthenticated):
        return _status(code_pb2.UNAUTHENTICATED, str(error))
    if isinstance(error, PermissionDenied):
        return _status(code_pb2.PERMISSION_DENIED, str(error))
    if isinstance(error, StoreUnavailable):
        retry = error_details_pb2.RetryInfo()
        retry.retry_delay.FromMilliseconds(STORE_RETRY_MS)
        return _status(code_pb2.UNAVAILABLE, f"store unavailable: {error}", retry)
    return _status(code_pb2.INTERNAL, str(error))


def internal(method: str) -> grpc.Status:
    """What a bug becomes for the caller: no more than needed."""
    return _status(code_pb2.INTERNAL, f"internal error in {method}")
