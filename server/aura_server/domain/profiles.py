"""Preference profiles and how every behavior and reward changes them.

The learning table (see the README):

| action   | reward | category score | location score |
|----------|--------|----------------|----------------|
| purchase | +1.0   | +0.15          | +0.10          |
| like     | +0.6   | +0.09          | +0.06          |
| share    | +0.6   | +0.09          | +0.06          |
| save     | +0.5   | +0.075         | +0.05          |
| click    | +0.3   | +0.045         | +0.03          |
| view     | +0.1   | +0.015         | +0.01          |
| skip     | -1/3   | -0.05          | -0.033         |
| hide     | -1.0   | -0.15          | -0.10          |
| search   | none   | none           | none           |

Category deltas are 0.15 x reward and location deltas 0.10 x reward, so a purchase adds
0.15 and a skip takes 0.05 (the original design). Scores stay in [0, 1]; what a negative
delta would take below 0 is kept as the category's aversion (in [0, 1], reduced by positive
deltas), so ranking can tell "skipped ten times" from "never seen". A positive
reward also pulls the price range toward the event's prices by 0.2 x reward (the first
one sets it). Every behavior counts toward behavior_count; purchases also count toward
total_events_attended.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from cachetools import LRUCache

from aura_server.domain.errors import InvalidArgument, NotFound, StoreUnavailable
from aura_server.domain.models import Event, PriceRange, UserProfile, utcnow
from aura_server.domain.taxonomy import (
    CATEGORIES,
    GENDERS,
    INTENTS,
    canonical_borough,
    canonical_category,
    find_neighborhood,
)
from aura_server.domain.validation import check_coordinates, require_id
from aura_server.store.base import Repository
from aura_server.telemetry.metrics import metrics

ACTIONS: tuple[str, ...] = (
    "search",
    "view",
    "click",
    "like",
    "save",
    "share",
    "purchase",
    "skip",
    "hide",
)
ACTION_REWARD: dict[str, float] = {
    "purchase": 1.0,
    "like": 0.6,
    "share": 0.6,
    "save": 0.5,
    "click": 0.3,
    "view": 0.1,
    "skip": -1.0 / 3.0,
    "hide": -1.0,
}
CATEGORY_STEP = 0.15
LOCATION_STEP = 0.10
PRICE_RATE = 0.2
FAVORITE_CATEGORY_SCORE = 0.6
HOME_LOCATION_SCORE = 0.5
# A write based on a stale copy is retried this many times before giving up.
MAX_WRITE_ATTEMPTS = 20


def _clamp(score: float) -> float:
    return min(1.0, max(0.0, score))


def adjust_categories(profile: UserProfile, categories: Sequence[str], reward: float) -> None:
    """Move the category scores by CATEGORY_STEP x reward, within [0, 1]; what the clamp
    at 0 swallows becomes aversion, and liking gives it back."""
    delta = CATEGORY_STEP * reward
    for category in categories:
        current = profile.categories.get(category, 0.0)
        profile.categories[category] = round(_clamp(current + delta), 6)
        aversion = profile.category_aversion.get(category, 0.0)
        if delta < 0:
            aversion += max(-(current + delta), 0.0) - max(-current, 0.0)
        else:
            aversion -= delta
        if aversion > 0 or category in profile.category_aversion:
            profile.category_aversion[category] = round(_clamp(aversion), 6)


def apply_reward(profile: UserProfile, event: Event, reward: float) -> None:
    """Move the profile toward (reward > 0) or away from (reward < 0) the event."""
    adjust_categories(profile, event.categories, reward)
    place = (event.city, event.neighborhood)
    current = profile.locations.get(place, 0.0)
    profile.locations[place] = round(_clamp(current + LOCATION_STEP * reward), 6)
    if reward > 0 and event.price_min is not None:
        low = event.price_min
        high = event.price_max if event.price_max is not None else low
        if profile.price_range is None:
            profile.price_range = PriceRange((low + high) / 2, low, high)
        else:
            rate = PRICE_RATE * reward
            price = profile.price_range
            price.avg += rate * ((low + high) / 2 - price.avg)
            price.sweet_spot_min += rate * (low - price.sweet_spot_min)
            price.sweet_spot_max += rate * (high - price.sweet_spot_max)


def count_behavior(profile: UserProfile, action: str) -> None:
    profile.behavior_count += 1
    if action == "purchase":
        profile.total_events_attended += 1


def _seed_from_onboarding(profile: UserProfile) -> None:
    """The stated preferences a fresh (or reset) profile starts from."""
    for category in profile.favorite_categories:
        profile.categories[category] = max(
            profile.categories.get(category, 0.0), FAVORITE_CATEGORY_SCORE
        )
    if profile.home_city:
        place = (profile.home_city, profile.home_neighborhood)
        profile.locations[place] = max(profile.locations.get(place, 0.0), HOME_LOCATION_SCORE)


class ProfileService:
    """Reads and writes profiles; every write is a compare-and-set on the version."""

    def __init__(self, repo: Repository, lock_stripes: int = 64, remembered: int = 100_000) -> None:
        self.repo = repo
        # The last profile read or written per user, to rank with while the store is down.
        self._last_known: LRUCache[str, UserProfile] = LRUCache(remembered)
        # Writes to one user queue here instead of racing to the store and retrying;
        # the store's compare-and-set still guards writes from other processes.
        self._locks = [threading.Lock() for _ in range(lock_stripes)]

    def get(self, user_id: str) -> UserProfile:
        user_id = require_id("user_id", user_id)
        profile = self.repo.get_user(user_id)
        if profile is None:
            raise NotFound("user_id", f"no user {user_id!r}; onboard the user first")
        return profile

    def find(self, user_id: str) -> UserProfile | None:
        profile = self.repo.get_user(user_id)
        if profile is not None:
            self._last_known[user_id] = profile
        return profile

    def find_or_last_known(self, user_id: str) -> tuple[UserProfile | None, bool]:
        """The stored profile; while the store is unreachable, the last one seen here (or
        none: a cold start), and True to say the answer is degraded."""
        try:
            profile = self.find(user_id)
        except StoreUnavailable:
            last = self._last_known.get(user_id)
            metrics().profile_reads.labels("last_known" if last else "none").inc()
            return last, True
        metrics().profile_reads.labels("store").inc()
        return profile, False

    def update(self, user_id: str, change: Callable[[UserProfile], None]) -> UserProfile:
        """Apply change to the stored profile (a new one when absent) and save it,
        retrying on concurrent writes so no update is lost."""
        # The store's transaction first, then this user's lock: every path takes them in
        # this order (a caller may already hold the transaction), so none can deadlock.
        with self.repo.atomic(), self._locks[hash(user_id) % len(self._locks)]:
            for _ in range(MAX_WRITE_ATTEMPTS):
                profile = self.repo.get_user(user_id) or UserProfile(user_id=user_id)
                change(profile)
                profile.version += 1
                profile.updated_at = utcnow()
                if self.repo.save_user(profile):
                    self._last_known[user_id] = profile
                    return profile
        raise RuntimeError(f"profile {user_id!r} kept changing under {MAX_WRITE_ATTEMPTS} writes")

    def onboard(
        self,
        user_id: str,
        intent: str,
        age: int,
        gender: str,
        lat: float | None = None,
        lng: float | None = None,
        city: str = "",
        neighborhood: str = "",
        favorite_categories: Sequence[str] = (),
    ) -> tuple[UserProfile, bool]:
        user_id = require_id("user_id", user_id)
        if intent not in INTENTS:
            raise InvalidArgument("intent", f"must be one of {', '.join(INTENTS)}")
        if not 13 <= age <= 120:
            raise InvalidArgument("age", "must be between 13 and 120")
        if gender and gender not in GENDERS:
            raise InvalidArgument("gender", f"must be one of {', '.join(GENDERS)}")
        check_coordinates(lat, lng)
        home_city, home_neighborhood = "", ""
        if neighborhood:
            hood = find_neighborhood(neighborhood)
            if hood is None:
                raise InvalidArgument("neighborhood", f"unknown neighborhood {neighborhood!r}")
            if city and canonical_borough(city) != hood.city:
                raise InvalidArgument("city", f"{hood.name} is in {hood.city}, not {city}")
            home_city, home_neighborhood = hood.city, hood.name
            if lat is None:
                lat, lng = hood.lat, hood.lng
        elif city:
            borough = canonical_borough(city)
            if borough is None:
                raise InvalidArgument("city", f"unknown borough {city!r}")
            home_city = borough
        if len(favorite_categories) > len(CATEGORIES):
            raise InvalidArgument("favorite_categories", f"at most {len(CATEGORIES)} categories")
        favorites: list[str] = []
        for index, name in enumerate(favorite_categories):
            category = canonical_category(name)
            if category is None:
                raise InvalidArgument(f"favorite_categories[{index}]", f"unknown category {name!r}")
            if category not in favorites:
                favorites.append(category)
        created = False

        def change(profile: UserProfile) -> None:
            nonlocal created
            created = profile.version == 0
            profile.intent, profile.age, profile.gender = intent, age, gender
            if lat is not None:
                profile.home_lat, profile.home_lng = lat, lng
            if home_city:
                profile.home_city, profile.home_neighborhood = home_city, home_neighborhood
            for category in favorites:
                if category not in profile.favorite_categories:
                    profile.favorite_categories.append(category)
            _seed_from_onboarding(profile)

        return self.update(user_id, change), created

    def reset(self, user_id: str) -> UserProfile:
        self.get(user_id)  # NOT_FOUND for unknown users

        def change(profile: UserProfile) -> None:
            profile.categories.clear()
            profile.category_aversion.clear()
            profile.locations.clear()
            profile.price_range = None
            profile.behavior_count = 0
            profile.total_events_attended = 0
            _seed_from_onboarding(profile)

        profile = self.update(user_id, change)
        self.repo.mark_behaviors_before_reset(user_id)
        return profile
