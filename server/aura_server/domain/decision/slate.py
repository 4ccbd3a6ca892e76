"""Filling a feed slot by slot: greedy with probability 1 - epsilon, exploratory otherwise.

At each slot the eligible candidates are the remaining ones that keep the feed varied (at
most `max_per_category` of one category in any `window` consecutive slots, or a per-category
cap the caller passes; when none qualifies, all remaining are eligible). With probability
1 - epsilon the best-scored eligible candidate is taken; with probability epsilon an
exploratory one: a category drawn from the eligible categories whose best event is not the
greedy choice, in proportion to the category's exploration weight (what trying it could
teach and earn, from the caller; equal weights without one), and that best event.
Exploring categories rather than single events finds a taste the ranking has not seen yet
(a jazz lover among techno crowds) quickly, and shows the best of it rather than a random
one. Each slot may have its own epsilon (the caller spends exploration where it costs
least and only as far as the user's tastes are uncertain). So, given the slots above it,
the greedy item's propensity is 1 - epsilon and an explored item's is

    epsilon * (weights of the categories it is the best eligible event of)
            / (weights of all the categories explorable)

(1 for the greedy item when nothing else could be explored, or nothing has weight).
The draws come from a generator seeded with the feed_id, so a feed replays exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from aura_server.domain.decision.catalog_index import FloatArray, IntArray
from aura_server.domain.taxonomy import CATEGORIES

CATEGORY_COUNT = len(CATEGORIES)
# The most exploration any one slot gets, however uncertain the user: this many times the
# configured share, and never above MAX_SLOT_EPSILON.
MAX_SLOT_SHARE = 2.0
MAX_SLOT_EPSILON = 0.5
# With optimistic scores: a slot's epsilon is the configured one times this, times the
# share of the best alternative's optimistic score that it could gain.
GAIN_EXPLORATION = 3.0


@dataclass(frozen=True)
class SlotChoice:
    index: int  # into the candidate arrays
    explored: bool  # drawn by exploration (never the greedy choice)
    propensity: float
    epsilon: float = 0.0  # the slot's exploration probability (0: nothing to explore)


@dataclass(frozen=True)
class SlatePolicy:
    epsilon: float = 0.15
    max_per_category: int = 3
    window: int = 10


def fill_slate(
    scores: FloatArray,
    category_masks: IntArray,
    limit: int,
    policy: SlatePolicy,
    seed: str,
    caps: IntArray | None = None,
    explore_weights: FloatArray | None = None,
    optimistic: FloatArray | None = None,
    protected: int = 0,
) -> list[SlotChoice]:
    """caps[c] overrides max_per_category for category code c; explore_weights[c] is
    category c's weight when exploring; the first `protected` slots stay greedy. With
    `optimistic` (per candidate, the most its score could plausibly be), exploration pays
    for itself: a category is explorable at a slot only by what its best event could gain
    over the greedy one, is drawn in proportion to that gain, and the slot's epsilon is
    policy.epsilon x GAIN_EXPLORATION x gain / (gain + greedy score) for the largest gain
    (at most MAX_SLOT_SHARE x policy.epsilon, and MAX_SLOT_EPSILON), so a user whose
    known favourites fill the top explores below them, and one whose known tastes serve
    them badly explores up to twice the configured share."""
    rng = random.Random(seed)
    # Best first (ties: lower index first, as argmax would), so "the best eligible
    # candidate" is the first eligible one. A slate is 30 slots over a few hundred
    # candidates: plain Python walks over short per-category lists beat numpy's per-call
    # overhead here.
    ranked = np.argsort(-scores, kind="stable")
    sorted_masks = category_masks[ranked]
    order = ranked.tolist()
    sorted_scores = scores[ranked].tolist()
    hopes = None if optimistic is None else optimistic[ranked].tolist()
    masks = sorted_masks.tolist()
    in_category = [
        np.flatnonzero(sorted_masks >> code & 1).tolist() for code in range(CATEGORY_COUNT)
    ]
    codes_of = [[code for code in range(CATEGORY_COUNT) if mask >> code & 1] for mask in masks]
    cap = [policy.max_per_category] * CATEGORY_COUNT if caps is None else caps.tolist()
    weight_of = [1.0] * CATEGORY_COUNT if explore_weights is None else explore_weights.tolist()
    taken = [False] * len(order)
    most_epsilon = min(MAX_SLOT_EPSILON, MAX_SLOT_SHARE * policy.epsilon)
    # Per category, where its list's untaken positions start (taken ones stay taken).
    starts = [0] * CATEGORY_COUNT
    in_window = [0] * CATEGORY_COUNT  # per category, picks among the last window - 1
    picks: list[int] = []  # positions in `order`
    choices: list[SlotChoice] = []
    for slot in range(min(limit, len(order))):
        # Categories already at their cap within the window that this slot closes.
        full = sum(1 << code for code in range(CATEGORY_COUNT) if in_window[code] >= cap[code])
        best = _best_per_category(in_category, masks, taken, full, starts)
        if not best:  # nothing keeps the feed varied: every remaining one is eligible
            best = _best_per_category(in_category, masks, taken, 0, starts)
        greedy = min(position for _, position in best)
        # What exploring each category would show: its best eligible event, when that is
        # not the greedy choice anyway, with the category's weight.
        epsilon = policy.epsilon if slot >= protected else 0.0
        if hopes is None:
            alternatives = [
                (position, weight_of[code])
                for code, position in best
                if position != greedy and weight_of[code] > 0
            ]
        else:
            floor = sorted_scores[greedy]
            alternatives = [
                (position, hopes[position] - floor)
                for _, position in best
                if position != greedy and hopes[position] > floor
            ]
            if alternatives and epsilon > 0:
                gain = max(weight for _, weight in alternatives)
                share = gain / (gain + max(floor, 0.0))
                epsilon = min(most_epsilon, policy.epsilon * GAIN_EXPLORATION * share)
        total = sum(weight for _, weight in alternatives)
        if not alternatives or epsilon <= 0:
            pick, propensity, epsilon = greedy, 1.0, 0.0
        elif rng.random() < epsilon:
            pick = _weighted_draw(alternatives, total, rng)
            chance = sum(weight for position, weight in alternatives if position == pick)
            propensity = epsilon * chance / total
        else:
            pick, propensity = greedy, 1.0 - epsilon
        choices.append(SlotChoice(order[pick], pick != greedy, round(propensity, 9), epsilon))
        taken[pick] = True
        picks.append(pick)
        if policy.window > 1:
            for code in codes_of[pick]:
                in_window[code] += 1
            if len(picks) >= policy.window:  # the oldest leaves the next slot's window
                for code in codes_of[picks[-policy.window]]:
                    in_window[code] -= 1
    return choices


def _weighted_draw(entries: list[tuple[int, float]], total: float, rng: random.Random) -> int:
    point = rng.random() * total
    for position, weight in entries:
        point -= weight
        if point < 0:
            return position
    return entries[-1][0]


def _best_per_category(
    in_category: list[list[int]],
    masks: list[int],
    taken: list[bool],
    full: int,
    starts: list[int],
) -> list[tuple[int, int]]:
    """(category code, position): each category's first position not taken and in no
    full category (categories with none are left out). `starts` moves past positions
    taken for good, so each list is walked once per slate, not once per slot."""
    best = []
    for code, positions in enumerate(in_category):
        start = starts[code]
        while start < len(positions) and taken[positions[start]]:
            start += 1
        starts[code] = start
        for index in range(start, len(positions)):
            position = positions[index]
            if not taken[position] and not masks[position] & full:
                best.append((code, position))
                break
    return best
