import datetime

from aura.v1 import types_pb2 as _types_pb2
from buf.validate import validate_pb2 as _validate_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LogBehaviorRequest(_message.Message):
    __slots__ = ("user_id", "action", "event_id", "query", "feed_id", "position", "behavior_id", "occurred_at")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    FEED_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOR_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    action: _types_pb2.Action
    event_id: str
    query: str
    feed_id: str
    position: int
    behavior_id: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[str] = ..., action: _Optional[_Union[_types_pb2.Action, str]] = ..., event_id: _Optional[str] = ..., query: _Optional[str] = ..., feed_id: _Optional[str] = ..., position: _Optional[int] = ..., behavior_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LogBehaviorResponse(_message.Message):
    __slots__ = ("behavior_id", "duplicate")
    BEHAVIOR_ID_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    behavior_id: str
    duplicate: bool
    def __init__(self, behavior_id: _Optional[str] = ..., duplicate: _Optional[bool] = ...) -> None: ...
