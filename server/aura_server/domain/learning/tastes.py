"""What the learner knows of one user's taste, how sure it is, and how it forgets.

Contract: `appeal = taste(category) x nearness(distance) x price_fit(price)`, each factor
a posterior learned from what the user was shown (exposure, by the position prior and the
item's fit) and what they did with it (rewards, actions.py):

- category taste: a Beta posterior per category (prior STATED_TASTE or BASE_TASTE, worth
  PRIOR_STRENGTH observations), a recent memory on top of it (RECENT_SHARE,
  RECENT_STRENGTH), fading by EVIDENCE_HALF_LIFE with each kind on its own clock
  (OTHER_KINDS_AGING);
- travel distance and budget: grid posteriors over DISTANCE_BANDS and PRICE_BANDS, the
  exposure's fit taken at their CAUTION_QUANTILE;
- a change of tastes: a CUSUM of per-list evidence (change_evidence) that restarts the
  tastes past CHANGE_EVIDENCE nats;
- a list's passes softened by its first take (COMPETITION_SHARE), and item fatigue past
  FATIGUE_GRACE looks.

The model, with its numbers and the reasons for them, is described in
docs/concepts/learning.md; what each setting measured is in CHANGELOG.md.
"""

from __future__ import annotations

import bisect
import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from aura_server.domain.arrays import FloatArray, IntArray
from aura_server.domain.models import Event, PriceRange, TasteEvidence, UserProfile
from aura_server.domain.taxonomy import CATEGORIES, CATEGORY_CODES

BASE_TASTE = 0.15
STATED_TASTE = 0.8
PRIOR_STRENGTH = 4.0
LIKED_MEAN = 0.5  # a taste this high is a clear favourite
NEGATIVE_WEIGHT = 3.0
# A positive action is one engagement (the taste is a chance to engage), more for a
# bigger reward: a click 1.15, a purchase 1.5.
LIKED_BASE = 1.0
LIKED_PER_REWARD = 0.5
# The position prior of exposure: slot k is looked at with 1 / (1 + POSITION_DECAY k).
POSITION_DECAY = 0.3
EVIDENCE_HALF_LIFE = 20.0
# How much evidence about other kinds ages a kind's taste, per unit: a Jazz fan's hundred
# Jazz purchases should not make them forget the Techno nights they skipped.
OTHER_KINDS_AGING = 0.25
# The recent evidence's half-life, as a share of the long one, and the weight (in
# observations) of the long-memory mean under it.
RECENT_SHARE = 0.25
RECENT_STRENGTH = 4.0
# How much better (in nats) "their tastes changed" must have explained what the user did
# lately than what we knew of them, before we start over (changed_tastes).
CHANGE_EVIDENCE = 2.0
# What a kind the user was sure to like is worth once their tastes changed: as little as
# a kind they never liked (sharper than measuring against an unknown user's BASE_TASTE,
# which noticed fewer changes: CHANGELOG.md).
LEFT_TASTE = 0.05
MAX_TAKE_CHANCE = 0.95
# Band edges (the last band is open), and the value each band stands for.
DISTANCE_EDGES = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
DISTANCE_BANDS = (0.25, 0.75, 1.5, 3.0, 6.0, 12.0, 24.0)
PRICE_EDGES = (5.0, 15.0, 25.0, 35.0, 50.0, 70.0, 100.0, 150.0)
PRICE_BANDS = (0.0, 10.0, 20.0, 30.0, 42.0, 60.0, 85.0, 125.0, 200.0)
DEFAULT_TRAVEL_KM = 2.5
# The values tried, the default among them.
TRAVEL_GRID = tuple(sorted({*(float(v) for v in np.geomspace(0.3, 30.0, 25)), DEFAULT_TRAVEL_KM}))
DEFAULT_BUDGET = 40.0
BUDGET_GRID = tuple(sorted({*(float(v) for v in np.geomspace(8.0, 250.0, 25)), DEFAULT_BUDGET}))
# The spread (in log units) of the priors around the defaults: wide, as people's budgets
# and travel distances are (a factor of 3.3 either way is one spread), so a default of
# $40 is not held as if it were known.
PRIOR_LOG_SPREAD = 1.2
UNKNOWN_PRICE_FIT = 0.5
# Passing an item over counts against its kind by its fit under a cautious travel distance
# and budget: this quantile of their posteriors.
CAUTION_QUANTILE = 0.2
# Item fatigue: an event passed over FATIGUE_GRACE times (looks, by the position prior)
# keeps its full weight in the learned ranking, and weighs half FATIGUE_LOOKS looks later;
# the most passed MAX_ITEM_PASSES events are remembered.
FATIGUE_GRACE = 4.0
FATIGUE_LOOKS = 3.0
MAX_ITEM_PASSES = 200
# The share of a list's other passes its first take gives back (_soften_competitors).
COMPETITION_SHARE = 0.5


