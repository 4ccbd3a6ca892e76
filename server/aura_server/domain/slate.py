"""Filling a feed slot by slot: greedy with probability 1 - epsilon, exploratory otherwise.

At each slot the eligible candidates are the remaining ones that keep the feed varied (at
most `max_per_category` of one category in any `window` consecutive slots, or a per-category
cap the caller passes; when none qualifies, all remaining are eligible). With probability
1 - epsilon the best-scored eligible candidate is taken; with probability epsilon an
exploratory one: a category drawn uniformly from the eligible categories whose best event is
not the greedy choice, and that best event. Exploring categories rather than single events
finds a taste the ranking has not seen yet (a jazz lover among techno crowds) quickly, and
shows the best of it rather than a random one. So, given the slots above it, the greedy
item's propensity is 1 - epsilon and an explored item's is

    epsilon * (categories it is the best eligible event of) / (categories explorable)

(1 for the greedy item when nothing else could be explored).
The draws come from a generator seeded with the feed_id, so a feed replays exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from aura_server.domain.catalog_index import FloatArray, IntArray
from aura_server.domain.taxonomy import CATEGORIES

CATEGORY_COUNT = len(CATEGORIES)


@dataclass(frozen=True)
class SlotChoice:
    index: int  # into the candidate arrays
    explored: bool  # drawn by exploration (never the greedy choice)
    propensity: float


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
) -> list[SlotChoice]:
    """caps[c] overrides max_per_category for category code c."""
    rng = random.Random(seed)
    # has_category[i, c]: candidate i is in category code c.
    has_category = ((category_masks[:, None] >> np.arange(CATEGORY_COUNT)) & 1).astype(bool)
    remaining = np.ones(len(scores), dtype=bool)
    cap = np.full(CATEGORY_COUNT, policy.max_per_category) if caps is None else caps
    picks: list[int] = []
    choices: list[SlotChoice] = []
    for _ in range(min(limit, len(scores))):
        # Categories already at their cap within the window that this slot closes.
        recent = picks[len(picks) - policy.window + 1 :] if policy.window > 1 else []
        full = has_category[recent].sum(axis=0) >= cap
        eligible = remaining & ~has_category[:, full].any(axis=1)
        if not eligible.any():
            eligible = remaining
        eligible_rows = np.flatnonzero(eligible)
        greedy = int(eligible_rows[np.argmax(scores[eligible_rows])])
        # What exploring each category would show: its best eligible event, when that is
        # not the greedy choice anyway.
        membership = has_category[eligible_rows]
        by_category = np.where(membership, scores[eligible_rows][:, None], -np.inf)
        best = eligible_rows[np.argmax(by_category, axis=0)[membership.any(axis=0)]]
        alternatives = [int(row) for row in best if row != greedy]
        if alternatives and rng.random() < policy.epsilon:
            pick = alternatives[rng.randrange(len(alternatives))]
            propensity = policy.epsilon * alternatives.count(pick) / len(alternatives)
        else:
            pick = greedy
            propensity = 1.0 - policy.epsilon if alternatives else 1.0
        choices.append(SlotChoice(pick, pick != greedy, round(propensity, 9)))
        remaining[pick] = False
        picks.append(pick)
    return choices
