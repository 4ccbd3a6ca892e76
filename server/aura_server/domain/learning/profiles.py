"""Preference profiles and how every behavior and reward changes them.

A behavior's reward (actions.py) moves the profile document: category scores by
CATEGORY_STEP x reward within [0, 1], places and the price range only toward what was
taken. The rules, with the table they make, are in docs/concepts/learning.md.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from cachetools import LRUCache

from aura_server.domain.clock import utcnow
from aura_server.domain.errors import InvalidArgument, NotFound
from aura_server.domain.learning import exposure, tastes
from aura_server.domain.learning.actions import REWARD_ACTIONS
from aura_server.domain.learning.tastes import TasteView, user_tastes
from aura_server.domain.models import Event, ShownList, TasteEvidence, UserProfile
from aura_server.domain.repository import Repository
from aura_server.domain.taxonomy import (
    INTENTS,
    age_bracket,
    canonical_borough,
    canonical_category,
    find_neighborhood,
)
from aura_server.telemetry.metrics import metrics

CATEGORY_STEP = 0.15
LOCATION_STEP = 0.10
FAVORITE_CATEGORY_SCORE = 0.6
HOME_LOCATION_SCORE = 0.5
# A write based on a stale copy is retried this many times before giving up.
MAX_WRITE_ATTEMPTS = 20
MAX_WAITING_USERS = 100_000
# A search's categories are a light preference: a fifth of a purchase's reward.
SEARCH_CATEGORY_REWARD = 0.2


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


def apply_reward(profile: UserProfile, event: Event, reward: float, taken: bool = True) -> None:
    """The learning table: move the profile toward (reward > 0) or away from (reward < 0)
    the event's categories; places and prices only toward what was taken (not merely
    viewed: what was shown is not what was wanted)."""
    adjust_categories(profile, event.categories, reward)
    if reward <= 0 or not taken:
        return
    place = (event.city, event.neighborhood)
    current = profile.locations.get(place, 0.0)
    profile.locations[place] = round(_clamp(current + LOCATION_STEP * reward), 6)
    profile.price_range = tastes.take_price(profile.price_range, event, reward)


def learn_from(
    profile: UserProfile,
    event: Event,
    action: str,
    reward: float,
    half_life: float,
    shown_at: int | None = None,
    distance_km: float | None = None,
    new_behavior: bool = True,
    feed_id: str = "",
) -> None:
    """Everything one behavior (or a reward added to one) teaches about the user: the
    learning table's scores fade by the half-life when it is new feedback, then move;
    the taste evidence takes it in (tastes.py). A view is only a look: its exposure was
    counted when the list was shown."""
    if new_behavior and feed_id:
        profile.evidence.answered_list = feed_id  # the user answered that list
    if new_behavior and action in REWARD_ACTIONS:
        factor = tastes.decay_factor(half_life)
        for scores in (profile.categories, profile.category_aversion):
            for name in scores:
                scores[name] = round(scores[name] * factor, 6)
    if not reward:
        return
    apply_reward(profile, event, reward, taken=action != "view")
    if action == "view":
        return
    tastes.record(
        profile.evidence,
        user_tastes(profile),
        event,
        reward,
        shown_at if new_behavior else None,  # an added reward: the exposure is settled
        distance_km,
        half_life,
        feed_id,
    )
    if profile.price_range is not None:
        profile.price_range.sweet_spot_max = tastes.likeliest_budget(profile.evidence)


def take_searches(profile: UserProfile, lists: Sequence[ShownList]) -> None:
    """The searches among `lists` (a Natural search's list): each counts as a behavior,
    and the categories it named move the profile by SEARCH_CATEGORY_REWARD."""
    for shown in lists:
        if shown.searched is not None:
            count_behavior(profile, "search")
            adjust_categories(profile, shown.searched, SEARCH_CATEGORY_REWARD)


def count_behavior(profile: UserProfile, action: str) -> None:
    profile.behavior_count += 1
    if action in REWARD_ACTIONS:
        profile.feedback_count += 1
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


def _no_change(profile: UserProfile) -> None:
    """A write that only folds in the lists the profile has not taken in yet."""


@dataclass
class KnownUser:
    """A user as this process last read or wrote them: never changed in place (writers
    change a copy), shared by every request until the store's version moves on."""

    profile: UserProfile
    # The events they hid or bought; None until a list needs them.
    excluded: frozenset[str] | None = None
    # The tastes a new list is served with (user_tastes(serving=True)), once computed.
    serving_view: TasteView | None = None

    def tastes(self) -> TasteView:
        if self.serving_view is None:
            self.serving_view = user_tastes(self.profile, serving=True)
        return self.serving_view


class ProfileService:
    """Reads and writes profiles; every write is a compare-and-set on the version.

    Decoded profiles are kept per process (`known`, bounded), keyed by the version the
    store bumps on every write: a read asks the store only for the version (and decodes
    nothing while it is the one kept), so read-your-writes holds across workers and
    instances. What a write commits is kept at once (after the commit)."""

    def __init__(
        self,
        repo: Repository,
        half_life: float = tastes.EVIDENCE_HALF_LIFE,
        lock_stripes: int = 1024,
        remembered: int = 20_000,
    ) -> None:
        self.repo = repo
        self.half_life = half_life  # of taste evidence, in the user's feedback actions
        # Per user, the last profile read or written here: the cache, and what lists are
        # ranked with while the store is down.
        self._known: LRUCache[str, KnownUser] = LRUCache(remembered)
        self._known_lock = threading.Lock()
        # Writes to one user queue here instead of racing to the store and retrying;
        # the store's compare-and-set still guards writes from other processes.
        self._locks = [threading.Lock() for _ in range(lock_stripes)]
        # Users shown lists since their last write, oldest first: when each was last
        # shown one (monotonic seconds), for the sweep that folds in their exposure. At
        # most MAX_WAITING_USERS: past that the oldest are dropped (their lists are folded
        # in at their next write all the same).
        self._shown: OrderedDict[str, float] = OrderedDict()
        self._shown_lock = threading.Lock()

    def get(self, user_id: str) -> UserProfile:
        """The stored profile (shared: not to be changed in place)."""
        known = self._stored(user_id)
        if known is None:
            raise NotFound("user_id", f"no user {user_id!r}; onboard the user first")
        return known.profile

    def _stored(self, user_id: str) -> KnownUser | None:
        """The user as stored now: this process's copy while the store's version is the
        same, else read and kept."""
        version = self.repo.profile_version(user_id)
        if version is None:
            return None
        known = self._known.get(user_id)
        if known is None or known.profile.version != version:
            profile = self.repo.get_user(user_id)
            if profile is None:
                return None
            known = self._keep(KnownUser(profile))
        return known

    def current(self, user_id: str) -> KnownUser | None:
        """The user as stored now (None: never onboarded nor seen acting), with the events
        they hid or bought."""
        known = self._stored(user_id)
        if known is None:
            return None
        if known.excluded is None:
            known.excluded = frozenset(self.repo.excluded_event_ids(user_id))
        return known

    def _keep(self, known: KnownUser) -> KnownUser:
        """Keep `known` unless a newer version of the user is kept already."""
        user_id = known.profile.user_id
        with self._known_lock:
            kept = self._known.get(user_id)
            if kept is not None and kept.profile.version > known.profile.version:
                return kept
            self._known[user_id] = known
        return known

    def age_bracket(self, user_id: str) -> str:
        """The user's age bracket (for the brackets' trends), from the profile kept here
        when there is one: ages change seldom, and this spares a read per behavior."""
        known = self._known.get(user_id)
        profile = known.profile if known is not None else self.repo.get_user(user_id)
        return age_bracket(profile.age) if profile is not None else ""

    def last_known(self, user_id: str) -> KnownUser | None:
        """The user as this process saw them last (the store is not asked)."""
        known = self._known.get(user_id)
        metrics().profile_reads.labels("last_known" if known else "none").inc()
        return known

    def update(
        self,
        user_id: str,
        change: Callable[[UserProfile], None],
        create: bool = True,
        along: Callable[[], bool] | None = None,
    ) -> UserProfile | None:
        """Apply `change` to the stored profile (a new one when absent and `create`) and
        save it, with the writes of `along` (which returns False to write nothing at all:
        a duplicate) in the same transaction. None when nothing was written.

        The change is worked out before the transaction, on the caller's thread, from the
        profile kept here (the store's write lock is held only for the rows); one
        process's writes to a user queue on the user's lock, and a write another process
        made meanwhile is caught by the version (then the change is worked out again
        inside the transaction, from the stored profile)."""
        with self._locks[hash(user_id) % len(self._locks)]:
            prepared = self._changed(user_id, change, create)

            def write() -> UserProfile | None:
                if along is not None and not along():
                    return None
                saved = prepared
                if saved is None or not self.repo.save_user(saved):
                    saved = self._update(user_id, change, create)
                if saved is not None:
                    self.repo.on_commit(partial(self._written, saved))
                return saved

            return self.repo.transaction(write)

    def _stored_copy(self, user_id: str) -> UserProfile | None:
        """A copy of the stored profile to change: of the one kept here while it is the
        stored version, else decoded from the store. What is decoded is not kept, unlike
        `_stored`: inside a transaction the store shows writes not committed yet, and
        the process's copy must never run ahead of the store."""
        known = self._known.get(user_id)
        if known is not None and self.repo.profile_version(user_id) == known.profile.version:
            return known.profile.copy()
        return self.repo.get_user(user_id)

    def _changed(
        self, user_id: str, change: Callable[[UserProfile], None], create: bool
    ) -> UserProfile | None:
        """The stored profile (a new one when absent and `create`) with the lists it has
        not taken in folded in and `change` applied, at the next version."""
        stored = self._stored_copy(user_id)
        if stored is None and not create:
            return None
        if stored is None:
            # A new profile starts after the lists shown before it existed.
            profile = UserProfile(user_id=user_id)
            profile.exposure_folded = self.repo.newest_list(user_id)
        else:
            profile = stored
            unfolded = self.repo.lists_after(user_id, profile.exposure_folded)
            exposure.fold(profile, unfolded, self.half_life)
            take_searches(profile, unfolded)
        change(profile)
        profile.version += 1
        profile.updated_at = utcnow()
        return profile

    def _update(
        self, user_id: str, change: Callable[[UserProfile], None], create: bool
    ) -> UserProfile | None:
        """Inside the transaction: change the stored profile and save it, again until no
        other process wrote it in between."""
        for _ in range(MAX_WRITE_ATTEMPTS):
            profile = self._changed(user_id, change, create)
            if profile is None or self.repo.save_user(profile):
                return profile
        raise RuntimeError(f"profile {user_id!r} kept changing under {MAX_WRITE_ATTEMPTS} writes")

    def _written(self, profile: UserProfile) -> None:
        """After a profile's write commits: keep it (the events excluded are read again
        when a list needs them), and its lists no longer wait for the sweep."""
        self._keep(KnownUser(profile))
        with self._shown_lock:
            self._shown.pop(profile.user_id, None)

    def shown(self, user_id: str) -> None:
        """A list was shown to the user (its impression is on its way to the store)."""
        with self._shown_lock:
            self._shown[user_id] = time.monotonic()
            self._shown.move_to_end(user_id)
            if len(self._shown) > MAX_WAITING_USERS:
                self._shown.popitem(last=False)

    def fold_idle(self, idle: float) -> int:
        """Fold in the exposure of users shown lists here who have not written since and
        have waited `idle` seconds: users who only look. Returns how many were folded."""
        due = time.monotonic() - idle
        folded = 0
        while True:
            with self._shown_lock:
                oldest = next(iter(self._shown.items()), None)
                if oldest is None or oldest[1] > due:
                    return folded
                self._shown.popitem(last=False)
            self.update(oldest[0], _no_change, create=False)
            folded += 1

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
        # The request's own rules (the id, age, lat with lng) are the protos', checked at
        # the door (grpc_api/constraints.py); places and category names are looked up here.
        if intent not in INTENTS:
            raise InvalidArgument("intent", f"must be one of {', '.join(INTENTS)}")
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
        favorites: list[str] = []
        for index, name in enumerate(favorite_categories):
            category = canonical_category(name)  # in-process callers may write "jazz"
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

        return self.write(user_id, change), created

    def write(self, user_id: str, change: Callable[[UserProfile], None]) -> UserProfile:
        """update() of a profile made when absent, with nothing alongside: always saved."""
        profile = self.update(user_id, change)
        assert profile is not None
        return profile

    def reset(self, user_id: str) -> UserProfile:
        self.get(user_id)  # NOT_FOUND for unknown users

        def change(profile: UserProfile) -> None:
            profile.categories.clear()
            profile.category_aversion.clear()
            profile.locations.clear()
            profile.price_range = None
            profile.evidence = TasteEvidence()
            profile.behavior_count = 0
            profile.feedback_count = 0
            profile.total_events_attended = 0
            _seed_from_onboarding(profile)

        return self.write(user_id, change)