@dataclass(frozen=True)
class Knots:
    """Where some values fall among a table's points, worked out once to interpolate many
    tables at those values: np.interp's result to the last bit (its slope between two
    points, times the way past the left one, plus the left one's value; 0 past the last).
    Prices are fixed per event, so a catalog's knots are found once per catalog version."""

    left: IntArray
    past: FloatArray  # how far past the left point (0 at or beyond the ends)

    @classmethod
    def of(cls, values: FloatArray, points: FloatArray) -> Knots:
        left = np.clip(np.searchsorted(points, values, side="right") - 1, 0, len(points) - 1)
        past = values - points[left]
        past[values < points[0]] = 0.0
        return cls(left, past)

    def take(self, rows: IntArray) -> Knots:
        return Knots(self.left[rows], self.past[rows])

    def interpolate(self, points: FloatArray, table: FloatArray) -> FloatArray:
        slopes = np.append(np.diff(table) / np.diff(points), 0.0)
        values: FloatArray = slopes[self.left] * self.past + table[self.left]
        return values


@dataclass(frozen=True)
class TasteView:
    """One user's tastes as arrays over category codes, ready for ranking."""

    mean: FloatArray  # posterior mean taste per category
    sd: FloatArray  # posterior spread per category
    # Per category, what the long memory is sure of (its mean less one spread): what a
    # change of tastes is measured against.
    settled: FloatArray
    travel_km: float  # the likeliest travel distance and budget
    budget: float
    # Nearness at NEARNESS_POINTS_KM and price fit at PRICE_POINTS, averaged over the
    # posteriors of the travel distance and the budget: what ranking weighs events by.
    expected_nearness: FloatArray
    expected_price_fit: FloatArray
    stated: frozenset[str]
    cautious_travel_km: float = DEFAULT_TRAVEL_KM
    cautious_budget: float = DEFAULT_BUDGET
    restarted: bool = False  # the tastes changed: what we knew of their kinds is forgotten
    # Per event passed over: the learned ranking's weight for it (item fatigue), in (0, 1).
    fatigue: dict[str, float] = field(default_factory=dict)

    def fit(
        self, distance: FloatArray, price: FloatArray, price_knots: Knots | None = None
    ) -> FloatArray:
        """How well events suit the user apart from their kind: nearness x price fit, as
        expected over every travel distance and budget the user may have (not at the
        likeliest ones: a $70 night is not written off while their budget is unsure).
        `price_knots`: the prices' Knots among PRICE_POINTS, when known."""
        near = np.interp(distance, NEARNESS_POINTS_KM, self.expected_nearness)
        if price_knots is None:
            priced = np.interp(price, PRICE_POINTS, self.expected_price_fit)
        else:
            priced = price_knots.interpolate(PRICE_POINTS, self.expected_price_fit)
        expected: FloatArray = near * np.where(np.isnan(price), UNKNOWN_PRICE_FIT, priced)
        return expected

    def cautious_fit(self, distance: FloatArray, price: FloatArray) -> FloatArray:
        """The fit under a travel distance and budget the user very likely has (low
        quantiles of their posteriors): how much an item passed over says against its kind,
        so an unsure travel distance takes the blame for a far item before the kind does."""
        fitted: FloatArray = nearness(distance, self.cautious_travel_km) * price_fit(
            price, self.cautious_budget
        )
        return fitted


