"""Plain data types of the domain; they know nothing about gRPC or the store."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from aura_server.domain.clock import utcnow

COLD_START_BEHAVIORS = 3
# Stands for a required time the caller did not give (or gave out of range).
UNSET_TIME = datetime.min.replace(tzinfo=UTC)


@dataclass(slots=True)
class Event:
    event_id: str
    title: str
    categories: list[str]
    city: str
    neighborhood: str
    lat: float
    lng: float
    starts_at: datetime
    description: str = ""
    tags: list[str] = field(default_factory=list)
    venue: str = ""
    ends_at: datetime | None = None
    price_min: float | None = None
    price_max: float | None = None
    status: str = "active"  # active | cancelled
    popularity: float = 0.0


@dataclass
class PriceRange:
    avg: float
    sweet_spot_min: float
    sweet_spot_max: float


@dataclass
class TasteEvidence:
    """The learner's decayed statistics of one user's feedback (see tastes.py)."""

    liked: dict[str, float] = field(default_factory=dict)  # per category
    passed: dict[str, float] = field(default_factory=dict)  # per category
    # Per distance band and per price band: how much the user was shown that they should
    # have liked, and how much of it they took.
    distance_shown: list[float] = field(default_factory=list)
    distance_taken: list[float] = field(default_factory=list)
    price_shown: list[float] = field(default_factory=list)
    price_taken: list[float] = field(default_factory=list)
    paid_max: float | None = None  # the most they have paid (fading with the rest)
    # The same per-category masses with a much shorter memory: what the user did lately.
    recent_liked: dict[str, float] = field(default_factory=dict)
    recent_passed: dict[str, float] = field(default_factory=dict)
    # How much better, in nats, "the kinds they were sure to like are now worth little"
    # has lately explained what the user did than what we knew of them (tastes.py,
    # change_evidence): a change of tastes. A CUSUM over lists (never below 0 between
    # lists), and the sum for the last list shown, which its feedback adds to in
    # whatever order it arrives.
    surprise: float = 0.0
    list_surprise: float = 0.0
    # The feed_id of the last list shown, and of the last list the user answered.
    list_id: str = ""
    answered_list: str = ""
    restarts: int = 0  # how many times their tastes were found to have changed
    # Per event shown and not taken: how many times it was likely looked at and left
    # (position prior; a skip or a hide more: tastes.py), fading with the rest and kept for the
    # MAX_ITEM_PASSES most passed (tastes.py: item fatigue).
    item_passes: dict[str, float] = field(default_factory=dict)
    # Per category, the exposure the last list shown counted (its passes until feedback
    # says otherwise), and the last list whose passes a take has already softened.
    list_exposure: dict[str, float] = field(default_factory=dict)
    competed_list: str = ""


@dataclass(frozen=True)
class ListMark:
    """A list's place among the lists shown to a user: when it was shown, and its feed_id
    (which orders lists shown at the same moment)."""

    at: datetime
    feed_id: str


@dataclass
class UserProfile:
    user_id: str
    intent: str = ""  # explore | create | freelance | "" (never onboarded)
    age: int = 0
    gender: str = ""
    # The profile document's scores; only `evidence` ranks (docs/concepts/learning.md,
    # "Two records of a user's taste").
    categories: dict[str, float] = field(default_factory=dict)
    # Dislike the scores cannot show (they stop at 0): what negative rewards would have
    # taken below zero, given back by positive ones (the learner's shared features carry
    # score - aversion).
    category_aversion: dict[str, float] = field(default_factory=dict)
    price_range: PriceRange | None = None
    # (city, neighborhood) -> score; neighborhood may be "" for a whole borough.
    locations: dict[tuple[str, str], float] = field(default_factory=dict)
    total_events_attended: int = 0
    behavior_count: int = 0
    # Behaviors that say something of the user's taste (learning/actions.py's
    # REWARD_ACTIONS: not a view, not a search). Fewer than COLD_START_BEHAVIORS: the
    # cold-start blend ranks their feed, so looking without acting never leaves a user
    # worse served than a stranger.
    feedback_count: int = 0
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    home_lat: float | None = None
    home_lng: float | None = None
    # What the user told us at onboarding; a reset returns the profile to it.
    favorite_categories: list[str] = field(default_factory=list)
    home_city: str = ""
    home_neighborhood: str = ""
    # What the learner has gathered from feedback (tastes.py); not part of the document.
    evidence: TasteEvidence = field(default_factory=TasteEvidence)
    # The newest list whose exposure `evidence` holds: later lists are folded in at the
    # user's next write (learning/exposure.py). None: every list the store holds.
    exposure_folded: ListMark | None = None
    # Bumped on every write; the store refuses a write based on a stale copy.
    version: int = 0

    def copy(self) -> UserProfile:
        """A copy to change, sharing nothing mutable with this one (profiles read from the
        process's cache are shared by every request)."""
        evidence = self.evidence
        return replace(
            self,
            categories=dict(self.categories),
            category_aversion=dict(self.category_aversion),
            price_range=None if self.price_range is None else replace(self.price_range),
            locations=dict(self.locations),
            favorite_categories=list(self.favorite_categories),
            evidence=replace(
                evidence,
                liked=dict(evidence.liked),
                passed=dict(evidence.passed),
                distance_shown=list(evidence.distance_shown),
                distance_taken=list(evidence.distance_taken),
                price_shown=list(evidence.price_shown),
                price_taken=list(evidence.price_taken),
                recent_liked=dict(evidence.recent_liked),
                recent_passed=dict(evidence.recent_passed),
                item_passes=dict(evidence.item_passes),
                list_exposure=dict(evidence.list_exposure),
            ),
        )

    @property
    def cold_start_completed(self) -> bool:
        return self.feedback_count >= COLD_START_BEHAVIORS

    def category_preferences(self) -> dict[str, float]:
        """Net preference per category in [-1, 1]: score minus aversion."""
        names = self.categories.keys() | self.category_aversion.keys()
        return {
            name: self.categories.get(name, 0.0) - self.category_aversion.get(name, 0.0)
            for name in names
        }


@dataclass
class Behavior:
    behavior_id: str
    user_id: str
    action: str  # search | view | click | like | save | share | purchase | skip | hide
    occurred_at: datetime
    event_id: str = ""
    query: str = ""
    feed_id: str = ""
    position: int | None = None
    # The reward whose profile update has been applied (from the action table or a
    # SubmitReward); None for actions that carry none (search).
    reward: float | None = None
    # True once SubmitReward recorded a reward on it: a second one is a duplicate.
    rewarded: bool = False
    # The user's age bracket when it happened, for the brackets' trends.
    age_bracket: str = ""


@dataclass(slots=True)  # thirty a list: no dict each
class ImpressionItem:
    event_id: str
    position: int
    score: float
    reason: str
    explored: bool
    propensity: float
    # The learner's action features for this item at decision time ("" when none).
    features: str = ""
    # The slot's exploration probability (None in logs written before it was kept).
    epsilon: float | None = None
    # What its exposure needs (tastes.expose): how far it was from where the user asked,
    # its lowest price and its categories. No distance: a log written before exposure was
    # folded from impressions (its exposure is in the profile already).
    distance_km: float | None = None
    price_min: float | None = None
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ShownItem:
    """An item of a list as its exposure needs it (tastes.expose)."""

    position: int
    categories: tuple[str, ...]
    price_min: float | None
    distance_km: float | None  # from where the user asked
    event_id: str = ""  # "" in lists logged before item fatigue was kept


@dataclass(frozen=True)
class ShownList:
    """A list shown to a user, as the profile takes it in: where it stands among their
    lists, its items (their exposure) and, for a search, the categories it named (None
    for a list that is not a search)."""

    mark: ListMark
    items: tuple[ShownItem, ...]
    searched: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CandidateSet:
    """What a learned ranking chose its slots from, logged for a share of feeds so another
    slate configuration can be replayed on the same decisions offline
    (offline/evaluation.py): per candidate of the pool, in pool order, its greedy score,
    its optimistic score without the bandit, the bandit's reward estimate and its
    category bits; the per-category caps of the slate's variety rule; the bandit weight
    it was served with."""

    event_ids: tuple[str, ...]
    scores: tuple[float, ...]
    hopes: tuple[float, ...]
    bandit: tuple[float, ...]
    masks: tuple[int, ...]
    caps: tuple[int, ...]
    bandit_weight: float
    window: int


@dataclass
class Impression:
    """What was shown to whom, logged under feed_id so rewards can be joined to it."""

    feed_id: str
    user_id: str
    kind: str  # feed | highlights | natural
    created_at: datetime
    context: dict[str, Any]
    items: list[ImpressionItem]
    model_version: str
    # The learner's shared (user and context) features at decision time.
    shared_features: str = ""
    # The candidates the slots were chosen from, for a sampled share of learned feeds.
    candidates: CandidateSet | None = None
    # For a search, the categories it named (its query is in `context`); None otherwise.
    searched: tuple[str, ...] | None = None

    def shown(self) -> ShownList:
        """The list as its exposure needs it (items logged before exposure was folded from
        impressions carry no distance: their exposure is in the profile already)."""
        return ShownList(
            ListMark(self.created_at, self.feed_id),
            tuple(
                ShownItem(
                    item.position, item.categories, item.price_min, item.distance_km, item.event_id
                )
                for item in self.items
                if item.distance_km is not None
            ),
            self.searched,
        )


def as_datetime(value: datetime | str) -> datetime:
    """Read a stored time (a datetime, or ISO text) as an aware UTC datetime."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
