"""How the clients make a call: building the request from keyword arguments, the channel
(TLS or plaintext, retries from a gRPC service config), the token, the deadline, and
turning failures into AuraError."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
import grpc.aio
from aura.v1 import types_pb2
from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from aura_client.errors import error_from

Response = TypeVar("Response", bound=Message)
EventInput = types_pb2.Event | Mapping[str, Any]
TokenProvider = Callable[[], str]
DEFAULT_TIMEOUT_SECONDS = 10.0
RETRY_POLICY = {
    "maxAttempts": 4,
    "initialBackoff": "0.1s",
    "maxBackoff": "2s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"],
}
# Fields a retried call must carry unchanged so that the server sees one logical call:
# generated once per call, before the channel's first attempt.
IDEMPOTENCY_KEYS = {
    "/aura.v1.BehaviorService/LogBehavior": "behavior_id",
    "/aura.v1.RecommendService/Feed": "feed_id",
}


def channel_options(retried: Sequence[Mapping[str, str]]) -> list[tuple[str, Any]]:
    config = {"methodConfig": [{"name": list(retried), "retryPolicy": RETRY_POLICY}]}
    return [("grpc.enable_retries", 1), ("grpc.service_config", json.dumps(config))]


def credentials(
    tls: bool | grpc.ChannelCredentials, root_certificates: bytes | None
) -> grpc.ChannelCredentials | None:
    if isinstance(tls, grpc.ChannelCredentials):
        return tls
    if tls or root_certificates:
        return grpc.ssl_channel_credentials(root_certificates=root_certificates)
    return None


def build_request(method: str, request_type: type[Message], fields: Mapping[str, Any]) -> Message:
    """The request message from keyword arguments (None and empty sequences are left
    unset); a ValueError names the field a value does not fit."""
    request = request_type()
    descriptor = request_type.DESCRIPTOR
    for name, value in fields.items():
        if value is None:
            continue
        field = descriptor.fields_by_name[name]
        try:
            if field.is_repeated:
                target = getattr(request, name)
                for item in value:
                    if field.message_type is not None:
                        _merge_message(target.add(), item)
                    else:
                        target.append(item)
            elif field.message_type is not None:
                _merge_message(getattr(request, name), value)
            elif field.enum_type is not None:
                setattr(request, name, enum_number(field.enum_type, value))
            else:
                setattr(request, name, value)
        except (TypeError, ValueError, json_format.ParseError) as error:
            raise ValueError(f"{name}: {error}") from None
    key = IDEMPOTENCY_KEYS.get(method)
    if key and not getattr(request, key):
        setattr(request, key, uuid.uuid4().hex)
    return request


def _merge_message(target: Message, value: Any) -> None:
    if isinstance(target, Timestamp) and isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        target.FromDatetime(moment.astimezone(UTC))
    elif isinstance(value, Message):
        target.CopyFrom(value)
    elif isinstance(value, Mapping):
        json_format.ParseDict(dict(value), target)
    else:
        raise TypeError(
            f"expected a {target.DESCRIPTOR.name} or a dict, not {type(value).__name__}"
        )


def enum_number(enum: Any, value: int | str) -> int:
    """An enum's number from its number, its name (ACTION_PURCHASE) or its plain word
    (purchase, "Purchase"); a ValueError lists the words it takes."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not one of {enum_words(enum)}")
    if isinstance(value, int):
        if value not in enum.values_by_number:
            raise ValueError(f"{value} is not one of {enum_words(enum)} (or their numbers)")
        return value
    word = str(value).strip().upper().replace(" ", "_").replace("-", "_")
    for name in (word, _prefix(enum) + word):
        if name in enum.values_by_name:
            return int(enum.values_by_name[name].number)
    raise ValueError(f"{value!r} is not one of {enum_words(enum)}")


def enum_words(enum: Any) -> str:
    """The plain words an enum takes: "search, view, click, ..." (its unset value left out)."""
    prefix = _prefix(enum)
    return ", ".join(v.name.removeprefix(prefix).lower() for v in enum.values if v.number != 0)


def _prefix(enum: Any) -> str:
    return "_".join(part.upper() for part in _words(enum.name)) + "_"


def _words(camel: str) -> list[str]:
    words: list[str] = []
    for char in camel:
        if char.isupper() or not words:
            words.append(char)
        else:
            words[-1] += char
    return words


class _Caller:
    def __init__(
        self,
        token: str | None,
        token_provider: TokenProvider | None,
        timeout: float | None,
    ) -> None:
        if token and token_provider:
            raise ValueError("give token or token_provider, not both")
        self._token_provider = token_provider or ((lambda: token) if token else None)
        self.timeout = timeout

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        if self._token_provider is None:
            return ()
        return (("authorization", f"Bearer {self._token_provider()}"),)

    def _prepare(
        self,
        method: str,
        request_type: type[Message],
        response_type: type[Message],
        fields: Mapping[str, Any],
        timeout: float | None,
    ) -> tuple[Any, Message, dict[str, Any]]:
        """The channel's callable for the method, the request, and the call's deadline and
        metadata (the same for the sync and the asyncio channel)."""
        call = self.channel.unary_unary(  # type: ignore[attr-defined]
            method,
            request_serializer=request_type.SerializeToString,
            response_deserializer=response_type.FromString,
        )
        deadline = self.timeout if timeout is None else timeout
        options = {"timeout": deadline, "metadata": self._metadata()}
        return call, build_request(method, request_type, fields), options


class SyncCaller(_Caller):
    channel: grpc.Channel

    def _unary(
        self,
        method: str,
        request_type: type[Message],
        response_type: type[Response],
        fields: Mapping[str, Any],
        timeout: float | None,
    ) -> Response:
        call, request, options = self._prepare(method, request_type, response_type, fields, timeout)
        try:
            response: Response = call(request, **options)
        except grpc.RpcError as error:
            raise error_from(error.code(), error.details(), error.trailing_metadata()) from None
        return response


class AsyncCaller(_Caller):
    channel: grpc.aio.Channel

    async def _unary(
        self,
        method: str,
        request_type: type[Message],
        response_type: type[Response],
        fields: Mapping[str, Any],
        timeout: float | None,
    ) -> Response:
        call, request, options = self._prepare(method, request_type, response_type, fields, timeout)
        try:
            response: Response = await call(request, **options)
        except grpc.aio.AioRpcError as error:
            trailing = tuple(error.trailing_metadata() or ())
            raise error_from(error.code(), error.details() or "", trailing) from None
        return response