def taste_view(
    evidence: TasteEvidence | None, stated: Sequence[str] = (), serving: bool = False
) -> TasteView:
    """What the evidence says of the user's tastes; `serving` a new list, starting over
    when they changed (the stored evidence starts over when the list's exposure is taken
    in: expose)."""
    restarted = False
    if evidence is not None and serving and changed_tastes(evidence):
        evidence, restarted = copy.deepcopy(evidence), True
        restart(evidence)
    if evidence is not None and evidence.restarts:
        stated = ()  # what they said at onboarding was about the tastes they left
    prior = np.full(len(CATEGORIES), BASE_TASTE)
    for category in stated:
        code = CATEGORY_CODES.get(category)
        if code is not None:
            prior[code] = STATED_TASTE
    liked, passed = np.zeros(len(CATEGORIES)), np.zeros(len(CATEGORIES))
    recent_liked, recent_passed = np.zeros(len(CATEGORIES)), np.zeros(len(CATEGORIES))
    travel, budget = DEFAULT_TRAVEL_KM, DEFAULT_BUDGET
    cautious_travel, cautious_budget = PRIOR_CAUTIOUS_TRAVEL_KM, PRIOR_CAUTIOUS_BUDGET
    expected_nearness = PRIOR_EXPECTED_NEARNESS
    expected_price_fit = PRIOR_EXPECTED_PRICE_FIT
    if evidence is not None:
        liked, passed = _per_code(evidence.liked), _per_code(evidence.passed)
        recent_liked = _per_code(evidence.recent_liked)
        recent_passed = _per_code(evidence.recent_passed)
        paid = evidence.paid_max or 0.0
        travels = TRAVEL.posterior(evidence.distance_shown, evidence.distance_taken)
        budgets = BUDGET.posterior(evidence.price_shown, evidence.price_taken)
        travel = travels.best(DEFAULT_TRAVEL_KM)
        budget = max(paid, budgets.best(DEFAULT_BUDGET))
        cautious_travel = travels.quantile(CAUTION_QUANTILE)
        cautious_budget = max(paid, budgets.quantile(CAUTION_QUANTILE))
        expected_nearness = travels.expected(NEARNESS_TABLE)
        expected_price_fit = budgets.expected(PRICE_FIT_TABLE, floor=paid)
    seen = liked + passed
    remembered = (liked + PRIOR_STRENGTH * prior) / (seen + PRIOR_STRENGTH)
    recent = recent_liked + recent_passed
    mean = (recent_liked + RECENT_STRENGTH * remembered) / (recent + RECENT_STRENGTH)
    sd = np.sqrt(mean * (1 - mean) / (recent + RECENT_STRENGTH + 1))
    settled = remembered - np.sqrt(remembered * (1 - remembered) / (seen + PRIOR_STRENGTH + 1))
    return TasteView(
        mean=mean,
        sd=sd,
        settled=settled,
        travel_km=travel,
        budget=budget,
        expected_nearness=expected_nearness,
        expected_price_fit=expected_price_fit,
        stated=frozenset(stated),
        cautious_travel_km=min(cautious_travel, travel),
        cautious_budget=min(cautious_budget, budget),
        restarted=restarted,
        fatigue=item_fatigue(evidence),
    )


def item_fatigue(evidence: TasteEvidence | None) -> dict[str, float]:
    """Per event passed over, the weight the learned ranking gives it (module docstring)."""
    if evidence is None:
        return {}
    return {
        event_id: 1.0 / (1.0 + (passes - FATIGUE_GRACE) / FATIGUE_LOOKS)
        for event_id, passes in evidence.item_passes.items()
        if passes > FATIGUE_GRACE
    }


