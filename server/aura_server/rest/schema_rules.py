"""The buf.validate rules the protos declare, as JSON Schema keywords for the OpenAPI
document: the same declarations the door enforces (grpc_api/constraints.py).

What JSON Schema cannot say (a rule over several fields, a time's bounds) goes into the
description, so a reader still sees every rule.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aura_client.calls import enum_number, enum_words
from buf.validate import validate_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

# Bounds by the JSON Schema keyword they become; gt and lt are exclusive (OpenAPI 3.0).
_BOUNDS = {"gte": "minimum", "lte": "maximum", "gt": "minimum", "lt": "maximum"}
_LENGTHS = {"min_len": "minLength", "max_len": "maxLength"}
_SIZES = {"min_items": "minItems", "max_items": "maxItems"}


def field_rules(field: FieldDescriptor) -> Any:
    """The field's buf.validate FieldRules, or None."""
    options: Any = field.GetOptions()
    if not options.HasExtension(validate_pb2.field):
        return None
    return options.Extensions[validate_pb2.field]


def is_required(field: FieldDescriptor) -> bool:
    """A field a request must carry: one whose zero value (what leaving it out gives)
    breaks its rules."""
    rules = field_rules(field)
    if rules is None or rules.ignore == validate_pb2.IGNORE_IF_ZERO_VALUE:
        return False
    if rules.required or rules.repeated.min_items > 0 or 0 in rules.enum.not_in:
        return True
    if rules.string.min_len > 0:
        return True
    kind = rules.WhichOneof("type")
    if kind in ("int32", "int64", "uint32", "double", "float"):
        return not _zero_in_range(getattr(rules, kind))
    return False


def _zero_in_range(bounds: Any) -> bool:
    return not (
        (bounds.HasField("gte") and bounds.gte > 0)
        or (bounds.HasField("gt") and bounds.gt >= 0)
        or (bounds.HasField("lte") and bounds.lte < 0)
        or (bounds.HasField("lt") and bounds.lt <= 0)
    )


def _message_rules(message: Descriptor) -> list[Any]:
    """The message's own CEL rules (over several fields)."""
    options: Any = message.GetOptions()
    if not options.HasExtension(validate_pb2.message):
        return []
    return list(options.Extensions[validate_pb2.message].cel)


def message_notes(message: Descriptor) -> list[str]:
    """The message's own rules, as sentences."""
    return [f"{rule.id.split('.', 1)[0]}: {rule.message}." for rule in _message_rules(message)]


_TOGETHER = re.compile(r"^has\(this\.(\w+)\) == has\(this\.(\w+)\)$")
# "this.action == 1 || this.event_id != ''": a field that must be set unless (==) or when
# (!=) an enum field holds a value.
_UNLESS = re.compile(r"^this\.(\w+) (==|!=) (\d+) \|\| this\.(\w+) != ''$")


def message_conditions(message: Descriptor) -> list[dict[str, Any]]:
    """The message rules JSON Schema can say, as schemas the request must also match:
    fields given together or not at all, a field required by an enum field's value. Rules
    of other shapes stay in the description only (message_notes)."""
    conditions = []
    for rule in _message_rules(message):
        together = _TOGETHER.match(rule.expression)
        unless = _UNLESS.match(rule.expression)
        if together:
            names = [together.group(1), together.group(2)]
            absent = {"not": {"anyOf": [{"required": [name]} for name in names]}}
            conditions.append({"anyOf": [{"required": names}, absent]})
        elif unless:
            switch, operator, number, needed = unless.groups()
            spellings = _spellings(message.fields_by_name[switch], int(number))
            holds = {"enum": spellings} if operator == "==" else {"not": {"enum": spellings}}
            given = {"required": [needed], "properties": {needed: {"minLength": 1}}}
            switched: dict[str, Any] = {"properties": {switch: holds}}
            if operator == "==":
                switched["required"] = [switch]
            conditions.append({"anyOf": [switched, given]})
    return conditions


def _spellings(field: FieldDescriptor, number: int) -> list[Any]:
    """Every way a request may write an enum value: its name, its plain word, its number."""
    enum = field.enum_type
    assert enum is not None, f"{field.name} is not an enum"
    words = [w for w in enum_words(enum).split(", ") if w and enum_number(enum, w) == number]
    return [enum.values_by_number[number].name, *words, number]


