"""The slate policy on its own: the diversity window and exact propensities."""

from __future__ import annotations

import numpy as np

from aura_server.domain.decision.slate import CATEGORY_COUNT, SlatePolicy, fill_slate


def test_no_window_holds_more_than_the_cap_of_one_category_from_the_first_slot() -> None:
    # Category 0 holds the 40 best candidates; 10 other categories hold the rest.
    scores = np.linspace(1.0, 0.0, 100)
    masks = np.array([1] * 40 + [1 << (1 + i % 10) for i in range(60)])
    policy = SlatePolicy(epsilon=0.0, max_per_category=3, window=10)
    picks = fill_slate(scores, masks, 30, policy, seed="window")
    in_zero = [bool(masks[choice.index] & 1) for choice in picks]
    for start in range(-9, len(in_zero)):  # windows cut by the first slot count too
        assert sum(in_zero[max(start, 0) : start + 10]) <= 3, (start, in_zero)
    assert in_zero[:3] == [True, True, True]  # the best come first while allowed


def test_a_raised_cap_lets_a_loved_category_fill_the_window() -> None:
    scores = np.linspace(1.0, 0.0, 100)
    masks = np.array([1] * 40 + [1 << (1 + i % 10) for i in range(60)])
    caps = np.full(CATEGORY_COUNT, 3)
    caps[0] = 8
    picks = fill_slate(scores, masks, 10, SlatePolicy(epsilon=0.0), seed="loved", caps=caps)
    assert sum(bool(masks[choice.index] & 1) for choice in picks) == 8


def test_propensities_are_those_of_the_draw() -> None:
    rng = np.random.default_rng(3)
    scores = rng.random(200)
    masks = 1 << rng.integers(0, CATEGORY_COUNT, 200)
    policy = SlatePolicy(epsilon=0.2)
    for seed in range(50):
        for choice in fill_slate(scores, masks, 30, policy, seed=str(seed)):
            if choice.explored:
                assert 0 < choice.propensity <= 0.2
            else:
                assert choice.propensity in (0.8, 1.0)