def likeliest_budget(evidence: TasteEvidence) -> float:
    """taste_view(evidence).budget, without the rest of the view."""
    budgets = BUDGET.posterior(evidence.price_shown, evidence.price_taken)
    return max(evidence.paid_max or 0.0, budgets.best(DEFAULT_BUDGET))


def user_tastes(profile: UserProfile | None, serving: bool = False) -> TasteView:
    """What the learner knows of the user's tastes (none of an unknown user's). `serving`:
    for a new list, which starts over when their tastes changed (changed_tastes); feedback
    on the last list is always learned against what was known when it was shown."""
    if profile is None:
        return taste_view(None)
    return taste_view(profile.evidence, profile.favorite_categories, serving)


def changed_tastes(evidence: TasteEvidence) -> bool:
    """Whether the user's tastes changed: the surprise passed CHANGE_EVIDENCE, and the
    user answered the last list (a list nobody has looked at yet says nothing; feedback
    that reaches the profile before its list's exposure counts as an answer all the same)."""
    answered = evidence.list_id != "" and evidence.answered_list == evidence.list_id
    return answered and total_surprise(evidence) >= CHANGE_EVIDENCE


def total_surprise(evidence: TasteEvidence) -> float:
    return max(evidence.surprise + evidence.list_surprise, 0.0)


def restart(evidence: TasteEvidence) -> None:
    """The user's tastes changed: what we knew they liked is forgotten, and of what they
    passed over only the recent memory is kept (the kinds they just left stay down).
    Distance and budget are kept."""
    evidence.liked, evidence.recent_liked = {}, {}
    evidence.passed = dict(evidence.recent_passed)
    evidence.surprise = evidence.list_surprise = 0.0
    evidence.restarts += 1


def change_evidence(
    view: TasteView, categories: Sequence[str], exposed: float, taken: bool
) -> float:
    """How much one item's fate says the user's tastes changed: log P(it | the kind they
    were sure to like is now worth LEFT_TASTE) - log P(it | what we were sure of), where
    the chance of taking an item is its exposure x the taste (at most MAX_TAKE_CHANCE).
    A taste we are unsure of, or no better than an unknown kind's, says nothing; a sure
    favourite left alone again and again says "changed", and one taken says "not"."""
    codes = [CATEGORY_CODES[c] for c in categories if c in CATEGORY_CODES]
    sure = max((float(view.settled[code]) for code in codes), default=BASE_TASTE)
    if sure <= BASE_TASTE:
        return 0.0
    known = min(exposed * sure, MAX_TAKE_CHANCE)
    unknown = min(exposed * LEFT_TASTE, MAX_TAKE_CHANCE)
    if taken:
        return math.log(unknown / known)
    return math.log((1 - unknown) / (1 - known))


def _add_surprise(evidence: TasteEvidence, nats: float) -> None:
    """Add to the last list's sum: the order its feedback arrives in does not matter."""
    evidence.list_surprise = round(evidence.list_surprise + nats, 6)


def _open_list(evidence: TasteEvidence, list_id: str) -> None:
    """The sums are per list: a list opens with its exposure or its first feedback,
    whichever reaches the profile first (exposure is folded in later: exposure.py), and the
    last list's sum then joins the CUSUM (evidence for a change adds up, evidence against
    it brings it back to 0, not below)."""
    if list_id and list_id == evidence.list_id:
        return
    evidence.surprise = round(total_surprise(evidence), 6)
    evidence.list_surprise = 0.0
    evidence.list_id = list_id


def _per_code(masses: dict[str, float]) -> FloatArray:
    values = np.zeros(len(CATEGORIES))
    for category, mass in masses.items():
        if category in CATEGORY_CODES:
            values[CATEGORY_CODES[category]] = mass
    return values


