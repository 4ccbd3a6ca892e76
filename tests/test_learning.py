"""How behaviors and rewards change profiles (docs/concepts/learning.md), on every store."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from harness import NOW, make_event

from aura_server.app import Aura
from aura_server.config import Settings
from aura_server.domain.errors import InvalidArgument, NotFound
from aura_server.domain.learning.profiles import apply_reward
from aura_server.domain.learning.tastes import decay_factor
from aura_server.domain.models import PriceRange, UserProfile
from aura_server.store.sqlite import SQLiteRepository


def test_purchase_and_skip_follow_the_original_design() -> None:
    profile = UserProfile(user_id="u", categories={"Techno": 0.5})
    event = make_event("e", categories=["Techno", "House"])
    apply_reward(profile, event, 1.0)
    assert profile.categories == {"Techno": 0.65, "House": 0.15}
    apply_reward(profile, event, -1 / 3)
    assert profile.categories["Techno"] == pytest.approx(0.60)
    assert profile.categories["House"] == pytest.approx(0.10)


def test_scores_stay_within_zero_and_one() -> None:
    profile = UserProfile(user_id="u", categories={"Techno": 0.95})
    event = make_event("e")
    for _ in range(5):
        apply_reward(profile, event, 1.0)
    assert profile.categories["Techno"] == 1.0
    for _ in range(30):
        apply_reward(profile, event, -1.0)
    assert profile.categories["Techno"] == 0.0
    assert all(0 <= s <= 1 for s in profile.locations.values())


def test_price_range_moves_toward_what_people_buy() -> None:
    profile = UserProfile(user_id="u")
    apply_reward(profile, make_event("a", price_min=20.0, price_max=40.0), 1.0)
    assert profile.price_range == PriceRange(30.0, 20.0, 40.0)
    apply_reward(profile, make_event("b", price_min=100.0, price_max=100.0), 1.0)
    assert profile.price_range.avg == pytest.approx(30 + 0.2 * 70)
    apply_reward(profile, make_event("c", price_min=500.0, price_max=500.0), -1.0)
    assert profile.price_range.avg == pytest.approx(44.0), "negative rewards leave price alone"


@pytest.fixture
def catalog_aura(aura: Aura) -> Aura:
    aura.repo.upsert_events([make_event("e1"), make_event("e2", categories=["Jazz"])])
    aura.profiles.onboard("u1", "explore", 30, "male", favorite_categories=["jazz"])
    return aura


def test_reward_after_logged_purchase_is_not_counted_twice(catalog_aura: Aura) -> None:
    aura = catalog_aura
    logged = aura.behaviors.log("u1", "purchase", event_id="e1")
    profile = aura.profiles.get("u1")
    assert profile.categories["Techno"] == pytest.approx(0.15)
    result = aura.behaviors.reward("u1", "e1", "purchase")
    assert result.behavior_id == logged.behavior_id and result.applied
    assert result.profile.categories["Techno"] == pytest.approx(0.15)
    assert result.profile.behavior_count == 1 and result.profile.total_events_attended == 1
    assert aura.behaviors.reward("u1", "e1", "purchase").duplicate


def test_explicit_reward_replaces_the_action_reward(catalog_aura: Aura) -> None:
    aura = catalog_aura
    aura.behaviors.log("u1", "click", event_id="e2", behavior_id="b-click")
    jazz_after_click = aura.profiles.get("u1").categories["Jazz"]
    faded = 0.6 * decay_factor(Settings().taste_half_life)  # a new feedback action fades
    assert jazz_after_click == pytest.approx(faded + 0.045, abs=1e-6)
    result = aura.behaviors.reward("u1", "e2", "click", reward=1.0, behavior_id="b-click")
    assert result.profile.categories["Jazz"] == pytest.approx(faded + 0.15, abs=1e-6)
    again = aura.behaviors.reward("u1", "e2", "click", reward=-1.0, behavior_id="b-click")
    assert again.duplicate and again.reward == 1.0
    assert again.profile.categories["Jazz"] == pytest.approx(faded + 0.15, abs=1e-6)


def test_reward_without_behavior_creates_one(catalog_aura: Aura) -> None:
    aura = catalog_aura
    first = aura.behaviors.reward("u1", "e1", "like", feed_id="f1")
    assert first.applied and first.profile.behavior_count == 1
    stored = aura.repo.get_behavior(first.behavior_id)
    assert stored is not None and stored.rewarded and stored.feed_id == "f1"
    assert aura.behaviors.reward("u1", "e1", "like", feed_id="f1").duplicate


def test_behavior_id_of_another_user_is_refused(catalog_aura: Aura) -> None:
    aura = catalog_aura
    aura.behaviors.log("u1", "click", event_id="e1", behavior_id="mine")
    with pytest.raises(InvalidArgument) as caught:
        aura.behaviors.reward("u2", "e1", "click", behavior_id="mine")
    assert caught.value.field == "behavior_id"


def test_reset_returns_to_the_onboarded_state(catalog_aura: Aura) -> None:
    aura = catalog_aura
    for action in ("purchase", "like", "skip"):
        aura.behaviors.log("u1", action, event_id="e1")
    assert aura.profiles.get("u1").cold_start_completed
    profile = aura.profiles.reset("u1")
    assert profile.categories == {"Jazz": 0.6}
    assert profile.behavior_count == 0 and profile.price_range is None
    assert not profile.cold_start_completed
    history = aura.repo.latest_behavior("u1", "e1", "purchase")
    assert history is not None, "the history is kept"
    assert aura.repo.excluded_event_ids("u1") == {"e1"}, "what was bought stays bought"
    with pytest.raises(NotFound):
        aura.profiles.reset("nobody")


def test_concurrent_behaviors_lose_no_update(catalog_aura: Aura) -> None:
    aura = catalog_aura

    def click(worker: int) -> None:
        for i in range(10):
            aura.behaviors.log("u1", "view", event_id="e1", behavior_id=f"w{worker}-{i}")

    threads = [threading.Thread(target=click, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    profile = aura.profiles.get("u1")
    assert profile.behavior_count == 40
    assert profile.categories["Techno"] == pytest.approx(40 * 0.015)


def test_two_processes_worth_of_writers_lose_no_update(tmp_path: Path) -> None:
    """Two independent service stacks over one SQLite file (as two processes would be):
    only the store's compare-and-set keeps their profile writes from overwriting."""
    stacks = [Aura.build(SQLiteRepository(tmp_path / "shared.db")) for _ in range(2)]
    stacks[0].repo.upsert_events([make_event("e1")])

    def view(stack: Aura, name: str) -> None:
        for i in range(15):
            stack.behaviors.log("u1", "view", event_id="e1", behavior_id=f"{name}-{i}")

    threads = [threading.Thread(target=view, args=(s, f"s{n}")) for n, s in enumerate(stacks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stacks[1].profiles.get("u1").behavior_count == 30


def test_skips_below_zero_become_aversion_and_likes_give_it_back() -> None:
    profile = UserProfile(user_id="u", categories={"Techno": 0.02})
    event = make_event("e")
    apply_reward(profile, event, -1 / 3)  # -0.05: 0.02 from the score, 0.03 to aversion
    assert profile.categories["Techno"] == 0.0
    assert profile.category_aversion["Techno"] == pytest.approx(0.03)
    apply_reward(profile, event, -1 / 3)
    assert profile.category_preferences()["Techno"] == pytest.approx(-0.08)
    apply_reward(profile, event, 1.0)  # +0.15 to the score, and the aversion forgiven
    assert profile.categories["Techno"] == pytest.approx(0.15)
    assert profile.category_aversion["Techno"] == 0.0


def test_replicas_over_one_store_learn_the_same_model(tmp_path: Path) -> None:
    """Two stacks over one SQLite file, as two workers: what one learns, the other
    replays from the learning log, and both end with the same model."""
    from aura_server.domain.models import utcnow

    first, second = (Aura.build(SQLiteRepository(tmp_path / "shared.db")) for _ in range(2))
    first.repo.upsert_events(
        [make_event(f"e{i}", starts_at=utcnow() + timedelta(hours=i + 1)) for i in range(6)]
    )
    first.profiles.onboard("u1", "explore", 30, "male", neighborhood="Bushwick")
    feed = first.recommender.feed("u1", None, None, limit=5)
    for item in feed.items[:3]:
        first.behaviors.log("u1", "purchase", event_id=item.event.event_id, feed_id=feed.feed_id)
    assert first.learning.settle(), "learned off the answer path, on the learner thread"
    assert first.bandit.learned == 3
    assert second.bandit.learned == 0
    assert second.learning.sync() == 3
    assert second.bandit.version == first.bandit.version == "cb-3"
    shared, actions = "shared |U c0:0.5 |T hour_1", ["|E c0 km_1", "|E c3 km_3"]
    assert list(first.bandit.predict_rewards(shared, actions)) == list(
        second.bandit.predict_rewards(shared, actions)
    )
    first.learning.save()
    third = Aura.build(SQLiteRepository(tmp_path / "shared.db"))
    assert third.bandit.version == "cb-3" and third.learning.cursor == first.learning.cursor


def test_being_shown_a_list_makes_no_profile_but_counts_for_a_known_user(aura: Aura) -> None:
    """A feed writes only its impression; the profile takes its exposure in at the user's
    next write, before that write's own change, and a new profile starts after the lists
    shown before it existed."""
    aura.repo.upsert_events([make_event("e1"), make_event("e2", categories=["Jazz"])])
    for number in range(2):
        aura.recommender.feed("stranger", 40.7, -73.95, now=NOW, feed_id=f"before-{number}")
    aura.recommender.feed("known", 40.7, -73.95, now=NOW, feed_id="unknown-yet")
    assert aura.recommender.impressions.flush()
    assert aura.repo.get_user("stranger") is None
    aura.profiles.onboard("known", "explore", 30, "")
    stored = aura.profiles.get("known")
    assert stored.evidence.passed == {}, "lists shown before the profile are not taken in"
    assert stored.exposure_folded is not None and stored.exposure_folded.feed_id == "unknown-yet"

    feed = aura.recommender.feed("known", 40.7, -73.95, now=NOW, feed_id="shown")
    assert aura.recommender.impressions.flush()
    assert aura.profiles.get("known").evidence.passed == {}, "a feed writes no profile"
    clicked, passed_over = (item.event for item in feed.items)
    aura.behaviors.log("known", "click", event_id=clicked.event_id, feed_id="shown", position=0)
    evidence = aura.profiles.get("known").evidence
    assert evidence.passed[passed_over.categories[0]] > 0, "the exposure was taken in"
    assert evidence.liked[clicked.categories[0]] > 0
    assert evidence.list_id == "shown" and evidence.answered_list == "shown"
    assert aura.profiles.get("known").exposure_folded.feed_id == "shown"  # type: ignore[union-attr]
