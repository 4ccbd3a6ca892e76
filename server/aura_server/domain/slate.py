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
    # Best first (ties: lower index first, as argmax would), so "the best eligible
    # candidate" is the first eligible one. A slate is 30 slots over a few hundred
    # candidates: plain Python walks over short per-category lists beat numpy's per-call
    # overhead here.
    ranked = np.argsort(-scores, kind="stable")
    sorted_masks = category_masks[ranked]
    order = ranked.tolist()
    masks = sorted_masks.tolist()
    in_category = [
        np.flatnonzero(sorted_masks >> code & 1).tolist() for code in range(CATEGORY_COUNT)
    ]
    codes_of = [[code for code in range(CATEGORY_COUNT) if mask >> code & 1] for mask in masks]
    cap = [policy.max_per_category] * CATEGORY_COUNT if caps is None else caps.tolist()
    taken = [False] * len(order)
    in_window = [0] * CATEGORY_COUNT  # per category, picks among the last window - 1
    picks: list[int] = []  # positions in `order`
    choices: list[SlotChoice] = []
    for _ in range(min(limit, len(order))):
        # Categories already at their cap within the window that this slot closes.
        full = sum(1 << code for code in range(CATEGORY_COUNT) if in_window[code] >= cap[code])
        best = _best_per_category(in_category, masks, taken, full)
        if not best:  # nothing keeps the feed varied: every remaining one is eligible
            best = _best_per_category(in_category, masks, taken, 0)
        greedy = min(best)
        # What exploring each category would show: its best eligible event, when that is
        # not the greedy choice anyway.
        alternatives = [position for position in best if position != greedy]
        if alternatives and rng.random() < policy.epsilon:
            pick = alternatives[rng.randrange(len(alternatives))]
            propensity = policy.epsilon * alternatives.count(pick) / len(alternatives)
        else:
            pick = greedy
            propensity = 1.0 - policy.epsilon if alternatives else 1.0
        choices.append(SlotChoice(order[pick], pick != greedy, round(propensity, 9)))
        taken[pick] = True
        picks.append(pick)
        if policy.window > 1:
            for code in codes_of[pick]:
                in_window[code] += 1
            if len(picks) >= policy.window:  # the oldest leaves the next slot's window
                for code in codes_of[picks[-policy.window]]:
                    in_window[code] -= 1
    return choices


def _best_per_category(
    in_category: list[list[int]], masks: list[int], taken: list[bool], full: int
) -> list[int]:
    """In category order, each category's first position not taken and in no full
    category (categories with none are left out)."""
    best = []
    for positions in in_category:
        for position in positions:
            if not taken[position] and not masks[position] & full:
                best.append(position)
                break
    return best
