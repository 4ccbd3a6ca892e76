"""Filling a feed slot by slot: greedy with probability 1 - epsilon, exploratory otherwise.

At each slot the eligible candidates are the remaining ones that keep the feed varied (at
most `max_per_category` of one category in any `window` consecutive slots, or a per-category
cap the caller passes; when none qualifies, all remaining are eligible). With probability
1 - epsilon the best-scored eligible candidate is taken; with probability epsilon one drawn
uniformly from the eligible.
So the propensity of the item placed in a slot, given the slots above it, is

    (1 - epsilon) * [it is the greedy one] + epsilon / (number eligible)

The draws come from a generator seeded with the feed_id, so a feed replays exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from aura_server.domain.catalog_index import FloatArray, IntArray


@dataclass(frozen=True)
class SlotChoice:
    index: int  # into the candidate arrays
    explored: bool  # drawn by exploration and not the greedy choice
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
    remaining = np.ones(len(scores), dtype=bool)
    chosen_masks: list[int] = []
    choices: list[SlotChoice] = []
    for _ in range(min(limit, len(scores))):
        eligible = remaining & _fits(category_masks, chosen_masks, policy, caps)
        if not eligible.any():
            eligible = remaining
        eligible_rows = np.flatnonzero(eligible)
        greedy = int(eligible_rows[np.argmax(scores[eligible_rows])])
        uniform = policy.epsilon / len(eligible_rows)
        if rng.random() < policy.epsilon:
            pick = int(eligible_rows[rng.randrange(len(eligible_rows))])
        else:
            pick = greedy
        propensity = uniform + (1 - policy.epsilon if pick == greedy else 0.0)
        choices.append(SlotChoice(pick, pick != greedy, propensity))
        remaining[pick] = False
        chosen_masks.append(int(category_masks[pick]))
    return choices


def _fits(
    category_masks: IntArray,
    chosen_masks: list[int],
    policy: SlatePolicy,
    caps: IntArray | None,
) -> np.ndarray:
    """Candidates whose every category still has room in the current window."""
    recent = chosen_masks[-(policy.window - 1) :] if policy.window > 1 else []
    full = 0
    if recent:
        counts: dict[int, int] = {}
        for mask in recent:
            bit = 0
            while mask:
                if mask & 1:
                    counts[bit] = counts.get(bit, 0) + 1
                mask >>= 1
                bit += 1
        for bit, count in counts.items():
            cap = policy.max_per_category if caps is None else int(caps[bit])
            if count >= cap:
                full |= 1 << bit
    fits: np.ndarray = (category_masks & full) == 0
    return fits
