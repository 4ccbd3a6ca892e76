"""Server-side Feed latency for catalogs of several sizes: median and p99.

For each size it seeds a fresh embedded store with the demo catalog, warms the model with
learned feeds, then times Recommender.feed (candidate selection, cold-start blend or
bandit scoring, the slate, the impression write) for a mix of cold and personalised users.
It prints a table and writes a PNG.

    python scripts/bench_rank.py [--sizes 5000,20000,100000] [--calls 1000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchlib import onboard_random, p99, pyplot, save

from aura_server.app import Aura
from aura_server.cli.commands.catalog import seed_demo
from aura_server.domain.taxonomy import NEIGHBORHOODS
from aura_server.store.sqlite import SQLiteRepository


def bench_size(size: int, calls: int, users: int) -> dict[str, list[float]]:
    folder = Path(tempfile.mkdtemp(prefix=f"aura-bench-{size}-"))
    repo = SQLiteRepository(folder / "aura.db")
    print(f"[{size} events] seeding", file=sys.stderr)
    seed_demo(repo, count=size)
    aura = Aura.build(repo)
    rng = random.Random(size)
    names = [f"user-{i}" for i in range(users)]
    print(f"[{size} events] onboarding {users} users, half of them personalised", file=sys.stderr)
    for number, user in enumerate(names):
        onboard_random(aura, user, rng, intents=("explore",), oldest=60)
        if number % 2 == 0:  # personalised: three rewarded behaviors
            feed = aura.recommender.feed(user, None, None, limit=10)
            for item in feed.items[:3]:
                aura.behaviors.log(user, "click", item.event.event_id, feed_id=feed.feed_id)
    timings: dict[str, list[float]] = {"cold": [], "personalised": []}
    for call in range(1, calls + 1):
        number = rng.randrange(users)
        hood = rng.choice(NEIGHBORHOODS)
        started = time.perf_counter()
        aura.recommender.feed(names[number], hood.lat, hood.lng, limit=30)
        elapsed = (time.perf_counter() - started) * 1000
        timings["personalised" if number % 2 == 0 else "cold"].append(elapsed)
        if call % 100 == 0:
            print(f"\r[{size} events] {call}/{calls} feeds", end="", file=sys.stderr)
    print(file=sys.stderr)
    aura.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="5000,20000,100000")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--plot", type=Path, default=Path("var/bench_rank.png"))
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    results = {size: bench_size(size, args.calls, args.users) for size in sizes}

    print(f"{'events':>8} {'users':>13} {'median ms':>10} {'p99 ms':>8} {'calls':>6}")
    for size, timings in results.items():
        everything = timings["cold"] + timings["personalised"]
        for label, samples in (*timings.items(), ("all", everything)):
            print(
                f"{size:>8} {label:>13} {statistics.median(samples):>10.2f} "
                f"{p99(samples):>8.2f} {len(samples):>6}"
            )

    plt = pyplot()

    fig, ax = plt.subplots(figsize=(8, 4.5))
    positions = range(len(sizes))
    for offset, label in ((-0.15, "cold"), (0.15, "personalised")):
        medians = [statistics.median(results[s][label]) for s in sizes]
        tails = [p99(results[s][label]) for s in sizes]
        xs = [p + offset for p in positions]
        ax.bar(xs, tails, width=0.3, alpha=0.35, label=f"{label} p99")
        ax.bar(xs, medians, width=0.3, label=f"{label} median")
    ax.set_xticks(list(positions), [f"{s:,} events" for s in sizes])
    ax.set_ylabel("server-side Feed latency (ms)")
    ax.set_title("Aura Feed latency by catalog size (one process, limit 30)")
    ax.legend()
    save(fig, args.plot)


if __name__ == "__main__":
    main()
