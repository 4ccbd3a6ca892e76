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
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from aura_server.domain.arrays import FloatArray, IntArray
from aura_server.domain.decision import compiled
from aura_server.domain.decision.compiled import (  # noqa: F401 (re-exported)
    GAIN_EXPLORATION,
    MAX_SLOT_EPSILON,
    MAX_SLOT_SHARE,
)
from aura_server.domain.taxonomy import CATEGORIES

CATEGORY_COUNT = len(CATEGORIES)
NOT_FORCED = np.empty(0, dtype=np.int64)  # serving draws its slots (compiled.fill_slate)
# The most exploration any one slot gets, however uncertain the user: MAX_SLOT_SHARE times
# the configured share, and never above MAX_SLOT_EPSILON. With optimistic scores, a slot's
# epsilon is the configured one times GAIN_EXPLORATION, times the share of the best
# alternative's optimistic score that it could gain. (Defined in compiled.py, which uses
# them.)


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
    more_optimism: Callable[[IntArray], FloatArray] | None = None,
) -> list[SlotChoice]:
    """The slate's slots, filled by the compiled loop (compiled.fill_slate) over the
    candidates in best-first order (ties: lower index first). caps[c] overrides
    max_per_category for category code c; explore_weights[c] weighs category c when
    exploring; the first `protected` slots stay greedy. With `optimistic` (per candidate,
    the most its score could plausibly be), exploration pays for itself: a category is
    explorable only by what its best event could gain over the greedy one, drawn in
    proportion to that gain, with the slot's epsilon growing with the largest gain
    (docs/concepts/decision.md, "The slate"). `more_optimism(indices)` adds to
    `optimistic` and is asked only for the candidates exploration weighs: the slate is
    filled again until it weighed nothing it lacked, as if every candidate were asked."""
    rng = random.Random(seed)
    ranked = np.argsort(-scores, kind="stable")
    slots = min(limit, len(ranked))
    # Two draws at most per slot (explore or not, then which), in the order used.
    draws = np.array([rng.random() for _ in range(2 * slots)], dtype=np.float64)
    cap = np.full(CATEGORY_COUNT, policy.max_per_category) if caps is None else caps
    weights = np.ones(CATEGORY_COUNT) if explore_weights is None else explore_weights
    hopes = np.zeros(len(ranked)) if optimistic is None else optimistic[ranked]
    known = np.zeros(len(ranked), dtype=bool)  # by sorted position: hope complete
    while True:
        consulted = np.zeros(len(ranked), dtype=bool)
        picked, explored, propensities, epsilons = compiled.fill_slate(
            np.ascontiguousarray(scores[ranked], dtype=np.float64),
            np.ascontiguousarray(category_masks[ranked], dtype=np.int64),
            limit,
            float(policy.epsilon),
            policy.window,
            np.ascontiguousarray(cap, dtype=np.int64),
            np.ascontiguousarray(weights, dtype=np.float64),
            np.ascontiguousarray(hopes, dtype=np.float64),
            optimistic is not None,
            protected,
            draws,
            consulted,
            NOT_FORCED,
        )
        lacking = np.flatnonzero(consulted & ~known)
        if more_optimism is None or optimistic is None or len(lacking) == 0:
            break
        hopes[lacking] = optimistic[ranked[lacking]] + more_optimism(ranked[lacking])
        known[lacking] = True
    order = ranked[picked].tolist()
    return [
        SlotChoice(index, was_explored, round(propensity, 9), epsilon)
        for index, was_explored, propensity, epsilon in zip(
            order, explored.tolist(), propensities.tolist(), epsilons.tolist(), strict=True
        )
    ]


def slot_probabilities(
    scores: FloatArray,
    category_masks: IntArray,
    shown: IntArray,
    policy: SlatePolicy,
    caps: IntArray,
    optimistic: FloatArray,
    protected: int = 0,
) -> FloatArray:
    """Per slot of a logged slate (`shown`: candidate indices in slot order), the
    probability that fill_slate with `policy` and these optimistic scores gives that
    candidate that slot, after the logged slots above it (0 where it could not have):
    what offline evaluation weighs a logged slot by (offline/evaluation.py)."""
    ranked = np.argsort(-scores, kind="stable")
    position_of = np.empty(len(ranked), dtype=np.int64)
    position_of[ranked] = np.arange(len(ranked))
    _, _, probabilities, _ = compiled.fill_slate(
        np.ascontiguousarray(scores[ranked], dtype=np.float64),
        np.ascontiguousarray(category_masks[ranked], dtype=np.int64),
        len(shown),
        float(policy.epsilon),
        policy.window,
        np.ascontiguousarray(caps, dtype=np.int64),
        np.ones(CATEGORY_COUNT),
        np.ascontiguousarray(optimistic[ranked], dtype=np.float64),
        True,
        protected,
        np.empty(0, dtype=np.float64),
        np.zeros(len(ranked), dtype=bool),
        np.ascontiguousarray(position_of[shown], dtype=np.int64),
    )
    result: FloatArray = probabilities
    return result
