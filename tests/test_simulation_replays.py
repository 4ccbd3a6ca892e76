"""A product simulation replays exactly: two runs of the same code give the same numbers,
so two versions of Aura can be compared user by user (scripts/simulate_product.py)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from simulate_product import draw_world, run_world


def test_a_simulated_world_replays_exactly() -> None:
    # Views sent, skips likely: every kind of feedback reaches the server.
    world = draw_world(1, random.Random(31))
    first = run_world(world, users=4, sessions=4, target="", keep=None, alone=False)
    second = run_world(world, users=4, sessions=4, target="", keep=None, alone=False)
    assert first.groups == second.groups
    feedback = first.groups["feedback"]
    assert len(feedback) == 4 and all(len(session) == 4 for session in feedback)
    assert first.mean("feedback", 3) > 0  # the users were shown something they valued


def test_the_kinds_simulation_compares_quiet_users_with_strangers() -> None:
    """scripts/simulate_kinds.py: quiet twins are served beside strangers of their age and
    place, and the events added mid-run are looked for in the graded users' feeds."""
    import simulate_kinds

    world = simulate_kinds.draw_world(1, random.Random(7))
    outcome = simulate_kinds.run_world(world, users=3, sessions=4, new_at=2)
    scores = outcome.scores
    for group in ("graded", "quiet", "stranger"):
        assert all(len(session) == 3 for session in scores.groups[group])
    assert len(outcome.new_event_hits) == 3
    # Views alone leave a user the stranger's cold start: same ranking, only exploration
    # (seeded by feed ids) differs.
    assert abs(scores.mean("quiet", 3) - scores.mean("stranger", 3)) < 0.15
