"""An HTTP request as the gRPC request it stands for: path and query parameters and the
JSON body (proto3 JSON, with the door's stricter reading: no nulls, numbers as numbers)
into the request message, and the deadline from the headers. A request that cannot
become one is a BadRequest naming the field."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, unquote

from aura_client.calls import enum_number, enum_words
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from aura_server.rest.routes import Route

_GRPC_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}


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
