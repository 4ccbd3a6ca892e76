from aura.v1 import types_pb2 as _types_pb2
from buf.validate import validate_pb2 as _validate_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OnboardRequest(_message.Message):
    __slots__ = ("user_id", "intent", "age", "gender", "lat", "lng", "city", "neighborhood", "favorite_categories")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    INTENT_FIELD_NUMBER: _ClassVar[int]
    AGE_FIELD_NUMBER: _ClassVar[int]
    GENDER_FIELD_NUMBER: _ClassVar[int]
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    NEIGHBORHOOD_FIELD_NUMBER: _ClassVar[int]
    FAVORITE_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    intent: _types_pb2.Intent
    age: int
    gender: _types_pb2.Gender
    lat: float
    lng: float
    city: str
    neighborhood: str
    favorite_categories: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, user_id: _Optional[str] = ..., intent: _Optional[_Union[_types_pb2.Intent, str]] = ..., age: _Optional[int] = ..., gender: _Optional[_Union[_types_pb2.Gender, str]] = ..., lat: _Optional[float] = ..., lng: _Optional[float] = ..., city: _Optional[str] = ..., neighborhood: _Optional[str] = ..., favorite_categories: _Optional[_Iterable[str]] = ...) -> None: ...

class OnboardResponse(_message.Message):
    __slots__ = ("profile", "created")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    profile: _types_pb2.UserProfile
    created: bool
    def __init__(self, profile: _Optional[_Union[_types_pb2.UserProfile, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetProfileRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class GetProfileResponse(_message.Message):
    __slots__ = ("profile",)
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: _types_pb2.UserProfile
    def __init__(self, profile: _Optional[_Union[_types_pb2.UserProfile, _Mapping]] = ...) -> None: ...

class ResetProfileRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class ResetProfileResponse(_message.Message):
    __slots__ = ("profile",)
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: _types_pb2.UserProfile
    def __init__(self, profile: _Optional[_Union[_types_pb2.UserProfile, _Mapping]] = ...) -> None: ...
