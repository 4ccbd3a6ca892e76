from aura.v1 import types_pb2 as _types_pb2
from buf.validate import validate_pb2 as _validate_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubmitRewardRequest(_message.Message):
    __slots__ = ("user_id", "event_id", "action", "reward", "feed_id", "behavior_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    FEED_ID_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOR_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    event_id: str
    action: _types_pb2.Action
    reward: float
    feed_id: str
    behavior_id: str
    def __init__(self, user_id: _Optional[str] = ..., event_id: _Optional[str] = ..., action: _Optional[_Union[_types_pb2.Action, str]] = ..., reward: _Optional[float] = ..., feed_id: _Optional[str] = ..., behavior_id: _Optional[str] = ...) -> None: ...

class SubmitRewardResponse(_message.Message):
    __slots__ = ("applied", "duplicate", "profile", "behavior_id", "reward")
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOR_ID_FIELD_NUMBER: _ClassVar[int]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    applied: bool
    duplicate: bool
    profile: _types_pb2.UserProfile
    behavior_id: str
    reward: float
    def __init__(self, applied: _Optional[bool] = ..., duplicate: _Optional[bool] = ..., profile: _Optional[_Union[_types_pb2.UserProfile, _Mapping]] = ..., behavior_id: _Optional[str] = ..., reward: _Optional[float] = ...) -> None: ...
