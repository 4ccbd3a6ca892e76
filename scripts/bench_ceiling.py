"""Aura against plain servers doing the same essential work, measured in the same run.

Speed here moves 2x from day to day (and by a quarter within minutes), so every figure is
a share of a bare grpcio health server (no Aura code) with as many processes as Aura has
workers, measured before and after everything else; shares are of the mean of the two.
Beside it, two anchors show what plain Python and numpy do on the same hardware that day
(scripts/bare_servers.py): a Feed that really ranks the catalog in numpy, and a
LogBehavior that is one durable SQLite insert per request.

Load comes from scripts/loadgen.c (C, on libnghttp2, so it takes little of the cores it
shares with the servers): every call carries the next of thousands of pre-encoded
requests, one user after another, and every answer's grpc-status is read.

Scenarios, each --duration seconds after a 2 s warm-up:
  ceiling           the bare grpcio health server
  bare feed         the plain ranking Feed (numpy over every event, top 30)
  bare logbehavior  one SQLite insert per request, WAL, synchronous=FULL
  health            Aura's grpc.health.v1 Check (through Aura's interceptor)
  feed              Feed for --users learned users (5 purchases each), 30 items
  logbehavior       LogBehavior: a click on an item of the user's last feed (so it joins
                    the impression and teaches the learner), each a new durable write
  mixed@S           70% LogBehavior, 10% SubmitReward, 15% Feed, 3% Natural, 2%
                    Highlights, offered at S x the ceiling (open loop, so p99 means
                    something); users go in groups through all five RPCs, so the same
                    users act and ask for feeds within the same second

    python scripts/bench_ceiling.py [--workers 2] [--duration 8] [--users 2000]

Prints a table (requests/s, share of the ceiling, p50/p99 end to end, Aura's own p99 for
the scenario's main RPC, non-OK answers) and writes build/bench_ceiling.json and .png.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import (
    BUILD,
    Load,
    LoadResult,
    drive,
    frame,
    free_port,
    onboard_random,
    pyplot,
    save,
    start_aura,
    wait_for_grpc,
)

BARE_SERVERS = Path(__file__).with_name("bare_servers.py")
PATHS = {
    "health": "/grpc.health.v1.Health/Check",
    "feed": "/aura.v1.RecommendService/Feed",
    "logbehavior": "/aura.v1.BehaviorService/LogBehavior",
    "reward": "/aura.v1.FeedbackService/SubmitReward",
    "natural": "/aura.v1.RecommendService/Natural",
    "highlights": "/aura.v1.RecommendService/Highlights",
}
# The mixed scenario's share of each RPC, and how many calls each user makes of it per
# round: 14 behaviors, 2 rewards, 3 feeds, and one Natural (three users in five) or
# Highlights (the others). Every load then goes through the users at the same pace.
MIX = {"logbehavior": 0.70, "reward": 0.10, "feed": 0.15, "natural": 0.03, "highlights": 0.02}
PER_ROUND = {"logbehavior": 14, "reward": 2, "feed": 3}
ACTIONS_IN_TURN = (
    "view", "click", "view", "skip", "click", "like", "view",
    "save", "click", "view", "skip", "click", "share", "view",
)  # fmt: skip
SERVED_RPC = {"feed": "Feed", "logbehavior": "LogBehavior", "health": "Check"}


@dataclass
class SeededUser:
    user_id: str
    lat: float
    lng: float
    feed_id: str  # a feed served at seeding, whose items the benchmark's behaviors act on
    items: list[str]  # its event ids, by position


def seed(folder: Path, count: int) -> list[SeededUser]:
    """The demo catalog and `count` onboarded users, each with a served feed and five
    purchases from it (so every one is out of the cold start), then a second feed."""
    from aura_server.app import Aura
    from aura_server.cli.commands.catalog import seed_demo
    from aura_server.config import Settings
    from aura_server.domain.taxonomy import NEIGHBORHOODS
    from aura_server.store.sqlite import SQLiteRepository

    repo = SQLiteRepository(folder / "aura.db")
    seed_demo(repo, out=io.StringIO())
    aura = Aura.build(repo, Settings(llm_mode="off"))
    rng = random.Random(1)
    users = []
    for number in range(count):
        user_id = f"bench-{number}"
        onboard_random(aura, user_id, rng)
        home = rng.choice(NEIGHBORHOODS)
        first = aura.recommender.feed(user_id, home.lat, home.lng, limit=10)
        for item in first.items[:5]:
            aura.behaviors.log(
                user_id, "purchase", event_id=item.event.event_id, feed_id=first.feed_id
            )
        feed = aura.recommender.feed(user_id, home.lat, home.lng, limit=30)
        items = [item.event.event_id for item in feed.items]
        users.append(SeededUser(user_id, home.lat, home.lng, feed.feed_id, items))
        if number % 100 == 99 or number + 1 == count:
            print(f"\rseeded {number + 1}/{count} users", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    aura.close()
    return users


def seeded_before(folder: Path) -> list[SeededUser]:
    """The users a previous run seeded in `folder` (--reuse): each with their newest
    30-item feed."""
    from aura_server.store.sqlite import SQLiteRepository

    repo = SQLiteRepository(folder / "aura.db")
    users = []
    for (user_id,) in repo._conn().execute(
        "SELECT user_id FROM users WHERE user_id LIKE 'bench-%' ORDER BY rowid"
    ):
        marks = [shown.mark for shown in repo.lists_after(user_id, None)]
        feeds = (repo.get_impression(mark.feed_id) for mark in marks[::-1])
        feed = next((f for f in feeds if f is not None and len(f.items) == 30), None)
        if feed is None:
            continue
        items = [item.event_id for item in feed.items]
        users.append(
            SeededUser(user_id, feed.context["lat"], feed.context["lng"], feed.feed_id, items)
        )
    repo.close()
    return users


def requests_of(user: SeededUser, turn: int) -> dict[str, Any]:
    """The user's requests of each kind for the `turn`-th call of that kind."""
    from aura.v1 import behavior_pb2, feedback_pb2, recommend_pb2, types_pb2

    position = 5 + turn % max(len(user.items) - 5, 1)  # not one of the five bought
    event_id = user.items[position % len(user.items)] if user.items else "demo-00000"
    action = ACTIONS_IN_TURN[turn % len(ACTIONS_IN_TURN)]
    queries = ("jazz tonight", "techno in bushwick under $30", "free comedy this weekend")
    return {
        "feed": recommend_pb2.FeedRequest(
            user_id=user.user_id, lat=user.lat, lng=user.lng, limit=30
        ),
        "logbehavior": behavior_pb2.LogBehaviorRequest(
            user_id=user.user_id,
            action=types_pb2.Action.Value(f"ACTION_{action.upper()}"),
            event_id=event_id,
            feed_id=user.feed_id,
            position=position,
        ),
        "reward": feedback_pb2.SubmitRewardRequest(
            user_id=user.user_id,
            event_id=event_id,
            action=types_pb2.ACTION_PURCHASE,
            feed_id=user.feed_id,
        ),
        "natural": recommend_pb2.NaturalRequest(
            user_id=user.user_id, query=queries[turn % len(queries)], limit=10
        ),
        "highlights": recommend_pb2.HighlightsRequest(
            user_id=user.user_id, lat=user.lat, lng=user.lng
        ),
    }


