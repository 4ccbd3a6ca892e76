"""Property-based fuzzing of every RPC's request, over a real gRPC channel and through the
REST door: whatever the values, the answer is OK or a clear client error (never INTERNAL or
UNKNOWN, never a 5xx), and the server lives."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from harness import Rest, Served, copy_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aura_server.rest.gateway import RestGateway
from aura_server.rest.routes import SERVICES, Route, build_routes

CLIENT_ERRORS = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "demo-00001",
            "u1",
            '{"$ne": null}',
            "$where",
            "a.b",
            "Techno",
            "Bushwick",
            "x" * 600,
            "jazz tonight under $40",
            "\x00",
            "'; DROP TABLE",
        ]
    ),
)
INT32 = st.one_of(st.integers(-(2**31), 2**31 - 1), st.integers(-5, 120))
DOUBLE = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-200, 200))


def _value(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.message_type is not None:
        if field.message_type.full_name == "google.protobuf.Timestamp":
            return st.fixed_dictionaries(
                {
                    "seconds": st.one_of(
                        st.integers(-62135596800, 253402300799),
                        st.integers(1_700_000_000, 1_900_000_000),
                    ),
                    "nanos": st.integers(0, 999_999_999),
                }
            )
        return message_fields(field.message_type, depth + 1)
    if field.enum_type is not None:
        return st.one_of(st.sampled_from([v.number for v in field.enum_type.values]), INT32)
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return DOUBLE
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type == FieldDescriptor.TYPE_STRING:
        return TEXT
    return INT32


def message_fields(message: Descriptor, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    if depth > 2:
        return st.just({})
    strategies = {}
    for field in message.fields:
        single = _value(field, depth)
        strategies[field.name] = st.lists(single, max_size=3) if field.is_repeated else single
    return st.fixed_dictionaries({}, optional=strategies)


def fill(message: Message, values: dict[str, Any]) -> Message:
    for name, value in values.items():
        field = message.DESCRIPTOR.fields_by_name[name]
        if field.message_type is not None:
            if field.is_repeated:
                for item in value:
                    fill(getattr(message, name).add(), item)
            else:
                fill(getattr(message, name), value)
        elif field.is_repeated:
            getattr(message, name).extend(value)
        else:
            setattr(message, name, value)
    return message


METHODS = [
    method
    for service in SERVICES
    for method in descriptor_pool.Default().FindServiceByName(service).methods
]


@pytest.fixture(scope="module")
def fuzz_target(catalog_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    path = copy_of(catalog_file, tmp_path_factory.mktemp("fuzz") / "aura.db")
    stack = Served(path)
    yield stack
    stack.close()


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.name)
def test_no_request_makes_the_server_fail(fuzz_target: Served, method: Any) -> None:
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    call = fuzz_target.channel.unary_unary(
        f"/{method.containing_service.full_name}/{method.name}",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_class.FromString,
    )

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(message_fields(method.input_type))
    def check(values: dict[str, Any]) -> None:
        request = fill(request_class(), values)
        try:
            call(request, timeout=20)
        except grpc.RpcError as error:
            assert error.code() in CLIENT_ERRORS, (error.code(), error.details(), request)

    check()
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    alive = health_pb2_grpc.HealthStub(fuzz_target.channel).Check(health_pb2.HealthCheckRequest())
    assert alive.status == health_pb2.HealthCheckResponse.SERVING


ROUTES = build_routes()


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.http_method} {r.template}")
def test_no_request_makes_the_rest_door_fail(fuzz_target: Served, route: Route) -> None:
    gateway = RestGateway(f"127.0.0.1:{fuzz_target.server.port}", host="127.0.0.1", port=0)
    gateway.start()
    rest = Rest(gateway.port)
    request_class = route.request_class()

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(message_fields(route.input_type))
    def check(values: dict[str, Any]) -> None:
        message = fill(request_class(), values)
        document = json_format.MessageToDict(message, preserving_proto_field_name=True)
        path = route.template
        for name in route.path_fields:
            path = path.replace(
                "{" + name + "}", urllib.parse.quote(str(document.pop(name, "x")), safe="")
            )
        if route.body == "*":
            status, _, _ = rest.call(route.http_method, path, document)
        else:
            query = urllib.parse.urlencode(
                {k: v for k, v in document.items() if not isinstance(v, dict | list)}
            )
            status, _, _ = rest.call(route.http_method, f"{path}?{query}" if query else path)
        assert status < 500, (status, route.template, document)

    try:
        check()
    finally:
        gateway.stop()
