"""The OpenAPI 3 document of the REST door, generated from the compiled descriptors.

Schemas follow the proto3 JSON mapping with the original (snake_case) field names, which
is what the door writes; requests also accept lowerCamelCase names.
"""

from __future__ import annotations

from typing import Any

from aura_client.calls import enum_number, enum_words
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from aura_server import __version__
from aura_server.domain.gazetteer import gazetteer
from aura_server.rest import examples, schema_rules
from aura_server.rest.routes import Route, source_comments

# Well-known types that proto3 JSON writes as plain values.
WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string"},
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.Any": {"type": "object", "additionalProperties": True},
}
_SCALARS: dict[int, dict[str, Any]] = {
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0},
    # 64-bit integers are strings in proto3 JSON.
    FieldDescriptor.TYPE_INT64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_SINT64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_SFIXED64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_UINT64: {"type": "string", "format": "uint64"},
    FieldDescriptor.TYPE_FIXED64: {"type": "string", "format": "uint64"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
}
ERROR_SCHEMA = {
    "type": "object",
    "description": "A gRPC status: code, message and the google.rpc error details.",
    "properties": {
        "code": {"type": "integer", "description": "The gRPC status code."},
        "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
    },
    "required": ["code", "message", "details"],
}


class OpenAPIBuilder:
    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        self.comments = source_comments()
        self.schemas: dict[str, Any] = {"Status": ERROR_SCHEMA}
        self.request_messages = _reachable([route.method.input_type for route in routes])

    def document(self) -> dict[str, Any]:
        paths: dict[str, dict[str, Any]] = {}
        for route in self.routes:
            paths.setdefault(route.template, {})[route.http_method.lower()] = self._operation(route)
        return {
            "openapi": "3.0.3",
            "info": {
                "title": "Aura API",
                "version": __version__,
                "description": "Real-time event recommendations for Ventyy. This REST door "
                "mirrors the gRPC API (package aura.v1) and is generated from its protos.",
            },
            "servers": [{"url": "/"}],
            "tags": [
                {"name": name.split(".")[-1], "description": self.comments.get(name, "")}
                for name in dict.fromkeys(
                    r.method.containing_service.full_name for r in self.routes
                )
            ],
            "paths": paths,
            "components": {
                "schemas": dict(sorted(self.schemas.items())),
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                },
            },
            "security": [{"bearerAuth": []}, {}],
        }

    def _operation(self, route: Route) -> dict[str, Any]:
        method = route.method
        full_name = f"{method.containing_service.full_name}.{method.name}"
        operation: dict[str, Any] = {
            "operationId": f"{method.containing_service.name}_{method.name}",
            "tags": [method.containing_service.name],
            "summary": method.name,
            "description": self.comments.get(full_name, ""),
            "parameters": [self._path_parameter(route, name) for name in route.path_fields],
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": self._ref(route.response_type)}},
                },
                "default": {
                    "description": "An error, as a gRPC status",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Status"}}
                    },
                },
            },
        }
        if method.containing_service.name == "StatusService":
            operation["security"] = []  # health is open to everyone
        if route.body == "*":
            body: dict[str, Any] = {"schema": self._ref(method.input_type)}
            if method.input_type.full_name in examples.BODIES:
                body["example"] = examples.BODIES[method.input_type.full_name]
            operation["requestBody"] = {"required": True, "content": {"application/json": body}}
        elif not route.body:
            operation["parameters"] += [
                self._query_parameter(route.input_type, field)
                for field in route.input_type.fields
                if field.name not in route.path_fields
            ]
        return operation

    def _path_parameter(self, route: Route, name: str) -> dict[str, Any]:
        field = route.input_type.fields_by_name[name]
        return {
            "name": name,
            "in": "path",
            "required": True,
            "description": self._field_comment(route.input_type, field),
            "schema": self._field_schema(field),
            **self._example(route.input_type, field),
        }

    def _query_parameter(self, message: Descriptor, field: FieldDescriptor) -> dict[str, Any]:
        return {
            "name": field.name,
            "in": "query",
            "required": schema_rules.is_required(field),
            "description": self._field_comment(message, field),
            "schema": self._field_schema(field),
            **({"style": "form", "explode": True} if _repeated(field) else {}),
            **self._example(message, field),
        }

    @staticmethod
    def _example(message: Descriptor, field: FieldDescriptor) -> dict[str, Any]:
        key = (message.full_name, field.name)
        return {"example": examples.PARAMETERS[key]} if key in examples.PARAMETERS else {}

    def _field_comment(self, message: Descriptor, field: FieldDescriptor) -> str:
        return self.comments.get(f"{message.full_name}.{field.name}", "")

    def _ref(self, message: Descriptor) -> dict[str, Any]:
        if message.full_name in WELL_KNOWN:
            return dict(WELL_KNOWN[message.full_name])
        name = message.full_name.removeprefix("aura.v1.").replace(".", "_")
        if name not in self.schemas:
            self.schemas[name] = {}  # placeholder first: messages may refer to themselves
            self.schemas[name] = self._message_schema(message)
        return {"$ref": f"#/components/schemas/{name}"}

    def _message_schema(self, message: Descriptor) -> dict[str, Any]:
        """A message: its fields with their rules; a request's refuses fields it does not
        name."""
        request = message.full_name in self.request_messages
        required = [field.name for field in message.fields if schema_rules.is_required(field)]
        properties = {}
        for field in message.fields:
            schema = self._field_schema(field)
            comment = self._field_comment(message, field)
            if comment and "$ref" not in schema:
                schema["description"] = comment
            properties[field.name] = schema
        notes = schema_rules.message_notes(message)
        described: dict[str, Any] = {
            "type": "object",
            "description": " ".join([self.comments.get(message.full_name, ""), *notes]).strip(),
            "properties": properties,
        }
        if required:
            described["required"] = required
        if request:
            described["additionalProperties"] = False
        conditions = schema_rules.message_conditions(message)
        if len(conditions) == 1:
            described.update(conditions[0])
        elif conditions:
            described["allOf"] = conditions
        return described

    def _field_schema(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value = field.message_type.fields_by_name["value"]
            return {"type": "object", "additionalProperties": self._single_schema(value)}
        single = self._single_schema(field)
        schema = {"type": "array", "items": single} if _repeated(field) else single
        owner = field.containing_type
        if field.name == "neighborhood" and owner and owner.full_name in self.request_messages:
            # A place a request names must be the gazetteer's (the domain's data, not a rule).
            schema["enum"] = ["", *(place.name for place in gazetteer().places)]
        return schema_rules.apply(schema, field)

    def _single_schema(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.message_type is not None:
            return self._ref(field.message_type)
        if field.enum_type is not None:
            return self._enum_schema(field.enum_type, schema_rules.refused_numbers(field))
        return dict(_SCALARS[field.type])

    def _enum_schema(self, enum: EnumDescriptor, refused: set[int]) -> dict[str, Any]:
        """The names (what responses carry), the plain words requests may use too (in any
        case), or the numbers (proto3 JSON); less the values the field refuses."""
        taken = [value for value in enum.values if value.number not in refused]
        words = [
            word
            for word in enum_words(enum).split(", ")
            if word and enum_number(enum, word) not in refused
        ]
        described = [
            f"{value.name}: {self.comments[f'{enum.full_name}.{value.name}']}"
            for value in taken
            if f"{enum.full_name}.{value.name}" in self.comments
        ]
        note = f"Requests may also give the plain words ({', '.join(words)}), in any case."
        description = " ".join(
            filter(None, [self.comments.get(enum.full_name, ""), *described, note])
        )
        return {
            "description": description,
            "anyOf": [
                {"type": "string", "enum": [value.name for value in taken] + words},
                {"type": "integer", "enum": [value.number for value in taken]},
            ],
        }


def _reachable(messages: list[Descriptor]) -> set[str]:
    """The aura messages a request may carry: the requests and the messages inside them."""
    seen: set[str] = set()
    todo = list(messages)
    while todo:
        message = todo.pop()
        if message.full_name in seen or message.full_name in WELL_KNOWN:
            continue
        seen.add(message.full_name)
        todo += [field.message_type for field in message.fields if field.message_type]
    return seen


def _repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def openapi_document(routes: list[Route]) -> dict[str, Any]:
    return OpenAPIBuilder(routes).document()
