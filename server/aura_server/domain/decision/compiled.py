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
    sizes = np.zeros(categories, dtype=np.int64)
    in_category = np.empty((categories, max(m, 1)), dtype=np.int64)
    for position in range(m):
        for code in range(categories):
            if (masks[position] >> code) & 1:
                in_category[code, sizes[code]] = position
                sizes[code] += 1
    slots = min(limit, m)
    picked = np.empty(slots, dtype=np.int64)
    explored = np.zeros(slots, dtype=np.bool_)
    propensities = np.empty(slots)
    epsilons = np.empty(slots)
    taken = np.zeros(m, dtype=np.bool_)
    starts = np.zeros(categories, dtype=np.int64)
    in_window = np.zeros(categories, dtype=np.int64)
    best_codes = np.empty(categories, dtype=np.int64)
    best_positions = np.empty(categories, dtype=np.int64)
    alternatives = np.empty(categories, dtype=np.int64)
    alternative_weights = np.empty(categories)
    most_epsilon = min(MAX_SLOT_EPSILON, MAX_SLOT_SHARE * epsilon)
    drawn = 0
    for slot in range(slots):
        full = 0
        for code in range(categories):
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
        slot_epsilon = epsilon if slot >= protected else 0.0
        count = 0
        if not use_hopes:
            for k in range(found):
                weight = weights[best_codes[k]]
                if best_positions[k] != greedy and weight > 0:
                    alternatives[count] = best_positions[k]
                    alternative_weights[count] = weight
                    count += 1
        else:
            floor = scores[greedy]
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
        total = 0.0
        for k in range(count):
            total += alternative_weights[k]
        if len(forced) > 0:
            pick = forced[slot]
            if count == 0 or slot_epsilon <= 0:
                propensity, slot_epsilon = (1.0 if pick == greedy else 0.0), 0.0
            elif pick == greedy:
                propensity = 1.0 - slot_epsilon
            else:
                weight_of_pick = 0.0
                for k in range(count):
                    if alternatives[k] == pick:
                        weight_of_pick += alternative_weights[k]
                propensity = slot_epsilon * weight_of_pick / total
        elif count == 0 or slot_epsilon <= 0:
            pick, propensity, slot_epsilon = greedy, 1.0, 0.0
        else:
            chance = draws[drawn]
            drawn += 1
            if chance < slot_epsilon:
                point = draws[drawn] * total
                drawn += 1
                pick = alternatives[count - 1]
                for k in range(count):
                    point -= alternative_weights[k]
                    if point < 0:
                        pick = alternatives[k]
                        break
                weight_of_pick = 0.0
                for k in range(count):
                    if alternatives[k] == pick:
                        weight_of_pick += alternative_weights[k]
                propensity = slot_epsilon * weight_of_pick / total
            else:
                pick, propensity = greedy, 1.0 - slot_epsilon
        picked[slot] = pick
        explored[slot] = pick != greedy
        propensities[slot] = propensity
        epsilons[slot] = slot_epsilon
        taken[pick] = True
        if window > 1:
            for code in range(categories):
                if (masks[pick] >> code) & 1:
                    in_window[code] += 1
            if slot + 1 >= window:  # the oldest leaves the next slot's window
                oldest = picked[slot + 1 - window]
                for code in range(categories):
                    if (masks[oldest] >> code) & 1:
                        in_window[code] -= 1
    return picked, explored, propensities, epsilons
