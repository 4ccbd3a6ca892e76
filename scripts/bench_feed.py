"""Feed latency on the demo catalog: median and p99 over N calls through a real channel.

By default it seeds a fresh embedded store with the 5,000-event demo catalog, starts the
gRPC server in this process on a free port and calls it over a loopback channel, so it
measures the whole request path (serialisation, gRPC, ranking, the impression write).
With --target it measures a server that is already running instead.

    python scripts/bench_feed.py [--calls 1000] [--users 50] [--target HOST:PORT]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import grpc
from aura.v1 import (
    onboarding_pb2,
    onboarding_pb2_grpc,
    recommend_pb2,
    recommend_pb2_grpc,
    types_pb2,
)
from benchlib import p99, pyplot, save

from aura_server.app import Aura
from aura_server.cli.commands.catalog import seed_demo
from aura_server.domain.taxonomy import CATEGORIES, NEIGHBORHOODS
from aura_server.grpc_api.server import GrpcServer
from aura_server.store.sqlite import SQLiteRepository


def plot(samples_ms: list[float], path: Path, title: str) -> None:
    plt = pyplot()

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(samples_ms, linewidth=0.6)
    left.set_xlabel("call")
    left.set_ylabel("latency (ms)")
    left.set_title("Feed latency per call")
    right.hist(samples_ms, bins=60)
    for name, value, style in (
        ("median", statistics.median(samples_ms), "--"),
        ("p99", p99(samples_ms), ":"),
    ):
        right.axvline(value, color="black", linestyle=style, label=f"{name} {value:.2f} ms")
    right.set_xlabel("latency (ms)")
    right.set_title("distribution")
    right.legend()
    fig.suptitle(title)
    save(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--target", default="", help="measure a running server instead")
    parser.add_argument("--plot", type=Path, default=Path("var/bench_feed.png"))
    args = parser.parse_args()

    server = None
    if args.target:
        target = args.target
    else:
        folder = Path(tempfile.mkdtemp(prefix="aura-bench-"))
        repo = SQLiteRepository(folder / "aura.db")
        print(f"seeding {args.events} demo events into {folder}", file=sys.stderr)
        seed_demo(repo, count=args.events)
        server = GrpcServer(Aura.build(repo).plane, host="127.0.0.1", port=0)
        server.start()
        target = f"127.0.0.1:{server.port}"

    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=30)
    onboarding = onboarding_pb2_grpc.OnboardingServiceStub(channel)
    recommend = recommend_pb2_grpc.RecommendServiceStub(channel)
    rng = random.Random(1)
    users = [f"bench-{i}" for i in range(args.users)]
    for user in users:
        hood = rng.choice(NEIGHBORHOODS)
        onboarding.Onboard(
            onboarding_pb2.OnboardRequest(
                user_id=user,
                intent=types_pb2.INTENT_EXPLORE,
                age=rng.randint(18, 60),
                neighborhood=hood.name,
                favorite_categories=rng.sample(CATEGORIES, 2),
            )
        )
    for user in users[:5]:  # warm-up: connections, the catalog index, code paths
        recommend.Feed(recommend_pb2.FeedRequest(user_id=user, limit=args.limit))

    samples_ms: list[float] = []
    items = 0
    for call in range(1, args.calls + 1):
        hood = rng.choice(NEIGHBORHOODS)
        request = recommend_pb2.FeedRequest(
            user_id=rng.choice(users), lat=hood.lat, lng=hood.lng, limit=args.limit
        )
        started = time.perf_counter()
        reply = recommend.Feed(request)
        samples_ms.append((time.perf_counter() - started) * 1000)
        items += len(reply.items)
        if call % 100 == 0:
            print(f"\r{call}/{args.calls} calls", end="", file=sys.stderr)
    print(file=sys.stderr)
    channel.close()
    if server is not None:
        server.stop(grace=0)

    median, tail = statistics.median(samples_ms), p99(samples_ms)
    print(
        f"Feed over {args.calls} calls ({args.events} events, limit {args.limit}, "
        f"{items / args.calls:.1f} items/feed): median {median:.2f} ms, p99 {tail:.2f} ms, "
        f"mean {statistics.fmean(samples_ms):.2f} ms, max {max(samples_ms):.2f} ms"
    )
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    plot(samples_ms, args.plot, f"Aura Feed latency, {args.events} events, sequential calls")


if __name__ == "__main__":
    main()