def frames_per_kind(users: list[SeededUser], rounds: int = 3) -> dict[str, list[bytes]]:
    """For the single-RPC scenarios: every user in turn, `rounds` times over."""
    from grpc_health.v1 import health_pb2

    frames: dict[str, list[bytes]] = {"health": [frame(health_pb2.HealthCheckRequest())]}
    for turn in range(rounds):
        for user in users:
            for kind, request in requests_of(user, turn).items():
                frames.setdefault(kind, []).append(frame(request))
    return frames


def mixed_loads(users: list[SeededUser], rate: float, group: int = 50) -> list[Load]:
    """The mixed scenario offered at `rate` calls/s. Users go in groups of `group`: within
    a group, each RPC's calls go round the users (one each, then the next round), and
    every load takes as long to go through a group, so each user's behaviors, rewards,
    feeds and search fall within the same second or so: the same users act and ask for
    feeds at the same moment, as people scrolling a feed do."""
    frames: dict[str, list[bytes]] = {kind: [] for kind in MIX}
    for start in range(0, len(users), group):
        members = list(enumerate(users))[start : start + group]
        for kind, repeat in PER_ROUND.items():
            for turn in range(repeat):
                frames[kind] += [frame(requests_of(u, turn)[kind]) for _, u in members]
        for number, user in members:
            search = "natural" if number % 5 < 3 else "highlights"
            frames[search].append(frame(requests_of(user, number)[search]))
    return [
        Load(kind, PATHS[kind], frames[kind], inflight=256, rate=rate * share)
        for kind, share in MIX.items()
    ]


