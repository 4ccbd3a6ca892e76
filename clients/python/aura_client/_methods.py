"""One typed method per RPC, generated from the protos by `make protos`; do not edit.

Keyword arguments are the request's fields with their proto defaults; enums take the
enum value, its name or its plain word (`intent="explore"`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from aura.v1 import onboarding_pb2, behavior_pb2, feedback_pb2, recommend_pb2, catalog_pb2, status_pb2
from aura_client.calls import AsyncCaller, EventInput, SyncCaller

# Calls the channel retries on UNAVAILABLE and RESOURCE_EXHAUSTED (see calls.py): every
# RPC that is safe to repeat. Natural and DeleteEvent are not.
RETRIED_METHODS = [
    {"service": "aura.v1.OnboardingService", "method": "Onboard"},
    {"service": "aura.v1.OnboardingService", "method": "GetProfile"},
    {"service": "aura.v1.OnboardingService", "method": "ResetProfile"},
    {"service": "aura.v1.BehaviorService", "method": "LogBehavior"},
    {"service": "aura.v1.FeedbackService", "method": "SubmitReward"},
    {"service": "aura.v1.RecommendService", "method": "Feed"},
    {"service": "aura.v1.RecommendService", "method": "Highlights"},
    {"service": "aura.v1.CatalogService", "method": "UpsertEvents"},
    {"service": "aura.v1.CatalogService", "method": "GetEvent"},
    {"service": "aura.v1.CatalogService", "method": "ListEvents"},
    {"service": "aura.v1.StatusService", "method": "GetStatus"},
]


class SyncMethods(SyncCaller):
    def onboard(
        self,
        *,
        user_id: str = "",
        intent: int | str = 0,
        age: int = 0,
        gender: int | str = 0,
        lat: float | None = None,
        lng: float | None = None,
        city: str = "",
        neighborhood: str = "",
        favorite_categories: Sequence[str] = (),
        timeout: float | None = None,
    ) -> onboarding_pb2.OnboardResponse:
        """OnboardingService.Onboard: Creates a user's profile, or updates it when the user exists
        (idempotent)."""
        return self._unary("/aura.v1.OnboardingService/Onboard", onboarding_pb2.OnboardRequest, onboarding_pb2.OnboardResponse, {"user_id": user_id, "intent": intent, "age": age, "gender": gender, "lat": lat, "lng": lng, "city": city, "neighborhood": neighborhood, "favorite_categories": favorite_categories}, timeout)

    def get_profile(
        self,
        *,
        user_id: str = "",
        timeout: float | None = None,
    ) -> onboarding_pb2.GetProfileResponse:
        """OnboardingService.GetProfile: Returns a user's profile."""
        return self._unary("/aura.v1.OnboardingService/GetProfile", onboarding_pb2.GetProfileRequest, onboarding_pb2.GetProfileResponse, {"user_id": user_id}, timeout)

    def reset_profile(
        self,
        *,
        user_id: str = "",
        timeout: float | None = None,
    ) -> onboarding_pb2.ResetProfileResponse:
        """OnboardingService.ResetProfile: Forgets learned preferences and behavior counts so the
        user is cold again. The behavior history stays, marked as before the reset."""
        return self._unary("/aura.v1.OnboardingService/ResetProfile", onboarding_pb2.ResetProfileRequest, onboarding_pb2.ResetProfileResponse, {"user_id": user_id}, timeout)

    def log_behavior(
        self,
        *,
        user_id: str = "",
        action: int | str = 0,
        event_id: str = "",
        query: str = "",
        feed_id: str = "",
        position: int | None = None,
        behavior_id: str = "",
        occurred_at: datetime | Timestamp | None = None,
        timeout: float | None = None,
    ) -> behavior_pb2.LogBehaviorResponse:
        """BehaviorService.LogBehavior: Stores the behavior durably, then updates the profile. A
        repeated behavior_id is acknowledged as a duplicate and changes nothing."""
        return self._unary("/aura.v1.BehaviorService/LogBehavior", behavior_pb2.LogBehaviorRequest, behavior_pb2.LogBehaviorResponse, {"user_id": user_id, "action": action, "event_id": event_id, "query": query, "feed_id": feed_id, "position": position, "behavior_id": behavior_id, "occurred_at": occurred_at}, timeout)

    def submit_reward(
        self,
        *,
        user_id: str = "",
        event_id: str = "",
        action: int | str = 0,
        reward: float | None = None,
        feed_id: str = "",
        behavior_id: str = "",
        timeout: float | None = None,
    ) -> feedback_pb2.SubmitRewardResponse:
        """FeedbackService.SubmitReward: Records a reward on the matching stored behavior (creating
        one if none) and applies the profile update once; a repeat is a duplicate and
        changes nothing."""
        return self._unary("/aura.v1.FeedbackService/SubmitReward", feedback_pb2.SubmitRewardRequest, feedback_pb2.SubmitRewardResponse, {"user_id": user_id, "event_id": event_id, "action": action, "reward": reward, "feed_id": feed_id, "behavior_id": behavior_id}, timeout)

    def feed(
        self,
        *,
        user_id: str = "",
        lat: float | None = None,
        lng: float | None = None,
        radius_km: float | None = None,
        limit: int = 0,
        now: datetime | Timestamp | None = None,
        exclude_event_ids: Sequence[str] = (),
        categories: Sequence[str] = (),
        price_max: float | None = None,
        feed_id: str = "",
        timeout: float | None = None,
    ) -> recommend_pb2.FeedResponse:
        """RecommendService.Feed: A ranked feed of upcoming events near a place, logged as an
        impression under feed_id."""
        return self._unary("/aura.v1.RecommendService/Feed", recommend_pb2.FeedRequest, recommend_pb2.FeedResponse, {"user_id": user_id, "lat": lat, "lng": lng, "radius_km": radius_km, "limit": limit, "now": now, "exclude_event_ids": exclude_event_ids, "categories": categories, "price_max": price_max, "feed_id": feed_id}, timeout)

    def highlights(
        self,
        *,
        user_id: str = "",
        lat: float | None = None,
        lng: float | None = None,
        limit: int = 0,
        now: datetime | Timestamp | None = None,
        timeout: float | None = None,
    ) -> recommend_pb2.HighlightsResponse:
        """RecommendService.Highlights: 5..10 upcoming nearby events with the most recent
        engagement, at most two per category."""
        return self._unary("/aura.v1.RecommendService/Highlights", recommend_pb2.HighlightsRequest, recommend_pb2.HighlightsResponse, {"user_id": user_id, "lat": lat, "lng": lng, "limit": limit, "now": now}, timeout)

    def natural(
        self,
        *,
        user_id: str = "",
        query: str = "",
        lat: float | None = None,
        lng: float | None = None,
        limit: int = 0,
        now: datetime | Timestamp | None = None,
        timeout: float | None = None,
    ) -> recommend_pb2.NaturalResponse:
        """RecommendService.Natural: A search typed the way people talk ("techno in Brooklyn
        tonight under $40"): the query is parsed into filters, and personalised results
        that honour them are served."""
        return self._unary("/aura.v1.RecommendService/Natural", recommend_pb2.NaturalRequest, recommend_pb2.NaturalResponse, {"user_id": user_id, "query": query, "lat": lat, "lng": lng, "limit": limit, "now": now}, timeout)

    def upsert_events(
        self,
        *,
        events: Sequence[EventInput] = (),
        timeout: float | None = None,
    ) -> catalog_pb2.UpsertEventsResponse:
        """CatalogService.UpsertEvents: Inserts or replaces events by event_id, up to 1000 per
        call. Valid events are written; each invalid one is reported in errors."""
        return self._unary("/aura.v1.CatalogService/UpsertEvents", catalog_pb2.UpsertEventsRequest, catalog_pb2.UpsertEventsResponse, {"events": events}, timeout)

    def get_event(
        self,
        *,
        event_id: str = "",
        timeout: float | None = None,
    ) -> catalog_pb2.GetEventResponse:
        """CatalogService.GetEvent"""
        return self._unary("/aura.v1.CatalogService/GetEvent", catalog_pb2.GetEventRequest, catalog_pb2.GetEventResponse, {"event_id": event_id}, timeout)

    def list_events(
        self,
        *,
        page_size: int = 0,
        page_token: str = "",
        city: str = "",
        neighborhood: str = "",
        category: str = "",
        starts_after: datetime | Timestamp | None = None,
        starts_before: datetime | Timestamp | None = None,
        timeout: float | None = None,
    ) -> catalog_pb2.ListEventsResponse:
        """CatalogService.ListEvents: Events ordered by start time, a page at a time."""
        return self._unary("/aura.v1.CatalogService/ListEvents", catalog_pb2.ListEventsRequest, catalog_pb2.ListEventsResponse, {"page_size": page_size, "page_token": page_token, "city": city, "neighborhood": neighborhood, "category": category, "starts_after": starts_after, "starts_before": starts_before}, timeout)

    def delete_event(
        self,
        *,
        event_id: str = "",
        timeout: float | None = None,
    ) -> catalog_pb2.DeleteEventResponse:
        """CatalogService.DeleteEvent: Removes an event; it never appears in recommendations
        afterwards."""
        return self._unary("/aura.v1.CatalogService/DeleteEvent", catalog_pb2.DeleteEventRequest, catalog_pb2.DeleteEventResponse, {"event_id": event_id}, timeout)

    def get_status(
        self,
        *,
        timeout: float | None = None,
    ) -> status_pb2.GetStatusResponse:
        """StatusService.GetStatus: Open to everyone (no token needed); the REST door answers 503
        when not serving."""
        return self._unary("/aura.v1.StatusService/GetStatus", status_pb2.GetStatusRequest, status_pb2.GetStatusResponse, {}, timeout)


