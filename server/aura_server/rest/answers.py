"""A gRPC answer as the REST door's HTTP answer: the reply as proto3 JSON, a status as
grpc-gateway maps it with its google.rpc details, the worker that answered."""

from __future__ import annotations

import json
import math
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

# gRPC status code -> HTTP status, as grpc-gateway maps them.
HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
}


def worker_header(call: Any) -> dict[str, str]:
    """The gRPC worker that answered, as the REST door's x-aura-worker header."""
    metadata = call.trailing_metadata() or ()
    return {key: value for key, value in metadata if key == "x-aura-worker"}


def to_json(message: Message) -> bytes:
    return json_format.MessageToJson(
        message,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
        indent=None,
    ).encode()


def error_body(error: grpc.RpcError) -> tuple[int, bytes, dict[str, str]]:
    code: grpc.StatusCode = error.code()
    details = []
    headers: dict[str, str] = {}
    status = rpc_status.from_call(error)
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                headers["Retry-After"] = str(
                    max(1, math.ceil(retry.retry_delay.ToTimedelta().total_seconds()))
                )
            try:
                details.append(json_format.MessageToDict(detail, preserving_proto_field_name=True))
            except (TypeError, KeyError):
                details.append({"@type": detail.type_url})
    payload = {
        "code": code.value[0],
        "message": error.details() or code.name,
        "details": details,
    }
    return HTTP_STATUS.get(code, 500), json.dumps(payload).encode(), headers