@contextmanager
def bare(kind: str, workers: int, database: Path | None = None) -> Iterator[int]:
    """`workers` processes of a plain server (scripts/bare_servers.py) on one port."""
    port = free_port()
    command = [sys.executable, str(BARE_SERVERS), kind, str(port)]
    command += [str(database)] if database is not None else []
    servers = [subprocess.Popen(command) for _ in range(workers)]
    try:
        wait_for_grpc(port)
        time.sleep(1.0)  # every process up
        yield port
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)


@contextmanager
def aura_server(folder: Path, workers: int) -> Iterator[tuple[int, int, list[int]]]:
    """`aura serve` over the seeded store: the gRPC port, the operators' port (for
    /metrics) and the workers' process ids."""
    port, admin_port = free_port(), free_port()
    log = open(folder / "server.log", "w")  # noqa: SIM115 (closed with the server)
    server = start_aura(folder / "aura.db", workers, port, stderr=log, admin_port=admin_port)
    try:
        wait_for_grpc(port)
        time.sleep(1.0)  # every worker up
        children = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
        ).stdout.split()
        yield port, admin_port, [int(pid) for pid in children] or [server.pid]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        log.close()


def served_histogram(admin_port: int) -> dict[str, list[tuple[float, float]]]:
    """Aura's own latency histogram per RPC (gRPC door), as (upper bound s, count)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    buckets: dict[str, dict[float, float]] = {}
    pattern = r"^aura_request_seconds_bucket\{([^}]*)\} (\S+)$"
    for found in re.finditer(pattern, text, re.MULTILINE):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', found.group(1)))
        if labels.get("door") != "grpc":
            continue
        bound = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
        per_rpc = buckets.setdefault(labels["rpc"], {})
        per_rpc[bound] = per_rpc.get(bound, 0.0) + float(found.group(2))
    return {rpc: sorted(counts.items()) for rpc, counts in buckets.items()}


def served_p99_ms(before: list[tuple[float, float]], after: list[tuple[float, float]]) -> float:
    """The bucket bound under which 99% of the calls between two readings were answered."""
    earlier = dict(before)
    deltas = [(bound, count - earlier.get(bound, 0.0)) for bound, count in after]
    total = deltas[-1][1] if deltas else 0.0
    for bound, count in deltas:
        if total and count >= 0.99 * total:
            return bound * 1000
    return float("nan")


def first_calls(port: int, users: list[SeededUser]) -> dict[str, dict[str, float]]:
    """The first Natural and Feed after the start, against the median of the next 50 (ms,
    end to end from a Python client): what a lazily built table would cost."""
    import grpc
    from aura.v1 import recommend_pb2_grpc

    out = {}
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = recommend_pb2_grpc.RecommendServiceStub(channel)
        for name, kind in (("Natural", "natural"), ("Feed", "feed")):
            times = []
            for n in range(51):
                request = requests_of(users[n % len(users)], n)[kind]
                started = time.perf_counter()
                getattr(stub, name)(request)
                times.append((time.perf_counter() - started) * 1000)
            out[name] = {"first_ms": times[0], "next_median_ms": statistics.median(times[1:])}
    return out


@dataclass
class Row:
    result: LoadResult
    by_rpc: dict[str, LoadResult]
    served_p99_ms: float = float("nan")  # Aura's own, for the scenario's main RPC


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--inflight", type=int, default=16, help="calls in flight, closed loop")
    parser.add_argument(
        "--mixed-shares",
        default="0.02,0.04,0.06,0.1,0.3",
        help="offered mixed load, as shares of the ceiling (one scenario each)",
    )
    parser.add_argument(
        "--reuse", type=Path, help="a folder an earlier run seeded (its users, as they are now)"
    )
    parser.add_argument(
        "--only", default="", help="comma-separated scenarios to run (default: all)"
    )
    args = parser.parse_args()

    if args.reuse:
        folder = args.reuse
        users = seeded_before(folder)
    else:
        folder = Path(tempfile.mkdtemp(prefix="aura-ceiling-"))
        print(f"seeding {args.users} learned users into {folder}", file=sys.stderr)
        users = seed(folder, args.users)
    frames = frames_per_kind(users)
    rows: dict[str, Row] = {}

    def run(name: str, port: int, loads: list[Load], admin_port: int = 0) -> None:
        print(f"{name}: {args.duration:g} s", file=sys.stderr)
        before = served_histogram(admin_port) if admin_port else {}
        results = drive(port, loads, args.duration, folder)
        row = Row(LoadResult.merged(list(results.values())), results)
        rpc = SERVED_RPC.get(name)
        if admin_port and rpc:
            time.sleep(0.3)
            after = served_histogram(admin_port)
            row.served_p99_ms = served_p99_ms(before.get(rpc, []), after.get(rpc, []))
        rows[name] = row

    def closed(kind: str) -> list[Load]:
        return [Load(kind, PATHS[kind], frames[kind], inflight=args.inflight)]

    def ceiling(name: str) -> float:
        with bare("health", args.workers) as port:
            run(name, port, closed("health"))
        return rows[name].result.rps

    wanted = set(args.only.split(",")) if args.only else None

    def chosen(name: str) -> bool:
        return wanted is None or name.split("@")[0] in wanted

    first_ceiling = ceiling("ceiling")
    if chosen("bare feed"):
        with bare("feed", args.workers, folder / "aura.db") as port:
            run("bare feed", port, closed("feed"))
    if chosen("bare logbehavior"):
        with bare("logbehavior", args.workers, folder / "bare-behaviors.db") as port:
            run("bare logbehavior", port, closed("logbehavior"))
    with aura_server(folder, args.workers) as (port, admin_port, _pids):
        first = first_calls(port, users)
        for kind in ("health", "feed", "logbehavior"):
            if chosen(kind):
                run(kind, port, closed(kind), admin_port)
        for share in (float(s) for s in args.mixed_shares.split(",")):
            if chosen("mixed"):
                loads = mixed_loads(users, share * first_ceiling)
                run(f"mixed@{share:g}", port, loads, admin_port)
    mean_ceiling = (first_ceiling + ceiling("ceiling again")) / 2
    report(rows, mean_ceiling, args)
    for name, times in first.items():
        print(
            f"first {name} after the start: {times['first_ms']:.1f} ms; "
            f"the next 50: median {times['next_median_ms']:.1f} ms"
        )


def report(rows: dict[str, Row], ceiling: float, args: Any) -> None:
    lines = [
        f"{args.workers} workers, {args.users} users; bare ceiling {ceiling:,.0f} req/s "
        "(the mean of before and after)",
        f"{'scenario':<17} {'req/s':>8} {'share':>6} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'served p99':>10}  non-OK answers",
    ]
    document: dict[str, Any] = {}
    for name, row in rows.items():
        result = row.result
        share = result.rps / ceiling if ceiling else 0.0
        document[name] = {
            "requests_per_second": result.rps,
            "share_of_ceiling": share,
            "p50_ms": result.percentile(50),
            "p99_ms": result.percentile(99),
            "served_p99_ms": row.served_p99_ms,
            "errors": result.errors,
            "by_rpc": {
                rpc: {"requests_per_second": r.rps, "p99_ms": r.percentile(99), "errors": r.errors}
                for rpc, r in row.by_rpc.items()
            },
        }
        served = f"{row.served_p99_ms:.1f}" if row.served_p99_ms == row.served_p99_ms else ""
        lines.append(
            f"{name:<17} {result.rps:>8,.0f} {share:>6.3f} {result.percentile(50):>7.1f} "
            f"{result.percentile(99):>7.1f} {served:>10}  {result.errors or 'none'}"
        )
        if len(row.by_rpc) > 1:
            lines.append(
                "    p99 by RPC: "
                + ", ".join(
                    f"{rpc} {r.percentile(99):.1f} ms ({r.rps:,.0f}/s)"
                    for rpc, r in row.by_rpc.items()
                )
            )
    print("\n".join(lines))
    BUILD.mkdir(exist_ok=True)
    (BUILD / "bench_ceiling.json").write_text(
        json.dumps({"ceiling": ceiling, "workers": args.workers, "scenarios": document}, indent=2)
    )
    plot(document, ceiling)


def plot(document: dict[str, Any], ceiling: float) -> None:
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = list(document)
    shares = [document[n]["share_of_ceiling"] for n in names]
    anchors = ("ceiling", "bare")
    left.bar(names, shares, color=["#999" if n.startswith(anchors) else "#37c" for n in names])
    left.axhline(0.30, color="#c33", linestyle="--", label="target 0.30")
    left.set_title(f"share of the bare ceiling ({ceiling:,.0f} req/s)")
    left.legend()
    right.bar(names, [document[n]["p99_ms"] for n in names], label="p99")
    right.bar(names, [document[n]["p50_ms"] for n in names], label="p50")
    right.set_yscale("log")
    right.set_title("latency, end to end (ms)")
    right.legend()
    for ax in (left, right):
        ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    save(fig, BUILD / "bench_ceiling.png")


if __name__ == "__main__":
    main()