def best_category_mean(view: TasteView, categories: Sequence[str]) -> float:
    """The taste for an event of these categories: the best of them."""
    means = [float(view.mean[CATEGORY_CODES[c]]) for c in categories if c in CATEGORY_CODES]
    return max(means, default=BASE_TASTE)


def _padded(values: Sequence[float], size: int) -> FloatArray:
    padded = np.zeros(size)
    padded[: min(len(values), size)] = values[:size]
    return padded


@dataclass(frozen=True)
class Grid:
    """The values a parameter may take, the fit of every band under each of them (one row
    per value), and the log-normal prior of each value around the default."""

    values: FloatArray
    fits: FloatArray  # [value, band]
    prior: FloatArray

    @classmethod
    def of(cls, values: Sequence[float], default: float, fits: FloatArray) -> Grid:
        logs = np.log(np.asarray(values))
        prior = -((logs - np.log(default)) ** 2) / (2 * PRIOR_LOG_SPREAD**2)
        return cls(np.asarray(values), fits, prior)

    def posterior(self, shown: Sequence[float], taken: Sequence[float]) -> Posterior:
        """Per value, how well it explains what was taken per band, as Poisson counts
        proportional to shown x fit (the profile likelihood), with the prior."""
        if not taken or sum(taken) <= 0:
            return Posterior(self.values, self.prior, informed=False)
        bands = self.fits.shape[1]
        counts = _padded(taken, bands)
        # What was taken was there to be taken, counted as shown or not (an item of a
        # kind not known to be liked is not counted as shown): without this, one first
        # purchase 200 m away made the travel distance the shortest on the grid.
        expected = np.maximum(_padded(shown, bands), counts) * self.fits + 1e-9
        likelihood = np.log(expected) @ counts - counts.sum() * np.log(expected.sum(axis=1))
        return Posterior(self.values, likelihood + self.prior, informed=True)


@dataclass(frozen=True)
class Posterior:
    """A grid's log posterior, computed once and asked several questions."""

    values: FloatArray
    log_density: FloatArray
    informed: bool  # something was taken (else it is the prior)

    def best(self, default: float) -> float:
        """The most likely value (the default until something was taken)."""
        if not self.informed:
            return default
        return float(self.values[int(np.argmax(self.log_density))])

    def expected(self, table: FloatArray, floor: float = 0.0) -> FloatArray:
        """A table's rows (one per value) averaged over the posterior; values below
        `floor` ruled out."""
        log_density = np.where(self.values >= floor, self.log_density, -np.inf)
        if not np.isfinite(log_density).any():  # paid more than the grid's top
            highest: FloatArray = table[-1].copy()
            return highest
        weights = np.exp(log_density - log_density.max())
        averaged: FloatArray = (weights / weights.sum()) @ table
        return averaged

    def quantile(self, q: float) -> float:
        """The smallest value with at least `q` of the posterior at or below it."""
        weights = np.exp(self.log_density - self.log_density.max())
        cumulative = np.cumsum(weights) / weights.sum()
        return float(self.values[int(np.searchsorted(cumulative, q))])


def band_of(value: float, edges: Sequence[float]) -> int:
    return bisect.bisect_right(edges, value)


def nearness(distance: FloatArray, travel: float) -> FloatArray:
    near: FloatArray = np.exp(-distance / travel)
    return near


def price_fit(prices: FloatArray, budget: float) -> FloatArray:
    """1 up to the budget, decaying above it. Unknown prices (NaN) fit half."""
    softness = max(0.35 * budget, 8.0)
    fit = np.exp(-np.maximum(prices - budget, 0) / softness)
    result: FloatArray = np.where(np.isnan(prices), UNKNOWN_PRICE_FIT, fit)
    return result


