"""One contract every store honours: SQLite, mongomock, and a real MongoDB when configured."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from harness import NOW, make_event

from aura_server.domain.models import Behavior, Impression, ImpressionItem, UserProfile
from aura_server.domain.repository import (
    EventCursor,
    EventFilter,
    LogPosition,
    ModelSnapshot,
    PendingView,
)
from aura_server.store import Repository
from aura_server.store.documents import impression_from_doc, impression_to_doc


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
    counts = repo.engagement_counts(NOW - timedelta(seconds=1), NOW + timedelta(hours=1))
    assert sorted((c.event_id, c.action, c.count) for c in counts) == [
        ("e1", "purchase", 2),
        ("e2", "hide", 1),
        ("e3", "click", 1),
    ]
    assert repo.engagement_counts(NOW + timedelta(hours=1), NOW + timedelta(hours=2)) == []


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


def test_engagement_counts_group_by_bracket_and_hour(repo: Repository) -> None:
    for i, bracket in enumerate(["18-24", "18-24", "25-34"]):
        repo.insert_behavior(
            Behavior(f"b{i}", f"u{i}", "like", NOW, event_id="e1", age_bracket=bracket)
        )
    repo.insert_behavior(
        Behavior("late", "u9", "like", NOW + timedelta(hours=2), event_id="e1", age_bracket="45+")
    )
    counts = repo.engagement_counts(NOW - timedelta(hours=1), NOW + timedelta(hours=3))
    hour = int(NOW.timestamp() // 3600)
    assert sorted((c.age_bracket, c.hour, c.count) for c in counts) == [
        ("18-24", hour, 2),
        ("25-34", hour, 1),
        ("45+", hour + 2, 1),
    ]


def test_latest_impression_with_an_event(repo: Repository) -> None:
    for n, minutes in enumerate([0, 5]):
        repo.insert_impression(
            Impression(
                feed_id=f"f{n}",
                user_id="u1",
                kind="feed",
                created_at=NOW + timedelta(minutes=minutes),
                context={},
                items=[ImpressionItem("e1", 0, 1.0, "personalized", False, 0.9, "|E x")],
                model_version="m",
                shared_features="shared |U y",
            )
        )
    found = repo.latest_impression_with("u1", "e1", NOW - timedelta(hours=1))
    assert found is not None and found.feed_id == "f1"
    assert found.items[0].features == "|E x" and found.shared_features == "shared |U y"
    assert repo.latest_impression_with("u1", "e1", NOW + timedelta(hours=1)) is None
    assert repo.latest_impression_with("u2", "e1", NOW - timedelta(hours=1)) is None


def test_impressions_are_stored_column_by_column_and_read_either_way() -> None:
    items = [
        ImpressionItem("e1", 0, 0.9, "personalized", False, 0.8, "|E a", 0.2, 1.5, 20.0),
        ImpressionItem("e2", 1, 0.7, "exploration", True, 0.1, "|E b", 0.2, 3.0, None),
    ]
    items[0].categories = ("Jazz", "Techno")
    impression = Impression("f1", "u1", "feed", NOW, {"lat": 40.7}, items, "m", "shared")
    doc = impression_to_doc(impression)
    assert doc["items"]["event_id"] == ["e1", "e2"]
    assert impression_from_doc(doc) == impression
    objects = [dataclasses.asdict(item) for item in items]
    written_before = {**doc, "items": objects}  # an object per item
    assert impression_from_doc(written_before) == impression
    without_a_later_column = {**doc, "items": {**doc["items"]}}
    del without_a_later_column["items"]["categories"]
    assert impression_from_doc(without_a_later_column).items[0].categories == ()


def test_lists_after_a_mark_come_in_the_order_they_were_shown(repo: Repository) -> None:
    """The lists a profile has not taken in yet: after the mark, oldest first; lists shown
    at one moment (a held clock) in the order they were written."""

    def shown(
        feed_id: str, user_id: str, minutes: int, searched: tuple[str, ...] | None = None
    ) -> None:
        item = ImpressionItem("e1", 0, 1.0, "personalized", False, 0.9, "", None, 2.5, 20.0)
        item.categories = ("Jazz", "Techno")
        repo.insert_impression(
            Impression(
                feed_id=feed_id,
                user_id=user_id,
                kind="feed" if searched is None else "natural",
                created_at=NOW + timedelta(minutes=minutes),
                context={},
                items=[item],
                model_version="m",
                searched=searched,
            )
        )

    assert repo.newest_list("u1") is None and repo.lists_after("u1", None) == []
    for feed_id in ("s9", "s10", "s11"):  # written in this order, at one moment
        shown(feed_id, "u1", 0)
    shown("later", "u1", 1)
    shown("other user", "u2", 2)
    shown("searched", "u1", 3, searched=("Jazz",))
    shown("searched for nothing known", "u1", 4, searched=())
    lists = repo.lists_after("u1", None)
    assert [shown.mark.feed_id for shown in lists] == [
        "s9",
        "s10",
        "s11",
        "later",
        "searched",
        "searched for nothing known",
    ]
    assert [shown.searched for shown in lists[-3:]] == [None, ("Jazz",), ()]
    assert lists[-2].items == lists[0].items
    stored = repo.get_impression("searched")
    assert stored is not None and stored.searched == ("Jazz",)
    item = lists[0].items[0]
    assert (item.position, item.categories, item.price_min, item.distance_km) == (
        0,
        ("Jazz", "Techno"),
        20.0,
        2.5,
    )
    after_first = repo.lists_after("u1", lists[0].mark)
    assert [shown.mark.feed_id for shown in after_first][:3] == ["s10", "s11", "later"]
    newest = repo.newest_list("u1")
    assert newest == lists[-1].mark
    assert repo.lists_after("u1", newest) == []


def test_profile_version_is_one_small_read(repo: Repository) -> None:
    assert repo.profile_version("u1") is None
    profile = UserProfile(user_id="u1", version=1)
    assert repo.save_user(profile)
    profile.version = 2
    assert repo.save_user(profile)
    assert repo.profile_version("u1") == 2


def test_callbacks_wait_for_the_commit(repo: Repository) -> None:
    """What a process keeps of a write (on_commit) never runs ahead of the store: after the
    commit, and never for work that was rolled back (where the store rolls back)."""
    ran: list[str] = []

    def work() -> None:
        assert repo.save_user(UserProfile(user_id="u1", version=1))
        repo.on_commit(lambda: ran.append("written"))
        assert ran == [] or repo.backend != "sqlite", "not before the commit"

    repo.transaction(work)
    assert ran == ["written"]

    def failing() -> None:
        repo.on_commit(lambda: ran.append("rolled back"))
        raise ValueError("this work fails")

    with pytest.raises(ValueError):
        repo.transaction(failing)
    if repo.backend == "sqlite":
        assert ran == ["written"]


def test_claims_are_granted_once(repo: Repository) -> None:
    assert repo.claim("reward:b1")
    assert not repo.claim("reward:b1")
    assert repo.claim("reward:b2")


def test_pending_views_wait_until_due(repo: Repository) -> None:
    repo.add_pending_view(PendingView("f1", "e1", "u1", NOW))
    repo.add_pending_view(PendingView("f1", "e1", "u1", NOW + timedelta(hours=5)))
    repo.add_pending_view(PendingView("f1", "e2", "u1", NOW + timedelta(minutes=10)))
    due = repo.due_pending_views(NOW + timedelta(minutes=1), 10)
    assert [(v.feed_id, v.event_id) for v in due] == [("f1", "e1")]
    repo.remove_pending_view("f1", "e1")
    assert repo.due_pending_views(NOW + timedelta(minutes=1), 10) == []
    assert len(repo.due_pending_views(NOW + timedelta(hours=1), 10)) == 1


def test_model_snapshots_newest_wins(repo: Repository) -> None:
    assert repo.latest_model() is None
    for n in range(5):
        repo.save_model(
            ModelSnapshot(f"v{n}", NOW + timedelta(minutes=n), n * 10, bytes([n]) * 100)
        )
    latest = repo.latest_model()
    assert latest is not None
    assert (latest.version, latest.learned, latest.blob) == ("v4", 40, bytes([4]) * 100)


def test_counters(repo: Repository) -> None:
    assert repo.counter("unjoined_rewards") == 0
    repo.add_to_counter("unjoined_rewards")
    repo.add_to_counter("unjoined_rewards", 2)
    assert repo.counter("unjoined_rewards") == 3


def test_learning_log_is_ordered_and_trimmed(repo: Repository) -> None:
    from aura_server.domain.repository import LearnedExample

    seqs = [
        repo.append_example(LearnedExample("shared |U a", ("|E x", "|E y"), n % 2, 0.5, 0.85))
        for n in range(5)
    ]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    after = repo.examples_after(seqs[1], 10)
    assert [e.seq for e in after] == seqs[2:]
    assert after[0].example.actions == ("|E x", "|E y") and after[0].example.chosen == 0
    assert [e.seq for e in repo.examples_after(0, 2)] == seqs[:2]
    assert repo.trim_examples(seqs[2]) == 3
    assert [e.seq for e in repo.examples_after(0, 10)] == seqs[3:]
    repo.save_model(ModelSnapshot("cb-5", NOW, 5, b"model", last_seq=seqs[-1]))
    latest = repo.latest_model()
    assert latest is not None and latest.last_seq == seqs[-1]


def test_impressions_and_behaviors_read_page_by_page_in_time_order(repo: Repository) -> None:
    for n in range(7):
        moment = NOW + timedelta(minutes=n // 2)  # pairs share a time: ties go by id
        repo.insert_impression(
            Impression(
                f"f{6 - n}",
                "u1",
                "feed",
                moment,
                {},
                [ImpressionItem("e1", 0, 0.5, "p", False, 1.0)],
                "cb-0",
            )
        )
        repo.insert_behavior(Behavior(f"b{6 - n}", "u1", "view", moment, event_id="e1"))
    until = NOW + timedelta(hours=1)

    def read_all(page: Callable[..., list[Any]], time_of: str, key_of: str) -> list[str]:
        seen: list[str] = []
        after = None
        while True:
            batch = page(NOW, until, after, 3)
            if not batch:
                return seen
            seen += [getattr(record, key_of) for record in batch]
            last = batch[-1]
            after = LogPosition(getattr(last, time_of), getattr(last, key_of))

    feeds = read_all(repo.impressions_page, "created_at", "feed_id")
    assert feeds == ["f5", "f6", "f3", "f4", "f1", "f2", "f0"]
    behaviors = read_all(repo.behaviors_page, "occurred_at", "behavior_id")
    assert behaviors == ["b5", "b6", "b3", "b4", "b1", "b2", "b0"]
    later = repo.impressions_page(NOW + timedelta(minutes=2), until, None, 10)
    assert [i.feed_id for i in later] == ["f1", "f2", "f0"]
    assert repo.behaviors_page(NOW - timedelta(hours=1), NOW, None, 10) == []
