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
