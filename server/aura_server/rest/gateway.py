"""A grpc-gateway-style HTTP/JSON door: every request becomes a gRPC call over a channel.

Because each call goes through the real gRPC server, every interceptor applies equally to
both doors. Headers `authorization` and `x-request-id` travel as metadata; a deadline comes
from `grpc-timeout` (gRPC's own format, e.g. "500m") or `x-request-timeout` (seconds).
"""

from __future__ import annotations

import json
import logging
import math
import mimetypes
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import grpc
import swagger_ui_bundle
from aura_client.calls import enum_number, enum_words
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from aura_server.grpc_api.interceptor import DOOR_METADATA
from aura_server.rest.http import Handler, ServerThread
from aura_server.rest.openapi import openapi_document
from aura_server.rest.routes import Route, build_routes, match

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 4 * 1024 * 1024
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
_GRPC_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}
SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)
DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Aura API</title>
<link rel="icon" href="/docs/favicon-32x32.png">
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout", validatorUrl: null});
</script></body></html>
"""


class BadRequest(Exception):
    """The HTTP request cannot become a gRPC request: `field` says where, the message
    starts with it."""

    def __init__(self, field: str, description: str) -> None:
        super().__init__(f"{field}: {description}")
        self.field = field
        self.description = description


def parse_timeout(headers: Any) -> float | None:
    value = headers.get("grpc-timeout")
    if value:
        found = re.fullmatch(r"(\d{1,8})([HMSmun])", value.strip())
        if found is None:
            raise BadRequest("grpc-timeout", f"{value!r} is not like 500m or 5S")
        return int(found.group(1)) * _GRPC_TIMEOUT_UNITS[found.group(2)]
    value = headers.get("x-request-timeout")
    if value:
        try:
            seconds = float(value)
        except ValueError:
            raise BadRequest("x-request-timeout", f"{value!r} is not a number of seconds") from None
        if not 0 < seconds <= 3600:
            raise BadRequest("x-request-timeout", "must be above 0 and at most 3600 seconds")
        return seconds
    return None


def _query_value(field: FieldDescriptor, text: str) -> Any:
    """A query-string value as proto3 JSON would carry it."""
    if field.type == FieldDescriptor.TYPE_BOOL:
        if text.lower() not in ("true", "false", "1", "0"):
            raise BadRequest(field.name, f"{text!r} is not true or false")
        return text.lower() in ("true", "1")
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        try:
            return float(text)
        except ValueError:
            raise BadRequest(field.name, f"{text!r} is not a number") from None
    if field.cpp_type in (FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_UINT32):
        try:
            return int(text)
        except ValueError:
            raise BadRequest(field.name, "must be a whole number") from None
    return text


def build_request(route: Route, path_params: dict[str, str], query: str, body: bytes) -> Message:
    request: Message = route.request_class()()
    document: dict[str, Any] = {}
    if route.body == "*":
        if body.strip():
            try:
                document = json.loads(body)
            except json.JSONDecodeError as exc:
                raise BadRequest(
                    "body", f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
                ) from None
            except UnicodeDecodeError:
                raise BadRequest("body", "not UTF-8 text") from None
            if not isinstance(document, dict):
                raise BadRequest("body", "must be a JSON object")
    else:
        document = _query_document(route.input_type, query)
    for name, value in path_params.items():
        field = route.input_type.fields_by_name[name]
        document[name] = _query_value(field, unquote(value))
    _normalise(document, route.input_type, "")
    try:
        json_format.ParseDict(document, request)
    except json_format.ParseError as exc:
        found = _PARSE_FIELD.search(str(exc)) or _PARSE_PATH.search(str(exc))
        raise BadRequest(found.group(1) if found else "body", str(exc)) from None
    return request


_PARSE_FIELD = re.compile(r"Failed to parse (\w+) field")
_PARSE_PATH = re.compile(r" at \w+\.(\S+)$")
_NUMBER_TYPES = (FieldDescriptor.CPPTYPE_DOUBLE, FieldDescriptor.CPPTYPE_FLOAT)
_INTEGER_TYPES = (
    FieldDescriptor.CPPTYPE_INT32,
    FieldDescriptor.CPPTYPE_UINT32,
    FieldDescriptor.CPPTYPE_INT64,
    FieldDescriptor.CPPTYPE_UINT64,
)


def _normalise(document: dict[str, Any], message: Descriptor, path: str) -> None:
    """Make the JSON what proto3 JSON parsing takes, as the SDK does for its callers:
    enum values may be plain words in any case ("click", "Explore") beside their names
    and numbers. Values that cannot fit their field, nulls and numbers written as strings
    are refused naming the field (the OpenAPI document says what each field takes)."""
    by_json_name = {field.json_name: field for field in message.fields}
    for key, value in document.items():
        field = message.fields_by_name.get(key) or by_json_name.get(key)
        if field is None:
            continue  # ParseDict names unknown fields
        where = f"{path}{field.name}"
        if value is None:  # the document has no nulls: a field left out is its default
            raise BadRequest(where, "must not be null (leave the field out)")
        if field.is_repeated and not isinstance(value, list):
            if field.message_type is None or not field.message_type.GetOptions().map_entry:
                raise BadRequest(where, "must be a list")
            continue
        items = value if field.is_repeated else [value]
        for index, item in enumerate(items):
            at = f"{where}[{index}]" if field.is_repeated else where
            if field.enum_type is not None:
                items[index] = _enum_name(field, item, at)
            elif field.cpp_type in _INTEGER_TYPES:
                _check_integer(item, at)
            elif field.cpp_type in _NUMBER_TYPES:
                _check_number(item, at)
            elif (
                field.message_type is not None
                and isinstance(item, dict)
                and not field.message_type.full_name.startswith("google.protobuf.")
            ):
                _normalise(item, field.message_type, f"{at}.")
        if not field.is_repeated:
            document[key] = items[0]


def _enum_name(field: FieldDescriptor, value: Any, where: str) -> str:
    enum = field.enum_type
    assert enum is not None
    try:
        number = enum_number(enum, value)
    except ValueError as error:
        raise BadRequest(where, f"must be one of {enum_words(enum)}") from error
    return str(enum.values_by_number[number].name)


def _check_number(value: Any, where: str) -> None:
    """A JSON number (not a string of one: the document says number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(where, "must be a number")


def _check_integer(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(where, "must be a whole number")
    if isinstance(value, float) and not value.is_integer():
        raise BadRequest(where, "must be a whole number")


def _query_document(message: Descriptor, query: str) -> dict[str, Any]:
    document: dict[str, Any] = {}
    by_json_name = {field.json_name: field for field in message.fields}
    for name, values in parse_qs(query, keep_blank_values=True, strict_parsing=False).items():
        field = message.fields_by_name.get(name) or by_json_name.get(name)
        if field is None:
            raise BadRequest(name, "no such query parameter")
        nested = field.message_type
        if nested is not None and not nested.full_name.startswith("google.protobuf."):
            raise BadRequest(name, "cannot be given as a query parameter")
        converted = [_query_value(field, value) for value in values]
        document[field.name] = converted if field.is_repeated else converted[-1]
    return document


def _worker_header(call: Any) -> dict[str, str]:
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


class RestGateway:
    """The HTTP server of the REST door, forwarding to gRPC at `target`."""

    def __init__(
        self, target: str, host: str = "0.0.0.0", port: int = 8000, reuse_port: bool = False
    ) -> None:
        self.channel = grpc.insecure_channel(target)
        self.routes = build_routes()
        self.openapi = json.dumps(openapi_document(self.routes)).encode()
        self.calls = {
            route.grpc_path: self.channel.unary_unary(
                route.grpc_path,
                request_serializer=lambda message: message.SerializeToString(),
                response_deserializer=route.response_class().FromString,
            )
            for route in self.routes
        }
        gateway = self

        class Door(GatewayHandler):
            owner = gateway

        self._server = ServerThread(Door, host, port, reuse_port, "aura-http")
        self.port = self._server.port

    def start(self) -> None:
        self._server.start()
        log.info("Aura REST door listening on port %d", self.port)

    def stop(self) -> None:
        self._server.stop()
        self.channel.close()


class GatewayHandler(Handler):
    owner: RestGateway

    def __getattr__(self, name: str) -> Any:
        """Every HTTP method goes through the router (do_GET, do_POST, ... and methods no
        route uses, which get a JSON 405 with Allow, or 404, instead of a bare 501)."""
        if name.startswith("do_"):
            return lambda: self._dispatch(name.removeprefix("do_"))
        raise AttributeError(name)

    def _error(
        self,
        status: int,
        code: grpc.StatusCode,
        message: str,
        extra: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        payload = {"code": code.value[0], "message": message, "details": details or []}
        self._send(status, json.dumps(payload).encode(), extra=extra)

    def _dispatch(self, http_method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._error(413, grpc.StatusCode.RESOURCE_EXHAUSTED, "body: larger than 4 MiB")
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        if http_method == "GET" and self._static(url.path):
            return
        route, path_params, allowed = match(self.owner.routes, http_method, url.path)
        if route is None:
            if allowed:
                self._error(
                    405,
                    grpc.StatusCode.UNIMPLEMENTED,
                    f"{http_method} is not allowed on {url.path}",
                    {"Allow": ", ".join(allowed)},
                )
            else:
                self._error(404, grpc.StatusCode.NOT_FOUND, f"no route for {url.path}")
            return
        try:
            timeout = parse_timeout(self.headers)
            deadline = None if timeout is None else time.monotonic() + timeout
            request = build_request(route, path_params, url.query, body)
        except BadRequest as exc:
            violation = {"field": exc.field, "description": exc.description}
            details = [
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "field_violations": [violation],
                }
            ]
            self._error(400, grpc.StatusCode.INVALID_ARGUMENT, str(exc), details=details)
            return
        metadata = [
            (name, self.headers[name])
            for name in ("authorization", "x-request-id")
            if self.headers.get(name)
        ]
        metadata.append((DOOR_METADATA, "rest"))
        if deadline is not None:
            timeout = deadline - time.monotonic()
            if timeout <= 0:  # gRPC would race its own expired timer against the answer
                self._error(
                    504, grpc.StatusCode.DEADLINE_EXCEEDED, "the deadline passed before the call"
                )
                return
        try:
            reply, call = self.owner.calls[route.grpc_path].with_call(
                request, timeout=timeout, metadata=metadata
            )
        except grpc.RpcError as error:
            status, payload, headers = error_body(error)
            self._send(status, payload, extra={**headers, **_worker_header(error)})
            return
        status = 200
        if route.grpc_path.endswith("/GetStatus") and getattr(reply, "status", "") != "SERVING":
            status = 503
        answer = getattr(reply, route.response_body) if route.response_body else reply
        self._send(status, to_json(answer), extra=_worker_header(call))

    def _static(self, path: str) -> bool:
        """The OpenAPI document and Swagger UI (served from an installed package); the
        operators' pages are on their own door (admin.py)."""
        if path == "/openapi.json":
            self._send(200, self.owner.openapi)
        elif path in ("/docs", "/docs/"):
            self._send(200, DOCS_PAGE.encode(), "text/html; charset=utf-8")
        elif path.startswith("/docs/"):
            name = path.removeprefix("/docs/")
            asset = SWAGGER_DIR / name
            if "/" in name or not asset.is_file():
                self._error(404, grpc.StatusCode.NOT_FOUND, f"no route for {path}")
            else:
                kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
                self._send(200, asset.read_bytes(), kind)
        elif path == "/":
            self._send(302, b"", extra={"Location": "/docs"})
        else:
            return False
        return True
