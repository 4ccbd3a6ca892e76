"""The decision flow's two loops, compiled (numba): picking the learner's pool and filling
the slate. Each is a plain loop over arrays, the same steps ranking.py and slate.py
describe, compiled once per process (cached on disk beside this file where it can be
written): in Python they cost more than the rest of a Feed; compiled, a few microseconds.

Both are exact ports: the slate takes its random draws from the caller (Python's
generator, seeded with the feed_id) in the order the steps use them, and does the same
floating-point operations in the same order, so a feed replays to the last bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from aura_server.domain.arrays import FloatArray, IntArray

# Slate constants (slate.py explains them).
MAX_SLOT_SHARE = 2.0
MAX_SLOT_EPSILON = 0.5
GAIN_EXPLORATION = 3.0


@njit(cache=True)
def _better(score_a: float, index_a: int, score_b: float, index_b: int) -> bool:
    """A higher score wins; between equal scores, the lower index."""
    return score_a > score_b or (score_a == score_b and index_a < index_b)


@njit(cache=True)
def _top(scores: FloatArray, limit: int, chosen: np.ndarray) -> None:
    """Mark the `limit` best of `scores` in `chosen` (ties: lower index first), in one
    partition and one pass."""
    n = len(scores)
    if n <= limit:
        chosen[:] = True
        return
    threshold = -np.partition(-scores, limit - 1)[limit - 1]  # the limit-th best score
    count = 0
    for index in range(n):
        if scores[index] > threshold:
            chosen[index] = True
            count += 1
    for index in range(n):
        if count == limit:
            break
        if scores[index] == threshold:
            chosen[index] = True
            count += 1


@njit(cache=True)
def pool_of(
    scores: FloatArray,
    codes: IntArray,
    searched: IntArray,
    pool_size: int,
    per_category: int,
    categories: int,
) -> IntArray:
    """The candidates the learner scores, best first (ties: lower index first): the best
    `pool_size` of all, and the best `per_category` of each category among `searched`
    (codes[i]: candidate i's category codes, padded with `categories`)."""
    n = len(scores)
    chosen = np.zeros(n, dtype=np.bool_)
    _top(scores, pool_size, chosen)
    # Per category, its best so far, best first (an insertion into a list this short).
    best = np.empty((categories, max(per_category, 1)), dtype=np.int64)
    counts = np.zeros(categories, dtype=np.int64)
    for index in searched:
        score = scores[index]
        for k in range(codes.shape[1]):
            code = codes[index, k]
            if code >= categories or per_category == 0:
                continue
            count = counts[code]
            if count == per_category:
                last = best[code, count - 1]
                if not _better(score, index, scores[last], last):
                    continue
                count -= 1
            at = count
            while at > 0 and _better(score, index, scores[best[code, at - 1]], best[code, at - 1]):
                best[code, at] = best[code, at - 1]
                at -= 1
            best[code, at] = index
            counts[code] = count + 1
    for code in range(categories):
        for k in range(counts[code]):
            chosen[best[code, k]] = True
    pool = np.flatnonzero(chosen)
    order = np.argsort(-scores[pool], kind="mergesort")  # stable: ties by index
    result: IntArray = pool[order]
    return result


@njit(cache=True)
def _best_per_category(
    in_category: IntArray,
    sizes: IntArray,
    masks: IntArray,
    taken: np.ndarray,
    full: int,
    starts: IntArray,
    best_codes: IntArray,
    best_positions: IntArray,
) -> int:
    """Each category's first position not taken and in no full category, in category
    order (categories with none left out); returns how many. `starts` moves past
    positions taken for good."""
    found = 0
    for code in range(len(sizes)):
        start = starts[code]
        while start < sizes[code] and taken[in_category[code, start]]:
            start += 1
        starts[code] = start
        for at in range(start, sizes[code]):
            position = in_category[code, at]
            if not taken[position] and (masks[position] & full) == 0:
                best_codes[found] = code
                best_positions[found] = position
                found += 1
                break
    return found


@njit(cache=True)
def fill_slate(
    scores: FloatArray,
    masks: IntArray,
    limit: int,
    epsilon: float,
    window: int,
    caps: IntArray,
    weights: FloatArray,
    hopes: FloatArray,
    use_hopes: bool,
    protected: int,
    draws: FloatArray,
    consulted: np.ndarray,
    forced: IntArray,
) -> tuple[IntArray, np.ndarray, FloatArray, FloatArray]:
    """slate.fill_slate over arrays in best-first order (scores sorted, masks and hopes
    alongside): per slot, the position picked, whether it was explored, its propensity
    (unrounded) and the slot's epsilon. `draws` are the generator's numbers, used in
    order; consulted[p] is set for every position whose hope was read. With `forced`
    (a position per slot; empty when serving) nothing is drawn: each slot takes the
    forced position and reports the probability this policy had of choosing it there,
    after the forced slots above (0 when it could not have): how offline evaluation
    replays another configuration on a logged slate."""
    m = len(scores)
    categories = len(caps)
    sizes, in_category = _positions_by_category(masks, m, categories)
    slots = min(limit, m)
    picked = np.empty(slots, dtype=np.int64)
    explored = np.zeros(slots, dtype=np.bool_)
    propensities = np.empty(slots)
    epsilons = np.empty(slots)
    taken = np.zeros(m, dtype=np.bool_)
    in_window = np.zeros(categories, dtype=np.int64)
    work = _scratch(categories)
    most_epsilon = min(MAX_SLOT_EPSILON, MAX_SLOT_SHARE * epsilon)
    drawn = 0
    for slot in range(slots):
        found, greedy = _eligible(in_category, sizes, masks, taken, caps, in_window, work)
        slot_epsilon = epsilon if slot >= protected else 0.0
        if not use_hopes:
            count = _weighted_alternatives(found, greedy, weights, work)
        else:
            count, slot_epsilon = _hopeful_alternatives(
                found, greedy, scores, hopes, consulted, slot_epsilon, epsilon, most_epsilon, work
            )
        pick, propensity, slot_epsilon, drawn = _choose(
            forced, slot, greedy, count, slot_epsilon, work, draws, drawn
        )
        picked[slot] = pick
        explored[slot] = pick != greedy
        propensities[slot] = propensity
        epsilons[slot] = slot_epsilon
        taken[pick] = True
        _slide_window(masks, picked, slot, window, categories, in_window)
    return picked, explored, propensities, epsilons


# A slate's scratch arrays, one entry per category: where each category's search starts,
# its best eligible code and position, and the alternatives a slot weighs with their weights.
Scratch = tuple[IntArray, IntArray, IntArray, IntArray, FloatArray]


@njit(cache=True)
def _scratch(categories: int) -> Scratch:
    return (
        np.zeros(categories, dtype=np.int64),
        np.empty(categories, dtype=np.int64),
        np.empty(categories, dtype=np.int64),
        np.empty(categories, dtype=np.int64),
        np.empty(categories),
    )


@njit(cache=True)
def _eligible(
    in_category: IntArray,
    sizes: IntArray,
    masks: IntArray,
    taken: np.ndarray,
    caps: IntArray,
    in_window: IntArray,
    work: Scratch,
) -> tuple[int, int]:
    """Each category's best untaken position the variety rule allows (into the scratch's
    best codes and positions), how many, and the greedy one among them."""
    starts, best_codes, best_positions, _, _ = work
    full = 0
    for code in range(len(caps)):
        if in_window[code] >= caps[code]:
            full += 1 << code
    found = _best_per_category(
        in_category, sizes, masks, taken, full, starts, best_codes, best_positions
    )
    if found == 0:  # nothing keeps the feed varied: every remaining one is eligible
        found = _best_per_category(
            in_category, sizes, masks, taken, 0, starts, best_codes, best_positions
        )
    greedy = best_positions[0]
    for k in range(1, found):
        greedy = min(greedy, best_positions[k])
    return found, greedy


@njit(cache=True)
def _positions_by_category(masks: IntArray, m: int, categories: int) -> tuple[IntArray, IntArray]:
    """Per category code, how many positions carry it and which (best first)."""
    sizes = np.zeros(categories, dtype=np.int64)
    in_category = np.empty((categories, max(m, 1)), dtype=np.int64)
    for position in range(m):
        for code in range(categories):
            if (masks[position] >> code) & 1:
                in_category[code, sizes[code]] = position
                sizes[code] += 1
    return sizes, in_category


@njit(cache=True)
def _weighted_alternatives(found: int, greedy: int, weights: FloatArray, work: Scratch) -> int:
    """A cold start's alternatives: each category's best but the greedy one, weighed by
    the category's weight."""
    _, best_codes, best_positions, alternatives, alternative_weights = work
    count = 0
    for k in range(found):
        weight = weights[best_codes[k]]
        if best_positions[k] != greedy and weight > 0:
            alternatives[count] = best_positions[k]
            alternative_weights[count] = weight
            count += 1
    return count


@njit(cache=True)
def _hopeful_alternatives(
    found: int,
    greedy: int,
    scores: FloatArray,
    hopes: FloatArray,
    consulted: np.ndarray,
    slot_epsilon: float,
    epsilon: float,
    most_epsilon: float,
    work: Scratch,
) -> tuple[int, float]:
    """A learned ranking's alternatives: each category's best whose hope beats the greedy
    score, weighed by that gain; the slot's epsilon grows with the largest gain."""
    _, _, best_positions, alternatives, alternative_weights = work
    floor = scores[greedy]
    count = 0
    for k in range(found):
        position = best_positions[k]
        if position != greedy:
            consulted[position] = True
        if position != greedy and hopes[position] > floor:
            alternatives[count] = position
            alternative_weights[count] = hopes[position] - floor
            count += 1
    if count > 0 and slot_epsilon > 0:
        gain = alternative_weights[0]
        for k in range(1, count):
            gain = max(gain, alternative_weights[k])
        share = gain / (gain + max(floor, 0.0))
        slot_epsilon = min(most_epsilon, epsilon * GAIN_EXPLORATION * share)
    return count, slot_epsilon


@njit(cache=True)
def _share_of(
    pick: int, count: int, alternatives: IntArray, weights: FloatArray
) -> tuple[float, float]:
    """The pick's weight among the alternatives, and their total weight."""
    total = 0.0
    of_pick = 0.0
    for k in range(count):
        total += weights[k]
        if alternatives[k] == pick:
            of_pick += weights[k]
    return of_pick, total


@njit(cache=True)
def _choose(
    forced: IntArray,
    slot: int,
    greedy: int,
    count: int,
    slot_epsilon: float,
    work: Scratch,
    draws: FloatArray,
    drawn: int,
) -> tuple[int, float, float, int]:
    """The slot's pick (forced, greedy or drawn), its propensity, the slot's epsilon and
    the draws used so far."""
    alternatives, alternative_weights = work[3], work[4]
    if len(forced) > 0:
        pick = forced[slot]
        propensity, slot_epsilon = _forced_propensity(
            pick, greedy, count, slot_epsilon, alternatives, alternative_weights
        )
        return pick, propensity, slot_epsilon, drawn
    if count == 0 or slot_epsilon <= 0:
        return greedy, 1.0, 0.0, drawn
    pick, propensity, drawn = _draw(
        greedy, count, slot_epsilon, alternatives, alternative_weights, draws, drawn
    )
    return pick, propensity, slot_epsilon, drawn


@njit(cache=True)
def _forced_propensity(
    pick: int,
    greedy: int,
    count: int,
    slot_epsilon: float,
    alternatives: IntArray,
    alternative_weights: FloatArray,
) -> tuple[float, float]:
    """The probability this policy had of choosing `pick` here, and the slot's epsilon."""
    if count == 0 or slot_epsilon <= 0:
        return (1.0 if pick == greedy else 0.0), 0.0
    if pick == greedy:
        return 1.0 - slot_epsilon, slot_epsilon
    of_pick, total = _share_of(pick, count, alternatives, alternative_weights)
    return slot_epsilon * of_pick / total, slot_epsilon


@njit(cache=True)
def _draw(
    greedy: int,
    count: int,
    slot_epsilon: float,
    alternatives: IntArray,
    alternative_weights: FloatArray,
    draws: FloatArray,
    drawn: int,
) -> tuple[int, float, int]:
    """Explore with probability slot_epsilon (an alternative in proportion to its weight),
    else the greedy pick: the pick, its propensity and the draws used so far."""
    chance = draws[drawn]
    drawn += 1
    if chance >= slot_epsilon:
        return greedy, 1.0 - slot_epsilon, drawn
    total = 0.0
    for k in range(count):
        total += alternative_weights[k]
    point = draws[drawn] * total
    drawn += 1
    pick = alternatives[count - 1]
    for k in range(count):
        point -= alternative_weights[k]
        if point < 0:
            pick = alternatives[k]
            break
    of_pick, total = _share_of(pick, count, alternatives, alternative_weights)
    return pick, slot_epsilon * of_pick / total, drawn


@njit(cache=True)
def _slide_window(
    masks: IntArray, picked: IntArray, slot: int, window: int, categories: int, in_window: IntArray
) -> None:
    """Count the pick's categories in the variety window; the oldest leaves it."""
    if window <= 1:
        return
    pick = picked[slot]
    for code in range(categories):
        if (masks[pick] >> code) & 1:
            in_window[code] += 1
    if slot + 1 >= window:  # the oldest leaves the next slot's window
        oldest = picked[slot + 1 - window]
        for code in range(categories):
            if (masks[oldest] >> code) & 1:
                in_window[code] -= 1