TRAVEL = Grid.of(
    TRAVEL_GRID,
    DEFAULT_TRAVEL_KM,
    np.exp(-np.asarray(DISTANCE_BANDS)[None, :] / np.asarray(TRAVEL_GRID)[:, None]),
)
BUDGET = Grid.of(
    BUDGET_GRID,
    DEFAULT_BUDGET,
    np.stack([price_fit(np.asarray(PRICE_BANDS), budget) for budget in BUDGET_GRID]),
)
# Where the expected nearness and price fit are tabled (interpolated between).
NEARNESS_POINTS_KM = np.concatenate([np.linspace(0.0, 2.0, 21), np.geomspace(2.5, 60.0, 30)])
PRICE_POINTS = np.concatenate([np.linspace(0.0, 100.0, 51), np.geomspace(105.0, 1000.0, 30)])
NEARNESS_TABLE = np.stack([nearness(NEARNESS_POINTS_KM, travel) for travel in TRAVEL_GRID])
PRICE_FIT_TABLE = np.stack([price_fit(PRICE_POINTS, budget) for budget in BUDGET_GRID])
# Before anything was taken: the fits expected under the priors, and their cautious values
# (the priors' quantiles).
PRIOR_CAUTIOUS_TRAVEL_KM = TRAVEL.posterior((), ()).quantile(CAUTION_QUANTILE)
PRIOR_CAUTIOUS_BUDGET = BUDGET.posterior((), ()).quantile(CAUTION_QUANTILE)
PRIOR_EXPECTED_NEARNESS = TRAVEL.posterior((), ()).expected(NEARNESS_TABLE)
PRIOR_EXPECTED_PRICE_FIT = BUDGET.posterior((), ()).expected(PRICE_FIT_TABLE)


def position_weight(position: int) -> float:
    """How likely an item at this 0-based position was looked at (a position prior)."""
    return 1.0 / (1.0 + POSITION_DECAY * position)


def _decay_bands(evidence: TasteEvidence, factor: float) -> None:
    if evidence.paid_max is not None:
        evidence.paid_max = round(evidence.paid_max * factor, 6)
    for bands in (
        evidence.distance_shown,
        evidence.distance_taken,
        evidence.price_shown,
        evidence.price_taken,
    ):
        bands[:] = [round(value * factor, 6) for value in bands]


def decay_factor(half_life: float) -> float:
    """The fading of one unit of evidence (0: none)."""
    return 0.5 ** (1.0 / half_life) if half_life > 0 else 1.0


def fade(
    evidence: TasteEvidence, by_category: dict[str, float], mass: float, half_life: float
) -> None:
    """Before new evidence is added (`by_category[c]` of it about category c, `mass` in
    all), the old counts for less: distance and budget by all of it; a category's taste
    by what is new about that category, and by OTHER_KINDS_AGING of the rest (0: never)."""
    if half_life <= 0 or mass <= 0:
        return
    factor = 0.5 ** (mass / half_life)
    _decay_bands(evidence, factor)
    evidence.item_passes = {
        event_id: round(passes * factor, 6) for event_id, passes in evidence.item_passes.items()
    }
    for masses, life in (
        (evidence.liked, half_life),
        (evidence.passed, half_life),
        (evidence.recent_liked, RECENT_SHARE * half_life),
        (evidence.recent_passed, RECENT_SHARE * half_life),
    ):
        for name in masses:
            own = by_category.get(name, 0.0)
            aged = own + OTHER_KINDS_AGING * (mass - own)
            masses[name] = round(masses[name] * 0.5 ** (aged / life), 6)


def _add(masses: dict[str, float], category: str, amount: float) -> None:
    masses[category] = round(max(masses.get(category, 0.0) + amount, 0.0), 6)


def _add_liked(evidence: TasteEvidence, category: str, amount: float) -> None:
    """Both memories, the long and the recent, take every change of a category's masses."""
    _add(evidence.liked, category, amount)
    _add(evidence.recent_liked, category, amount)


def _add_passed(evidence: TasteEvidence, category: str, amount: float) -> None:
    _add(evidence.passed, category, amount)
    _add(evidence.recent_passed, category, amount)


