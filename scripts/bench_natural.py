"""Natural-language search speed: the rules parse, and Natural against Feed.

1. The rules parser over the tuning and fresh labelled queries (tests/data/), repeated:
   median and p99 per parse.
2. Natural (rules parser) and Feed on the 5,000-event demo catalog for the same onboarded
   users and places, in pairs whose order alternates (so neither call always follows the
   other), measured twice: server-side in this process, and as RPCs through a loopback
   gRPC channel to a server in this process. Median and p99 of each, and the ratios.
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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import grpc
from aura.v1 import recommend_pb2, recommend_pb2_grpc
from benchlib import onboard_random, p99, pyplot, save

from aura_server.app import Aura
from aura_server.cli.commands.catalog import seed_demo
from aura_server.config import Settings
from aura_server.domain.search.rules_parser import RulesParser
from aura_server.domain.taxonomy import NEIGHBORHOODS
from aura_server.grpc_api.server import GrpcServer
from aura_server.store.sqlite import SQLiteRepository

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
LABELS = (DATA / "parser_labels.jsonl", DATA / "parser_labels_fresh.jsonl")
USERS = 50
LIMIT = 30

# One call of a kind: (user, query, lat, lng) -> None.
Call = Callable[[str, str, float, float], object]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--parses", type=int, default=20000)
    parser.add_argument("--plot", type=Path, default=Path("var/bench_natural.png"))
    args = parser.parse_args()
    queries = [
        json.loads(line)["query"] for path in LABELS for line in path.read_text().splitlines()
    ]
    parse_ms = _parses(queries, args.parses)

    folder = Path(tempfile.mkdtemp(prefix="aura-bench-natural-"))
    repo = SQLiteRepository(folder / "aura.db")
    print("seeding the demo catalog and onboarding the users", file=sys.stderr)
    seed_demo(repo, out=io.StringIO())
    aura = Aura.build(repo, Settings(llm_mode="off"))
    rng = random.Random(5)
    for number in range(USERS):
        onboard_random(aura, f"bench-{number}", rng)
    server = GrpcServer(aura.plane, host="127.0.0.1", port=0)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    grpc.channel_ready_future(channel).result(timeout=30)
    stub = recommend_pb2_grpc.RecommendServiceStub(channel)
    readings = {
        "in process": _pairs(_in_process(aura), queries, args.calls),
        "through gRPC": _pairs(_through_grpc(stub), queries, args.calls),
    }
    channel.close()
    server.stop(grace=0)
    aura.close()

    print(
        f"rules parse over {args.parses} parses of {len(queries)} queries: "
        f"median {statistics.median(parse_ms):.3f} ms, p99 {p99(parse_ms):.3f} ms"
    )
    for reading, timings in readings.items():
        print(f"{reading} ({args.calls} pairs, the order alternating):")
        for name, samples in timings.items():
            print(
                f"{name:>10}: median {statistics.median(samples):.2f} ms, p99 {p99(samples):.2f} ms"
            )
        natural, feed = timings["Natural"], timings["Feed"]
        medians = statistics.median(natural) / statistics.median(feed)
        print(f"{'':>10}  Natural / Feed: median {medians:.2f}, p99 {p99(natural) / p99(feed):.2f}")
    _plot(parse_ms, readings, args.plot)


def _parses(queries: list[str], count: int) -> list[float]:
    rules = RulesParser()
    now = datetime.now(UTC)
    samples = []
    for number in range(count):
        started = time.perf_counter()
        rules.parse(queries[number % len(queries)], now)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _in_process(aura: Aura) -> dict[str, Call]:
    return {
        "Feed": lambda user, _, lat, lng: aura.recommender.feed(user, lat, lng, limit=LIMIT),
        "Natural": lambda user, query, lat, lng: aura.natural.search(
            user, query, lat, lng, limit=LIMIT
        ),
    }


def _through_grpc(stub: recommend_pb2_grpc.RecommendServiceStub) -> dict[str, Call]:
    return {
        "Feed": lambda user, _, lat, lng: stub.Feed(
            recommend_pb2.FeedRequest(user_id=user, lat=lat, lng=lng, limit=LIMIT)
        ),
        "Natural": lambda user, query, lat, lng: stub.Natural(
            recommend_pb2.NaturalRequest(user_id=user, query=query, lat=lat, lng=lng, limit=LIMIT)
        ),
    }


def _pairs(calls: dict[str, Call], queries: list[str], pairs: int) -> dict[str, list[float]]:
    """A Feed and a Natural for one user and place, `pairs` times; every other pair puts
    Natural first. The first pairs warm up (connections, the catalog index) uncounted."""
    rng = random.Random(6)
    timings: dict[str, list[float]] = {name: [] for name in calls}
    order = list(calls)
    for pair in range(-20, pairs):
        user, hood = f"bench-{rng.randrange(USERS)}", rng.choice(NEIGHBORHOODS)
        query = rng.choice(queries)
        for name in order if pair % 2 else reversed(order):
            started = time.perf_counter()
            calls[name](user, query, hood.lat, hood.lng)
            if pair >= 0:
                timings[name].append((time.perf_counter() - started) * 1000)
        if pair % 100 == 99:
            print(f"\r{pair + 1}/{pairs} pairs", end="", file=sys.stderr)
    print(file=sys.stderr)
    return timings


def _plot(parse_ms: list[float], readings: dict[str, dict[str, list[float]]], path: Path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 1 + len(readings), figsize=(5 + 4.5 * len(readings), 4))
    axes[0].hist(parse_ms, bins=80)
    axes[0].axvline(
        p99(parse_ms), color="black", linestyle=":", label=f"p99 {p99(parse_ms):.3f} ms"
    )
    axes[0].set_title("rules parse")
    axes[0].set_xlabel("ms")
    axes[0].legend()
    for axis, (reading, timings) in zip(axes[1:], readings.items(), strict=True):
        axis.boxplot(list(timings.values()), tick_labels=list(timings), showfliers=False)
        axis.set_title(f"{reading}, 5,000 events")
        axis.set_ylabel("ms")
    save(fig, path)


if __name__ == "__main__":
    main()
