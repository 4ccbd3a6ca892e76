"""One contract every store honours: SQLite, mongomock, and a real MongoDB when configured."""

from __future__ import annotations

from datetime import timedelta

from conftest import NOW, make_event

from aura_server.domain.models import Behavior, Impression, ImpressionItem, UserProfile
from aura_server.store import Repository
from aura_server.store.base import EventCursor, EventFilter


def test_profile_round_trip_and_compare_and_set(repo: Repository) -> None:
    profile = UserProfile(user_id="u1", intent="explore", age=30, categories={"Jazz": 0.4})
    profile.locations[("Brooklyn", "Bushwick")] = 0.5
    profile.version = 1
    assert repo.save_user(profile)
    stored = repo.get_user("u1")
    assert stored is not None
    assert stored.categories == {"Jazz": 0.4}
    assert stored.locations == {("Brooklyn", "Bushwick"): 0.5}
    assert not repo.save_user(profile), "a second first write must be refused"
    stored.version = 2
    assert repo.save_user(stored)
    stale = UserProfile(user_id="u1", version=2)
    assert not repo.save_user(stale), "a write based on version 1 must lose to version 2"
    assert repo.get_user("nobody") is None


def test_behavior_idempotency_and_reward_once(repo: Repository) -> None:
    behavior = Behavior("b1", "u1", "click", NOW, event_id="e1", reward=0.3)
    assert repo.insert_behavior(behavior)
    assert not repo.insert_behavior(behavior)
    assert repo.record_reward("b1", 1.0)
    assert not repo.record_reward("b1", 0.5)
    stored = repo.get_behavior("b1")
    assert stored is not None and stored.reward == 1.0 and stored.rewarded


def test_latest_behavior_and_exclusions(repo: Repository) -> None:
    repo.insert_behavior(Behavior("b1", "u1", "purchase", NOW, event_id="e1", feed_id="f1"))
    repo.insert_behavior(
        Behavior("b2", "u1", "purchase", NOW + timedelta(minutes=1), event_id="e1", feed_id="f2")
    )
    repo.insert_behavior(Behavior("b3", "u1", "hide", NOW, event_id="e2"))
    repo.insert_behavior(Behavior("b4", "u1", "click", NOW, event_id="e3"))
    latest = repo.latest_behavior("u1", "e1", "purchase")
    assert latest is not None and latest.behavior_id == "b2"
    in_feed = repo.latest_behavior("u1", "e1", "purchase", feed_id="f1")
    assert in_feed is not None and in_feed.behavior_id == "b1"
    assert repo.excluded_event_ids("u1") == {"e1", "e2"}
    assert repo.mark_behaviors_before_reset("u1") == 4
    marked = repo.get_behavior("b4")
    assert marked is not None and marked.before_reset
    recent = repo.engagement_since(NOW - timedelta(seconds=1))
    assert sorted(e.event_id for e in recent) == ["e1", "e1", "e2", "e3"]


def test_events_upsert_keeps_popularity_and_bumps_version(repo: Repository) -> None:
    version = repo.catalog_version()
    repo.upsert_events([make_event("e1", popularity=5.0), make_event("e2")])
    assert repo.catalog_version() != version
    repo.add_popularity("e1", 2.5)
    repo.upsert_events([make_event("e1", title="Renamed", popularity=0.0)])
    event = repo.get_event("e1")
    assert event is not None
    assert event.title == "Renamed"
    assert event.popularity == 7.5
    assert event.starts_at == NOW + timedelta(days=1)
    assert repo.count_events() == 2
    assert repo.delete_event("e2")
    assert not repo.delete_event("e2")
    assert repo.get_event("e2") is None


def test_active_events_skip_cancelled(repo: Repository) -> None:
    repo.upsert_events([make_event("e1"), make_event("e2", status="cancelled")])
    assert [e.event_id for e in repo.active_events()] == ["e1"]


def test_list_events_filters_and_keyset_paging(repo: Repository) -> None:
    events = [
        make_event(
            f"e{i:02d}",
            starts_at=NOW + timedelta(hours=i // 2),
            categories=["Jazz"] if i % 3 == 0 else ["Techno"],
        )
        for i in range(10)
    ]
    repo.upsert_events(events)
    first = repo.list_events(EventFilter(), 4)
    assert [e.event_id for e in first] == ["e00", "e01", "e02", "e03"]
    rest = repo.list_events(EventFilter(), 100, EventCursor(first[-1].starts_at, "e03"))
    assert [e.event_id for e in rest] == [f"e{i:02d}" for i in range(4, 10)]
    jazz = repo.list_events(EventFilter(category="Jazz"), 100)
    assert [e.event_id for e in jazz] == ["e00", "e03", "e06", "e09"]
    window = repo.list_events(
        EventFilter(starts_after=NOW + timedelta(hours=1), starts_before=NOW + timedelta(hours=3)),
        100,
    )
    assert [e.event_id for e in window] == ["e02", "e03", "e04", "e05"]
    assert repo.list_events(EventFilter(city="Queens"), 100) == []


def test_impressions_round_trip(repo: Repository) -> None:
    impression = Impression(
        feed_id="f1",
        user_id="u1",
        kind="feed",
        created_at=NOW,
        context={"lat": 40.7, "lng": -73.9, "limit": 10},
        items=[ImpressionItem("e1", 0, 0.9, "category_match", False, 1.0)],
        model_version="m1",
    )
    repo.insert_impression(impression)
    stored = repo.get_impression("f1")
    assert stored is not None
    assert stored.items == impression.items
    assert stored.created_at == NOW
    assert repo.get_impression("missing") is None


def test_operator_lookalike_values_are_plain_data(repo: Repository) -> None:
    repo.insert_behavior(Behavior("b1", "u1", "click", NOW, event_id="e1"))
    assert repo.get_behavior('{"$ne": null}') is None
    assert repo.get_user("$where") is None
    profile = UserProfile(user_id="a.b$c", version=1)
    assert repo.save_user(profile)
    stored = repo.get_user("a.b$c")
    assert stored is not None and stored.user_id == "a.b$c"