class Shown(Protocol):
    """An item of a list as exposure needs it (an ImpressionItem is one)."""

    @property
    def position(self) -> int: ...
    @property
    def categories(self) -> Sequence[str]: ...
    @property
    def price_min(self) -> float | None: ...
    @property
    def distance_km(self) -> float | None: ...
    @property
    def event_id(self) -> str: ...


def exposures(view: TasteView, shown: Sequence[Shown]) -> list[float]:
    """How much not taking each shown item says against its kind, for a whole list at
    once (one numpy pass, not one per item)."""
    prices = np.array([np.nan if item.price_min is None else item.price_min for item in shown])
    distances = np.array([item.distance_km for item in shown], dtype=np.float64)
    fits = view.cautious_fit(distances, prices).tolist()
    return [position_weight(item.position) * fit for item, fit in zip(shown, fits, strict=True)]


def exposure(view: TasteView, event: Event, position: int, distance: float) -> float:
    """How much not taking this item says against its kind."""
    price = np.array([np.nan if event.price_min is None else event.price_min])
    fit = float(view.cautious_fit(np.array([distance]), price)[0])
    return position_weight(position) * fit


def _add_band(bands: list[float], size: int, band: int, amount: float) -> None:
    if len(bands) < size:
        bands.extend([0.0] * (size - len(bands)))
    bands[band] = round(max(bands[band] + amount, 0.0), 6)


def _add_bands(
    evidence: TasteEvidence, shown: bool, distance: float | None, price: float | None, amount: float
) -> None:
    """Count `amount` in the event's distance and price bands, as shown or as taken."""
    if distance is not None:
        bands = evidence.distance_shown if shown else evidence.distance_taken
        _add_band(bands, len(DISTANCE_BANDS), band_of(distance, DISTANCE_EDGES), amount)
    if price is not None:
        bands = evidence.price_shown if shown else evidence.price_taken
        _add_band(bands, len(PRICE_BANDS), band_of(price, PRICE_EDGES), amount)


def expose(
    evidence: TasteEvidence,
    view: TasteView,
    shown: Sequence[Shown],
    half_life: float = EVIDENCE_HALF_LIFE,
    list_id: str = "",
) -> None:
    """A list (`list_id`, its feed_id) was shown: each item counts as passed over by its
    exposure until feedback says otherwise, and as shown in its distance (from where the
    user asked) and price bands by how much the user should have liked it."""
    if view.restarted:
        restart(evidence)
    _open_list(evidence, list_id)
    weights = exposures(view, shown)
    by_category: dict[str, float] = {}
    for item, weight in zip(shown, weights, strict=True):
        for category in item.categories:
            by_category[category] = by_category.get(category, 0.0) + weight
    fade(evidence, by_category, sum(weights), half_life)
    evidence.list_exposure = {c: round(mass, 6) for c, mass in by_category.items()}
    for item, weight in zip(shown, weights, strict=True):
        _add_surprise(evidence, change_evidence(view, item.categories, weight, taken=False))
        for category in item.categories:
            _add_passed(evidence, category, weight)
        # Only kinds the user likes above an unknown one's say anything about distance
        # and price: a Techno night nearby left alone is about Techno, not about nearby.
        lift = max(best_category_mean(view, item.categories) - BASE_TASTE, 0.0)
        _add_bands(
            evidence, True, item.distance_km, item.price_min, position_weight(item.position) * lift
        )
    for item in shown:
        _add_item_pass(evidence, item.event_id, position_weight(item.position))