class AsyncMethods(AsyncCaller):
    async def onboard(
        self,
        *,
        user_id: str = "",
        intent: int | str = 0,
        age: int = 0,
        gender: int | str = 0,
        lat: float | None = None,
        lng: float | None = None,
        city: str = "",
        neighborhood: str = "",
        favorite_categories: Sequence[str] = (),
        timeout: float | None = None,
    ) -> onboarding_pb2.OnboardResponse:
        """OnboardingService.Onboard: Creates a user's profile, or updates it when the user exists
        (idempotent)."""
        return await self._unary("/aura.v1.OnboardingService/Onboard", onboarding_pb2.OnboardRequest, onboarding_pb2.OnboardResponse, {"user_id": user_id, "intent": intent, "age": age, "gender": gender, "lat": lat, "lng": lng, "city": city, "neighborhood": neighborhood, "favorite_categories": favorite_categories}, timeout)

    async def get_profile(
        self,
        *,
        user_id: str = "",
        timeout: float | None = None,
    ) -> onboarding_pb2.GetProfileResponse:
        """OnboardingService.GetProfile: Returns a user's profile."""
        return await self._unary("/aura.v1.OnboardingService/GetProfile", onboarding_pb2.GetProfileRequest, onboarding_pb2.GetProfileResponse, {"user_id": user_id}, timeout)

    async def reset_profile(
        self,
        *,
        user_id: str = "",
        timeout: float | None = None,
    ) -> onboarding_pb2.ResetProfileResponse:
        """OnboardingService.ResetProfile: Forgets learned preferences and behavior counts so the
        user is cold again. The behavior history stays, marked as before the reset."""
        return await self._unary("/aura.v1.OnboardingService/ResetProfile", onboarding_pb2.ResetProfileRequest, onboarding_pb2.ResetProfileResponse, {"user_id": user_id}, timeout)

    async def log_behavior(
        self,
        *,
        user_id: str = "",
        action: int | str = 0,
        event_id: str = "",
        query: str = "",
        feed_id: str = "",
        position: int | None = None,
        behavior_id: str = "",
        occurred_at: datetime | Timestamp | None = None,
        timeout: float | None = None,
    ) -> behavior_pb2.LogBehaviorResponse:
        """BehaviorService.LogBehavior: Stores the behavior durably, then updates the profile. A
        repeated behavior_id is acknowledged as a duplicate and changes nothing."""
        return await self._unary("/aura.v1.BehaviorService/LogBehavior", behavior_pb2.LogBehaviorRequest, behavior_pb2.LogBehaviorResponse, {"user_id": user_id, "action": action, "event_id": event_id, "query": query, "feed_id": feed_id, "position": position, "behavior_id": behavior_id, "occurred_at": occurred_at}, timeout)

    async def submit_reward(
        self,
        *,
        user_id: str = "",
        event_id: str = "",
        action: int | str = 0,
        reward: float | None = None,
        feed_id: str = "",
        behavior_id: str = "",
        timeout: float | None = None,
    ) -> feedback_pb2.SubmitRewardResponse:
        """FeedbackService.SubmitReward: Records a reward on the matching stored behavior (creating
        one if none) and applies the profile update once; a repeat is a duplicate and
        changes nothing."""
        return await self._unary("/aura.v1.FeedbackService/SubmitReward", feedback_pb2.SubmitRewardRequest, feedback_pb2.SubmitRewardResponse, {"user_id": user_id, "event_id": event_id, "action": action, "reward": reward, "feed_id": feed_id, "behavior_id": behavior_id}, timeout)

    async def feed(
        self,
        *,
        user_id: str = "",
        lat: float | None = None,
        lng: float | None = None,
        radius_km: float | None = None,
        limit: int = 0,
        now: datetime | Timestamp | None = None,
        exclude_event_ids: Sequence[str] = (),
        categories: Sequence[str] = (),
        price_max: float | None = None,
        feed_id: str = "",
        timeout: float | None = None,
    ) -> recommend_pb2.FeedResponse:
        """RecommendService.Feed: A ranked feed of upcoming events near a place, logged as an
        impression under feed_id."""
        return await self._unary("/aura.v1.RecommendService/Feed", recommend_pb2.FeedRequest, recommend_pb2.FeedResponse, {"user_id": user_id, "lat": lat, "lng": lng, "radius_km": radius_km, "limit": limit, "now": now, "exclude_event_ids": exclude_event_ids, "categories": categories, "price_max": price_max, "feed_id": feed_id}, timeout)

    async def highlights(
        self,
        *,
        user_id: str = "",
        lat: float | None = None,
        lng: float | None = None,
        limit: int = 0,
        now: datetime | Timestamp | None = None,
        timeout: float | None = None,
    ) -> recommend_pb2.HighlightsResponse:
        """RecommendService.Highlights: 5..10 upcoming nearby events with the most recent
        engagement, at most two per category."""
        return await self._unary("/aura.v1.RecommendService/Highlights", recommend_pb2.HighlightsRequest, recommend_pb2.HighlightsResponse, {"user_id": user_id, "lat": lat, "lng": lng, "limit": limit, "now": now}, timeout)

    async def natural(
        self,
        *,
        user_id: str = "",
        query: str = "",
        lat: float | None = None,
        lng: float | None = None,
        limit: int = 0,
        now: datetime | Timestamp | None = None,
        timeout: float | None = None,
    ) -> recommend_pb2.NaturalResponse:
        """RecommendService.Natural: A search typed the way people talk ("techno in Brooklyn
        tonight under $40"): the query is parsed into filters, and personalised results
        that honour them are served."""
        return await self._unary("/aura.v1.RecommendService/Natural", recommend_pb2.NaturalRequest, recommend_pb2.NaturalResponse, {"user_id": user_id, "query": query, "lat": lat, "lng": lng, "limit": limit, "now": now}, timeout)

    async def upsert_events(
        self,
        *,
        events: Sequence[EventInput] = (),
        timeout: float | None = None,
    ) -> catalog_pb2.UpsertEventsResponse:
        """CatalogService.UpsertEvents: Inserts or replaces events by event_id, up to 1000 per
        call. Valid events are written; each invalid one is reported in errors."""
        return await self._unary("/aura.v1.CatalogService/UpsertEvents", catalog_pb2.UpsertEventsRequest, catalog_pb2.UpsertEventsResponse, {"events": events}, timeout)

    async def get_event(
        self,
        *,
        event_id: str = "",
        timeout: float | None = None,
    ) -> catalog_pb2.GetEventResponse:
        """CatalogService.GetEvent"""
        return await self._unary("/aura.v1.CatalogService/GetEvent", catalog_pb2.GetEventRequest, catalog_pb2.GetEventResponse, {"event_id": event_id}, timeout)

    async def list_events(
        self,
        *,
        page_size: int = 0,
        page_token: str = "",
        city: str = "",
        neighborhood: str = "",
        category: str = "",
        starts_after: datetime | Timestamp | None = None,
        starts_before: datetime | Timestamp | None = None,
        timeout: float | None = None,
    ) -> catalog_pb2.ListEventsResponse:
        """CatalogService.ListEvents: Events ordered by start time, a page at a time."""
        return await self._unary("/aura.v1.CatalogService/ListEvents", catalog_pb2.ListEventsRequest, catalog_pb2.ListEventsResponse, {"page_size": page_size, "page_token": page_token, "city": city, "neighborhood": neighborhood, "category": category, "starts_after": starts_after, "starts_before": starts_before}, timeout)

    async def delete_event(
        self,
        *,
        event_id: str = "",
        timeout: float | None = None,
    ) -> catalog_pb2.DeleteEventResponse:
        """CatalogService.DeleteEvent: Removes an event; it never appears in recommendations
        afterwards."""
        return await self._unary("/aura.v1.CatalogService/DeleteEvent", catalog_pb2.DeleteEventRequest, catalog_pb2.DeleteEventResponse, {"event_id": event_id}, timeout)

    async def get_status(
        self,
        *,
        timeout: float | None = None,
    ) -> status_pb2.GetStatusResponse:
        """StatusService.GetStatus: Open to everyone (no token needed); the REST door answers 503
        when not serving."""
        return await self._unary("/aura.v1.StatusService/GetStatus", status_pb2.GetStatusRequest, status_pb2.GetStatusResponse, {}, timeout)
