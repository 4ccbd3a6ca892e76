"""Natural-language search speed: the rules parse, and Natural against Feed.

1. The rules parser over the labelled queries (tests/data/parser_labels.jsonl), repeated:
   median and p99 per parse.
2. Server-side Natural (rules parser) and Feed on the 5,000-event demo catalog, the same
   users and places, interleaved and then each alone: median and p99 of each, and the
   ratio of the interleaved p99s.
It prints the numbers and writes a PNG.

    python scripts/bench_natural.py [--calls 1000] [--parses 20000]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchlib import p99, pyplot, save

from aura_server.app import Aura
from aura_server.cli.commands.catalog import seed_demo
from aura_server.config import Settings
from aura_server.domain.search.rules_parser import RulesParser
from aura_server.domain.taxonomy import NEIGHBORHOODS
from aura_server.store.sqlite import SQLiteRepository

LABELS = Path(__file__).resolve().parent.parent / "tests" / "data" / "parser_labels.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--parses", type=int, default=20000)
    parser.add_argument("--plot", type=Path, default=Path("var/bench_natural.png"))
    args = parser.parse_args()
    queries = [json.loads(line)["query"] for line in LABELS.read_text().splitlines() if line]

    rules = RulesParser()
    now = datetime.now(UTC)
    parse_ms = []
    for number in range(args.parses):
        started = time.perf_counter()
        rules.parse(queries[number % len(queries)], now)
        parse_ms.append((time.perf_counter() - started) * 1000)
    print(
        f"rules parse over {args.parses} parses of {len(queries)} queries: "
        f"median {statistics.median(parse_ms):.3f} ms, p99 {p99(parse_ms):.3f} ms"
    )

    folder = Path(tempfile.mkdtemp(prefix="aura-bench-natural-"))
    repo = SQLiteRepository(folder / "aura.db")
    print("seeding the demo catalog", file=sys.stderr)
    seed_demo(repo, out=io.StringIO())
    aura = Aura.build(repo, Settings(llm_mode="off"))
    rng = random.Random(5)
    aura.recommender.feed("warm-up", 40.71, -73.96)  # builds the catalog index
    aura.natural.search("warm-up", queries[0], 40.71, -73.96)
    timings: dict[str, list[float]] = {"Feed": [], "Natural": []}
    for call in range(1, args.calls + 1):
        user = f"bench-{rng.randrange(50)}"
        hood = rng.choice(NEIGHBORHOODS)
        started = time.perf_counter()
        aura.recommender.feed(user, hood.lat, hood.lng, limit=30)
        timings["Feed"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        aura.natural.search(user, rng.choice(queries), hood.lat, hood.lng, limit=30)
        timings["Natural"].append((time.perf_counter() - started) * 1000)
        if call % 100 == 0:
            print(f"\r{call}/{args.calls} pairs", end="", file=sys.stderr)
    print(file=sys.stderr)
    aura.natural.flush(timeout=60)
    alone = {name: _alone(aura, name, queries, args.calls) for name in timings}
    aura.close()
    print("interleaved (a search's write, behind its answer, lands in the next call's time):")
    for name, samples in timings.items():
        print(f"{name:>8}: median {statistics.median(samples):.2f} ms, p99 {p99(samples):.2f} ms")
    print("each alone (the searches' writes drained after the run):")
    for name, samples in alone.items():
        print(f"{name:>8}: median {statistics.median(samples):.2f} ms, p99 {p99(samples):.2f} ms")
    ratio = p99(timings["Natural"]) / p99(timings["Feed"])
    print(f"Natural p99 / Feed p99 = {ratio:.2f}")

    plt = pyplot()

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.hist(parse_ms, bins=80)
    left.axvline(p99(parse_ms), color="black", linestyle=":", label=f"p99 {p99(parse_ms):.3f} ms")
    left.set_title("rules parse")
    left.set_xlabel("ms")
    left.legend()
    right.boxplot(list(timings.values()), tick_labels=list(timings), showfliers=False)
    right.set_title(f"server-side latency, 5,000 events (p99 ratio {ratio:.2f})")
    right.set_ylabel("ms")
    save(fig, args.plot)


def _alone(aura: Aura, name: str, queries: list[str], calls: int) -> list[float]:
    """One kind of call at a time, for the same users and places."""
    rng = random.Random(6)
    samples = []
    for _ in range(calls):
        user = f"bench-{rng.randrange(50)}"
        hood = rng.choice(NEIGHBORHOODS)
        started = time.perf_counter()
        if name == "Feed":
            aura.recommender.feed(user, hood.lat, hood.lng, limit=30)
        else:
            aura.natural.search(user, rng.choice(queries), hood.lat, hood.lng, limit=30)
        samples.append((time.perf_counter() - started) * 1000)
    aura.natural.flush(timeout=60)
    return samples


if __name__ == "__main__":
    main()
