import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Intent(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INTENT_UNSPECIFIED: _ClassVar[Intent]
    INTENT_EXPLORE: _ClassVar[Intent]
    INTENT_CREATE: _ClassVar[Intent]
    INTENT_FREELANCE: _ClassVar[Intent]

class Gender(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GENDER_UNSPECIFIED: _ClassVar[Gender]
    GENDER_MALE: _ClassVar[Gender]
    GENDER_FEMALE: _ClassVar[Gender]
    GENDER_NON_BINARY: _ClassVar[Gender]

class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTION_UNSPECIFIED: _ClassVar[Action]
    ACTION_SEARCH: _ClassVar[Action]
    ACTION_VIEW: _ClassVar[Action]
    ACTION_CLICK: _ClassVar[Action]
    ACTION_LIKE: _ClassVar[Action]
    ACTION_SAVE: _ClassVar[Action]
    ACTION_SHARE: _ClassVar[Action]
    ACTION_PURCHASE: _ClassVar[Action]
    ACTION_SKIP: _ClassVar[Action]
    ACTION_HIDE: _ClassVar[Action]

class EventStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_STATUS_UNSPECIFIED: _ClassVar[EventStatus]
    EVENT_STATUS_ACTIVE: _ClassVar[EventStatus]
    EVENT_STATUS_CANCELLED: _ClassVar[EventStatus]
INTENT_UNSPECIFIED: Intent
INTENT_EXPLORE: Intent
INTENT_CREATE: Intent
INTENT_FREELANCE: Intent
GENDER_UNSPECIFIED: Gender
GENDER_MALE: Gender
GENDER_FEMALE: Gender
GENDER_NON_BINARY: Gender
ACTION_UNSPECIFIED: Action
ACTION_SEARCH: Action
ACTION_VIEW: Action
ACTION_CLICK: Action
ACTION_LIKE: Action
ACTION_SAVE: Action
ACTION_SHARE: Action
ACTION_PURCHASE: Action
ACTION_SKIP: Action
ACTION_HIDE: Action
EVENT_STATUS_UNSPECIFIED: EventStatus
EVENT_STATUS_ACTIVE: EventStatus
EVENT_STATUS_CANCELLED: EventStatus

class CategoryScore(_message.Message):
    __slots__ = ("name", "score")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    name: str
    score: float
    def __init__(self, name: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class PriceRange(_message.Message):
    __slots__ = ("avg", "sweet_spot_min", "sweet_spot_max")
    AVG_FIELD_NUMBER: _ClassVar[int]
    SWEET_SPOT_MIN_FIELD_NUMBER: _ClassVar[int]
    SWEET_SPOT_MAX_FIELD_NUMBER: _ClassVar[int]
    avg: float
    sweet_spot_min: float
    sweet_spot_max: float
    def __init__(self, avg: _Optional[float] = ..., sweet_spot_min: _Optional[float] = ..., sweet_spot_max: _Optional[float] = ...) -> None: ...

class LocationScore(_message.Message):
    __slots__ = ("city", "neighborhood", "score")
    CITY_FIELD_NUMBER: _ClassVar[int]
    NEIGHBORHOOD_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    city: str
    neighborhood: str
    score: float
    def __init__(self, city: _Optional[str] = ..., neighborhood: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class UserProfile(_message.Message):
    __slots__ = ("user_id", "onboarding_intent", "age", "gender", "preferred_categories", "preferred_price_range", "preferred_locations", "total_events_attended", "behavior_count", "cold_start_completed", "created_at", "updated_at", "home_lat", "home_lng", "feedback_count")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ONBOARDING_INTENT_FIELD_NUMBER: _ClassVar[int]
    AGE_FIELD_NUMBER: _ClassVar[int]
    GENDER_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_PRICE_RANGE_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_LOCATIONS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_EVENTS_ATTENDED_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOR_COUNT_FIELD_NUMBER: _ClassVar[int]
    COLD_START_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    HOME_LAT_FIELD_NUMBER: _ClassVar[int]
    HOME_LNG_FIELD_NUMBER: _ClassVar[int]
    FEEDBACK_COUNT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    onboarding_intent: Intent
    age: int
    gender: Gender
    preferred_categories: _containers.RepeatedCompositeFieldContainer[CategoryScore]
    preferred_price_range: PriceRange
    preferred_locations: _containers.RepeatedCompositeFieldContainer[LocationScore]
    total_events_attended: int
    behavior_count: int
    cold_start_completed: bool
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    home_lat: float
    home_lng: float
    feedback_count: int
    def __init__(self, user_id: _Optional[str] = ..., onboarding_intent: _Optional[_Union[Intent, str]] = ..., age: _Optional[int] = ..., gender: _Optional[_Union[Gender, str]] = ..., preferred_categories: _Optional[_Iterable[_Union[CategoryScore, _Mapping]]] = ..., preferred_price_range: _Optional[_Union[PriceRange, _Mapping]] = ..., preferred_locations: _Optional[_Iterable[_Union[LocationScore, _Mapping]]] = ..., total_events_attended: _Optional[int] = ..., behavior_count: _Optional[int] = ..., cold_start_completed: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., home_lat: _Optional[float] = ..., home_lng: _Optional[float] = ..., feedback_count: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("event_id", "title", "description", "categories", "tags", "venue", "city", "neighborhood", "lat", "lng", "starts_at", "ends_at", "price_min", "price_max", "status", "popularity")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    NEIGHBORHOOD_FIELD_NUMBER: _ClassVar[int]
    LAT_FIELD_NUMBER: _ClassVar[int]
    LNG_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    PRICE_MIN_FIELD_NUMBER: _ClassVar[int]
    PRICE_MAX_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    POPULARITY_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    title: str
    description: str
    categories: _containers.RepeatedScalarFieldContainer[str]
    tags: _containers.RepeatedScalarFieldContainer[str]
    venue: str
    city: str
    neighborhood: str
    lat: float
    lng: float
    starts_at: _timestamp_pb2.Timestamp
    ends_at: _timestamp_pb2.Timestamp
    price_min: float
    price_max: float
    status: EventStatus
    popularity: float
    def __init__(self, event_id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., categories: _Optional[_Iterable[str]] = ..., tags: _Optional[_Iterable[str]] = ..., venue: _Optional[str] = ..., city: _Optional[str] = ..., neighborhood: _Optional[str] = ..., lat: _Optional[float] = ..., lng: _Optional[float] = ..., starts_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., price_min: _Optional[float] = ..., price_max: _Optional[float] = ..., status: _Optional[_Union[EventStatus, str]] = ..., popularity: _Optional[float] = ...) -> None: ...

class FeedItem(_message.Message):
    __slots__ = ("event", "score", "position", "reason", "explored", "propensity")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPLORED_FIELD_NUMBER: _ClassVar[int]
    PROPENSITY_FIELD_NUMBER: _ClassVar[int]
    event: Event
    score: float
    position: int
    reason: str
    explored: bool
    propensity: float
    def __init__(self, event: _Optional[_Union[Event, _Mapping]] = ..., score: _Optional[float] = ..., position: _Optional[int] = ..., reason: _Optional[str] = ..., explored: _Optional[bool] = ..., propensity: _Optional[float] = ...) -> None: ...