def apply(schema: dict[str, Any], field: FieldDescriptor) -> dict[str, Any]:
    """The field's schema with its declared rules added (a list's to the list, its items'
    to the items)."""
    rules = field_rules(field)
    if rules is None:
        return schema
    if field.is_repeated:
        repeated = rules.repeated
        schema.update(_keywords(repeated, _SIZES))
        if repeated.HasField("items"):
            schema["items"] = _single(dict(schema["items"]), repeated.items, optional=False)
        return schema
    optional = rules.ignore == validate_pb2.IGNORE_IF_ZERO_VALUE
    return _single(schema, rules, optional)


def refused_numbers(field: FieldDescriptor) -> set[int]:
    """The values an enum field refuses (its zero, when it is required)."""
    rules = field_rules(field)
    return set(rules.enum.not_in) if rules is not None else set()


def _single(schema: dict[str, Any], rules: Any, optional: bool) -> dict[str, Any]:
    kind = rules.WhichOneof("type")
    if kind is None:
        return schema
    typed = getattr(rules, kind)
    if kind == "string":
        return _string(schema, typed, optional)
    if kind == "enum":
        return schema  # openapi.py lists the values it takes (refused_numbers)
    if kind == "timestamp":
        return {**schema, **_time_bounds(typed)}
    bounded = dict(schema, **_keywords(typed, _BOUNDS))
    for key, keyword in (("gt", "exclusiveMinimum"), ("lt", "exclusiveMaximum")):
        if typed.HasField(key):
            bounded[keyword] = True
    if optional:  # 0 means "the default", beside the declared range
        return {"anyOf": [{**schema, "enum": [0]}, bounded]}
    return bounded


def _string(schema: dict[str, Any], rules: Any, optional: bool) -> dict[str, Any]:
    allowed = list(getattr(rules, "in"))
    if allowed:
        schema["enum"] = [*([""] if optional else []), *allowed]
    schema.update(_keywords(rules, _LENGTHS))
    if rules.pattern:
        pattern = rules.pattern
        schema["pattern"] = f"^$|{pattern}" if optional else pattern
    return schema


def _keywords(rules: Any, names: dict[str, str]) -> dict[str, Any]:
    return {
        keyword: getattr(rules, name) for name, keyword in names.items() if rules.HasField(name)
    }


def _time_bounds(rules: Any) -> dict[str, Any]:
    """A time within whole centuries ([2000, 2100)) as a pattern on its year; any other
    bounds as a sentence."""
    first = datetime.fromtimestamp(rules.gte.seconds, UTC) if rules.HasField("gte") else None
    end = datetime.fromtimestamp(rules.lt.seconds, UTC) if rules.HasField("lt") else None
    if first is None or end is None:
        return {}
    described = {"description": f"From {first:%Y-%m-%d}, before {end:%Y-%m-%d}."}
    century = first.year // 100
    starts = (first.month, first.day, first.hour, end.month, end.day, end.hour) == (1, 1, 0) * 2
    if starts and first.year % 100 == 0 and end.year == first.year + 100:
        described["pattern"] = f"^{century}[0-9]{{2}}-"
    return described


def describe(field: FieldDescriptor) -> str:
    """The field's declared rules in words ("required; 13 to 120"), from the same schema
    keywords the OpenAPI document carries; "" for none."""
    if field_rules(field) is None:
        return ""
    schema = apply({"items": {}} if field.is_repeated else {}, field)
    words = ["required"] if is_required(field) else []
    if field.is_repeated:
        words += _bounds(schema, "minItems", "maxItems", " items")
        schema = schema["items"]
    if "anyOf" in schema:  # a number whose 0 means the default
        schema = schema["anyOf"][1]
        words.append("0 for the default")
    words += _bounds(schema, "minimum", "maximum", "")
    words += _bounds(schema, "minLength", "maxLength", " characters")
    if "enum" in schema:
        words.append("one of " + ", ".join(str(value) for value in schema["enum"] if value))
    if "description" in schema:  # a time's bounds, in words already
        words.append(schema["description"].rstrip(".").lower())
    elif "pattern" in schema:
        pattern = schema["pattern"]
        optional = pattern.startswith("^$|")
        words.append(
            f"matching {pattern.removeprefix('^$|')}" + (" (or empty)" if optional else "")
        )
    return "; ".join(words)


def _bounds(schema: dict[str, Any], low: str, high: str, unit: str) -> list[str]:
    if low in schema and high in schema:
        return [f"{schema[low]:g} to {schema[high]:g}{unit}"]
    if high in schema:
        return [f"at most {schema[high]:g}{unit}"]
    if low in schema:
        return [f"at least {schema[low]:g}{unit}"]
    return []