def record(
    evidence: TasteEvidence,
    view: TasteView,
    event: Event,
    reward: float,
    shown_at: int | None,
    distance: float | None,
    half_life: float = EVIDENCE_HALF_LIFE,
    list_id: str = "",
) -> None:
    """Add one action's evidence. `shown_at` is the item's position in the list it
    answers (`list_id`; its exposure was counted then, or will be), None when it answers
    none; `distance` is from where the user asked."""
    if not reward:
        return
    exposed = 0.0
    if shown_at is not None and distance is not None:
        exposed = exposure(view, event, shown_at, distance)
    categories = event.categories
    mass = abs(reward) if reward > 0 else NEGATIVE_WEIGHT * -reward
    fade(evidence, dict.fromkeys(categories, mass), mass, half_life)
    if exposed > 0 and shown_at is not None:
        _open_list(evidence, list_id)
        # Its exposure counted it as maybe looked at and not taken; now we know better:
        # taken, or (a skip) looked at for certain and not taken.
        untaken = change_evidence(view, categories, exposed, taken=False)
        if reward > 0:
            _add_surprise(evidence, change_evidence(view, categories, exposed, True) - untaken)
        else:
            looked_at = exposed / position_weight(shown_at)
            _add_surprise(evidence, change_evidence(view, categories, looked_at, False) - untaken)
    if reward > 0:
        # Credit the categories by how likely each is the reason: a Community lover who
        # buys a Food & Drink + Community night likes Community.
        means = [best_category_mean(view, [c]) for c in categories]
        total = sum(means)
        for category, mean in zip(categories, means, strict=True):
            _add_liked(evidence, category, (LIKED_BASE + LIKED_PER_REWARD * reward) * mean / total)
            _add_passed(evidence, category, -exposed)
        _add_bands(evidence, False, distance, event.price_min, reward)
        if shown_at is None:  # taken without being shown: it was there to be taken
            _add_bands(evidence, True, distance, event.price_min, reward)
        if event.price_min is not None:
            evidence.paid_max = max(evidence.paid_max or 0.0, event.price_min)
        evidence.item_passes.pop(event.event_id, None)
        if exposed > 0:
            _soften_competitors(evidence, list_id, categories, exposed)
    else:
        for category in categories:
            _add_passed(evidence, category, NEGATIVE_WEIGHT * -reward - exposed)
        # A skip counts one more look at it, a hide three.
        _add_item_pass(evidence, event.event_id, NEGATIVE_WEIGHT * -reward)


def _soften_competitors(
    evidence: TasteEvidence, list_id: str, taken: Sequence[str], exposed: float
) -> None:
    """The first take from a list gives back COMPETITION_SHARE of the passes its other
    items counted: someone who took one thing from a list was busy with it, and leaving
    the rest says less against their kinds."""
    if not list_id or list_id != evidence.list_id or evidence.competed_list == list_id:
        return
    evidence.competed_list = list_id
    for category, mass in evidence.list_exposure.items():
        others = mass - (exposed if category in taken else 0.0)
        if others > 0:
            _add_passed(evidence, category, -COMPETITION_SHARE * others)


def _add_item_pass(evidence: TasteEvidence, event_id: str, looks: float) -> None:
    """Count looks at an item left alone, keeping the MAX_ITEM_PASSES most passed."""
    if not event_id or looks <= 0:
        return
    passes = evidence.item_passes
    passes[event_id] = round(passes.get(event_id, 0.0) + looks, 6)
    if len(passes) > MAX_ITEM_PASSES:  # one over: forget the least passed (the newest of ties)
        least = min(passes.values())
        for passed in reversed(passes):
            if passes[passed] == least:
                del passes[passed]
                break


def take_price(price: PriceRange | None, event: Event, reward: float) -> PriceRange | None:
    """The price range after the user took an event (reward > 0): the average moves toward
    its prices by 0.2 x reward, the low end down to its lowest price (the top is the
    learned budget, set by the profile)."""
    if event.price_min is None:
        return price
    low = event.price_min
    high = event.price_max if event.price_max is not None else low
    if price is None:
        return PriceRange((low + high) / 2, low, max(high, DEFAULT_BUDGET))
    price.avg += PRICE_RATE * reward * ((low + high) / 2 - price.avg)
    price.sweet_spot_min = min(price.sweet_spot_min, low)
    return price


PRICE_RATE = 0.2
