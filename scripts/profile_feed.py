"""Where a Feed's time goes: cProfile over server-side Feed calls for personalised users.

Seeds a fresh embedded store with the demo catalog, gives --users users three clicks each
(so they get the learned ranker), then profiles --calls Feed calls and prints the time per
call of each stage of the decision flow (cumulative, so stages nest: rank holds the ones
under it), then the functions with the most time of their own.

    python scripts/profile_feed.py [--events 5000] [--calls 500] [--users 100]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import tempfile
import time
from pathlib import Path

from benchlib import onboard_random

from aura_server.app import Aura
from aura_server.cli.commands.catalog import seed_demo
from aura_server.domain.taxonomy import NEIGHBORHOODS
from aura_server.store.sqlite import SQLiteRepository

# (function name, what it is), in decision-flow order.
STAGES = [
    ("feed", "Recommender.feed, the whole call"),
    ("user_state", "profile and hidden/bought events from the store"),
    ("select", "catalog index: radius, window and filters (numpy)"),
    ("rank", "LearnedRanker.rank, everything below"),
    ("user_tastes", "  the user's taste posteriors (tastes.py)"),
    ("expected_appeal", "  the expected appeal of every candidate"),
    ("optimistic_scores", "  the optimistic scores exploration weighs"),
    ("candidate_pool", "  the learner's pool"),
    ("_action_features", "  the learner's action features (text)"),
    ("predict_rewards", "  Vowpal Wabbit parse and predict"),
    ("fill_slate", "  the slate: exploration and the variety rule"),
    ("record", "Serving.record, the impression (written behind the answer)"),
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--users", type=int, default=100)
    args = parser.parse_args()

    repo = SQLiteRepository(Path(tempfile.mkdtemp(prefix="aura-profile-")) / "aura.db")
    seed_demo(repo, count=args.events, out=io.StringIO())
    aura = Aura.build(repo)
    rng = random.Random(5)
    users = [f"user-{n}" for n in range(args.users)]
    print(f"onboarding {args.users} users with three clicks each")
    for user in users:
        onboard_random(aura, user, rng, intents=("explore",), oldest=60)
        feed = aura.recommender.feed(user, None, None, limit=10)
        for item in feed.items[:3]:
            aura.behaviors.log(user, "click", item.event.event_id, feed_id=feed.feed_id)

    def calls(count: int) -> None:
        for _ in range(count):
            hood = rng.choice(NEIGHBORHOODS)
            aura.recommender.feed(rng.choice(users), hood.lat, hood.lng, limit=30)

    calls(50)  # warm up
    started = time.perf_counter()
    calls(args.calls)
    plain = (time.perf_counter() - started) / args.calls * 1000
    profiler = cProfile.Profile()
    profiler.enable()
    calls(args.calls)
    profiler.disable()
    aura.close()

    stats = pstats.Stats(profiler)
    by_name: dict[str, float] = {}
    for (_, _, name), (_, _, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        by_name[name] = by_name.get(name, 0.0) + cumulative
    print(f"\nFeed without the profiler: {plain:.2f} ms per call ({args.events} events, limit 30)")
    print("under cProfile (which slows Python code more than numpy and VW):")
    print(f"{'ms/call':>8}  stage")
    for name, meaning in STAGES:
        print(f"{by_name.get(name, 0.0) / args.calls * 1000:>8.3f}  {name}: {meaning}")
    print("\nfunctions with the most time of their own:")
    stats.sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
