import datetime

from aura.v1 import types_pb2 as _types_pb2
from buf.validate import validate_pb2 as _validate_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TimeSlot(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIME_SLOT_UNSPECIFIED: _ClassVar[TimeSlot]
    TIME_SLOT_MORNING: _ClassVar[TimeSlot]
    TIME_SLOT_AFTERNOON: _ClassVar[TimeSlot]
    TIME_SLOT_EVENING: _ClassVar[TimeSlot]
    TIME_SLOT_LATE_NIGHT: _ClassVar[TimeSlot]
TIME_SLOT_UNSPECIFIED: TimeSlot
TIME_SLOT_MORNING: TimeSlot
TIME_SLOT_AFTERNOON: TimeSlot
TIME_SLOT_EVENING: TimeSlot
TIME_SLOT_LATE_NIGHT: TimeSlot

class FeedRequest(_message.Message):
    __slots__ = ("user_id", "lat", "lng", "radius_km", "limit", "now", "exclude_event_ids", "categories", "price_max", "feed_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    RADIUS_KM_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_EVENT_IDS_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    PRICE_MAX_FIELD_NUMBER: _ClassVar[int]
    FEED_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    lat: float
    lng: float
    radius_km: float
    limit: int
    now: _timestamp_pb2.Timestamp
    exclude_event_ids: _containers.RepeatedScalarFieldContainer[str]
    categories: _containers.RepeatedScalarFieldContainer[str]
    price_max: float
    feed_id: str
    def __init__(self, user_id: _Optional[str] = ..., lat: _Optional[float] = ..., lng: _Optional[float] = ..., radius_km: _Optional[float] = ..., limit: _Optional[int] = ..., now: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., exclude_event_ids: _Optional[_Iterable[str]] = ..., categories: _Optional[_Iterable[str]] = ..., price_max: _Optional[float] = ..., feed_id: _Optional[str] = ...) -> None: ...

class FeedResponse(_message.Message):
    __slots__ = ("feed_id", "items", "cold_start", "model_version", "degraded")
    FEED_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    COLD_START_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    feed_id: str
    items: _containers.RepeatedCompositeFieldContainer[_types_pb2.FeedItem]
    cold_start: bool
    model_version: str
    degraded: bool
    def __init__(self, feed_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[_types_pb2.FeedItem, _Mapping]]] = ..., cold_start: _Optional[bool] = ..., model_version: _Optional[str] = ..., degraded: _Optional[bool] = ...) -> None: ...

class HighlightsRequest(_message.Message):
    __slots__ = ("user_id", "lat", "lng", "limit", "now")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    lat: float
    lng: float
    limit: int
    now: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[str] = ..., lat: _Optional[float] = ..., lng: _Optional[float] = ..., limit: _Optional[int] = ..., now: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class HighlightsResponse(_message.Message):
    __slots__ = ("feed_id", "items", "degraded")
    FEED_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    feed_id: str
    items: _containers.RepeatedCompositeFieldContainer[_types_pb2.FeedItem]
    degraded: bool
    def __init__(self, feed_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[_types_pb2.FeedItem, _Mapping]]] = ..., degraded: _Optional[bool] = ...) -> None: ...

class NaturalRequest(_message.Message):
    __slots__ = ("user_id", "query", "lat", "lng", "limit", "now")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    NOW_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    query: str
    lat: float
    lng: float
    limit: int
    now: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[str] = ..., query: _Optional[str] = ..., lat: _Optional[float] = ..., lng: _Optional[float] = ..., limit: _Optional[int] = ..., now: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Place(_message.Message):
    __slots__ = ("city", "neighborhood")
    CITY_FIELD_NUMBER: _ClassVar[int]
    NEIGHBORHOOD_FIELD_NUMBER: _ClassVar[int]
    city: str
    neighborhood: str
    def __init__(self, city: _Optional[str] = ..., neighborhood: _Optional[str] = ...) -> None: ...

class ParsedQuery(_message.Message):
    __slots__ = ("categories", "price_min", "price_max", "time_slot", "date_from", "date_to", "location", "vibe_keywords", "free_text", "start_hour_from", "start_hour_to", "excluded_categories")
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    PRICE_MIN_FIELD_NUMBER: _ClassVar[int]
    PRICE_MAX_FIELD_NUMBER: _ClassVar[int]
    TIME_SLOT_FIELD_NUMBER: _ClassVar[int]
    DATE_FROM_FIELD_NUMBER: _ClassVar[int]
    DATE_TO_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    VIBE_KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    FREE_TEXT_FIELD_NUMBER: _ClassVar[int]
    START_HOUR_FROM_FIELD_NUMBER: _ClassVar[int]
    START_HOUR_TO_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedScalarFieldContainer[str]
    price_min: float
    price_max: float
    time_slot: TimeSlot
    date_from: _timestamp_pb2.Timestamp
    date_to: _timestamp_pb2.Timestamp
    location: Place
    vibe_keywords: _containers.RepeatedScalarFieldContainer[str]
    free_text: str
    start_hour_from: int
    start_hour_to: int
    excluded_categories: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, categories: _Optional[_Iterable[str]] = ..., price_min: _Optional[float] = ..., price_max: _Optional[float] = ..., time_slot: _Optional[_Union[TimeSlot, str]] = ..., date_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., date_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., location: _Optional[_Union[Place, _Mapping]] = ..., vibe_keywords: _Optional[_Iterable[str]] = ..., free_text: _Optional[str] = ..., start_hour_from: _Optional[int] = ..., start_hour_to: _Optional[int] = ..., excluded_categories: _Optional[_Iterable[str]] = ...) -> None: ...

class NaturalResponse(_message.Message):
    __slots__ = ("feed_id", "parsed", "parser", "relaxed", "items", "cold_start", "model_version", "degraded", "unmatched_terms")
    FEED_ID_FIELD_NUMBER: _ClassVar[int]
    PARSED_FIELD_NUMBER: _ClassVar[int]
    PARSER_FIELD_NUMBER: _ClassVar[int]
    RELAXED_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    COLD_START_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    UNMATCHED_TERMS_FIELD_NUMBER: _ClassVar[int]
    feed_id: str
    parsed: ParsedQuery
    parser: str
    relaxed: _containers.RepeatedScalarFieldContainer[str]
    items: _containers.RepeatedCompositeFieldContainer[_types_pb2.FeedItem]
    cold_start: bool
    model_version: str
    degraded: bool
    unmatched_terms: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, feed_id: _Optional[str] = ..., parsed: _Optional[_Union[ParsedQuery, _Mapping]] = ..., parser: _Optional[str] = ..., relaxed: _Optional[_Iterable[str]] = ..., items: _Optional[_Iterable[_Union[_types_pb2.FeedItem, _Mapping]]] = ..., cold_start: _Optional[bool] = ..., model_version: _Optional[str] = ..., degraded: _Optional[bool] = ..., unmatched_terms: _Optional[_Iterable[str]] = ...) -> None: ...
