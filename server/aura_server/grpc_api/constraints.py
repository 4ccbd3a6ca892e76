"""The constraints the protos declare (buf.validate rules: lengths, patterns, ranges,
sizes, enum membership, fields given together) checked once, at the door, for every RPC of
both doors. Checks that need state (an unknown event, a neighbourhood's borough) stay in
the domain. The rules and how they reach the OpenAPI document: docs/api.md.
"""

from __future__ import annotations

from typing import Any

import protovalidate

from aura_server.domain.errors import InvalidArgument

_validator = protovalidate.Validator()


def field_name(violation: protovalidate.Violation) -> str:
    """The request field a violation is about, as the API spells it ("events[2].title").
    A rule over several fields (a message rule, which protovalidate reports without a
    rule path) names its field first in its id ("ends_at.after_starts_at")."""
    parts: list[str] = []
    path = violation.proto.field
    for element in path.elements if path is not None else ():
        subscript = element.subscript
        index = f"[{subscript.value}]" if subscript is not None else ""
        parts.append(f"{element.field_name}{index}")
    if not violation.proto.has_field("rule") and violation.proto.rule_id:
        parts.append(violation.proto.rule_id.split(".", 1)[0])
    return ".".join(parts)


def check_request(request: Any) -> None:
    """Raise InvalidArgument naming the first field that breaks a declared rule."""
    violations = _validator.collect_violations(request, fail_fast=True)
    if violations:
        violation = violations[0]
        raise InvalidArgument(field_name(violation), violation.proto.message)
