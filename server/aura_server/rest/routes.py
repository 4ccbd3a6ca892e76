"""HTTP routes read from the `google.api.http` annotations of the compiled protos."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from aura.v1 import (  # noqa: F401 (importing registers the services in the pool)
    behavior_pb2,
    catalog_pb2,
    feedback_pb2,
    onboarding_pb2,
    recommend_pb2,
    status_pb2,
)
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, MethodDescriptor

# The services behind the REST door, in the order the documentation lists them.
SERVICES = (
    "aura.v1.StatusService",
    "aura.v1.OnboardingService",
    "aura.v1.BehaviorService",
    "aura.v1.FeedbackService",
    "aura.v1.RecommendService",
    "aura.v1.CatalogService",
)
_TEMPLATE_VARIABLE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


@dataclass(frozen=True)
class Route:
    http_method: str  # GET, POST, ...
    template: str  # "/v1/catalog/events/{event_id}"
    pattern: re.Pattern[str]
    path_fields: tuple[str, ...]
    body: str  # "*" (the whole request), "" (none: query parameters fill it)
    method: MethodDescriptor
    response_body: str = ""  # the response field sent as the whole HTTP body ("": all)

    @property
    def grpc_path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def input_type(self) -> Descriptor:
        return self.method.input_type

    def request_class(self) -> Any:
        return message_factory.GetMessageClass(self.method.input_type)

    def response_class(self) -> Any:
        return message_factory.GetMessageClass(self.method.output_type)

    @property
    def response_type(self) -> Descriptor:
        """What the HTTP body holds: the response, or its `response_body` field."""
        if self.response_body:
            message = self.method.output_type.fields_by_name[self.response_body].message_type
            assert message is not None, "response_body names a message field"
            return message
        return self.method.output_type


def _rule(method: MethodDescriptor) -> http_pb2.HttpRule | None:
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return None
    rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    return rule


def build_routes() -> list[Route]:
    pool = descriptor_pool.Default()
    routes = []
    for service_name in SERVICES:
        for method in pool.FindServiceByName(service_name).methods:
            rule = _rule(method)
            if rule is None:
                continue
            verb = rule.WhichOneof("pattern")
            if verb is None or verb == "custom":
                continue
            template = getattr(rule, verb)
            regex = _TEMPLATE_VARIABLE.sub(lambda m: f"(?P<{m.group(1)}>[^/]+)", template)
            routes.append(
                Route(
                    http_method=verb.upper(),
                    template=template,
                    pattern=re.compile(f"^{regex}$"),
                    path_fields=tuple(_TEMPLATE_VARIABLE.findall(template)),
                    body=rule.body,
                    method=method,
                    response_body=rule.response_body,
                )
            )
    return routes


def match(
    routes: list[Route], http_method: str, path: str
) -> tuple[Route | None, dict[str, str], list[str]]:
    """The route for the request, its path parameters, and the methods the path allows
    (to answer 405 with Allow when the path exists under another method)."""
    allowed: list[str] = []
    for route in routes:
        found = route.pattern.match(path)
        if found is None:
            continue
        if route.http_method == http_method:
            return route, found.groupdict(), []
        allowed.append(route.http_method)
    return None, {}, sorted(set(allowed))


def source_comments() -> dict[str, str]:
    """The leading comment of every message, field, enum, enum value, service and method,
    by full name (fields as Message.field), from the descriptor set `make protos` writes."""
    data = (resources.files("aura") / "v1" / "descriptors.binpb").read_bytes()
    descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(data)
    comments: dict[str, str] = {}
    for file in descriptor_set.file:
        if not file.package.startswith("aura."):
            continue
        by_path = {
            tuple(location.path): location.leading_comments.strip()
            for location in file.source_code_info.location
            if location.leading_comments.strip()
        }
        prefix = file.package
        for i, message in enumerate(file.message_type):
            _message_comments(comments, by_path, f"{prefix}.{message.name}", message, (4, i))
        for i, enum in enumerate(file.enum_type):
            name = f"{prefix}.{enum.name}"
            _put(comments, name, by_path.get((5, i)))
            for j, value in enumerate(enum.value):
                _put(comments, f"{name}.{value.name}", by_path.get((5, i, 2, j)))
        for i, service in enumerate(file.service):
            name = f"{prefix}.{service.name}"
            _put(comments, name, by_path.get((6, i)))
            for j, method in enumerate(service.method):
                _put(comments, f"{name}.{method.name}", by_path.get((6, i, 2, j)))
    return comments


def _put(comments: dict[str, str], name: str, text: str | None) -> None:
    if text:
        comments[name] = " ".join(line.strip() for line in text.splitlines())


def _message_comments(
    comments: dict[str, str],
    by_path: dict[tuple[int, ...], str],
    name: str,
    message: descriptor_pb2.DescriptorProto,
    path: tuple[int, ...],
) -> None:
    _put(comments, name, by_path.get(path))
    for j, field in enumerate(message.field):
        _put(comments, f"{name}.{field.name}", by_path.get((*path, 2, j)))
    for k, nested in enumerate(message.nested_type):
        _message_comments(comments, by_path, f"{name}.{nested.name}", nested, (*path, 3, k))
