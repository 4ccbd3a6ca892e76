"""Load test: the real server with N workers, driven by a multi-process gRPC generator.

It seeds a fresh embedded store (the demo catalog and --users onboarded users), starts
`aura serve --workers N`, and runs three scenarios for --duration seconds each:
  ceiling  the health Check (the empty-RPC ceiling of this machine)
  feed     Feed only
  mixed    70% LogBehavior, 10% SubmitReward, 15% Feed, 5% Natural and Highlights
The generator is --clients processes, each with --concurrency calls in flight over its own
connections (asyncio gRPC), counting every call's gRPC status. It prints requests per second
and p50/p95/p99 per RPC, each scenario's throughput as a share of the ceiling, and CPU and
peak memory per worker; it writes build/loadtest.json and build/loadtest.png.

    python scripts/loadtest.py [--workers 2] [--duration 15] [--clients 2] [--concurrency 32]
                               [--rate R]  (open loop: R requests/s offered in all)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import (
    free_port,
    memory_mb,
    onboard_random,
    percentile,
    pyplot,
    save,
    start_aura,
)

CONNECTIONS_PER_CLIENT = 16  # SO_REUSEPORT spreads connections, not calls, over workers
BUILD = Path(__file__).resolve().parent.parent / "build"
QUERIES = [
    "jazz tonight",
    "free comedy this weekend",
    "techno in bushwick under $30",
    "yoga tomorrow morning",
    "art in chelsea",
]
MIXED = [
    ("LogBehavior", 0.70),
    ("SubmitReward", 0.10),
    ("Feed", 0.15),
    ("Natural", 0.03),
    ("Highlights", 0.02),
]


async def drive(
    port: int,
    scenario: str,
    seconds: float,
    concurrency: int,
    users: int,
    events: int,
    seed: int,
    rate: float,
) -> dict[str, Any]:
    from aura_client import AsyncAuraClient, AuraError
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from aura_server.domain.taxonomy import NEIGHBORHOODS

    rng = random.Random(seed)
    # One connection each (a local subchannel pool), no deadline: the load decides.
    clients = [
        AsyncAuraClient(
            f"127.0.0.1:{port}", timeout=None, options=[("grpc.use_local_subchannel_pool", 1)]
        )
        for _ in range(CONNECTIONS_PER_CLIENT)
    ]
    health = [health_pb2_grpc.HealthStub(client.channel) for client in clients]
    latencies: dict[str, list[float]] = {}
    statuses: dict[str, int] = {}
    began = time.monotonic()
    deadline = began + seconds
    in_flight = [0] * len(clients)
    sent = [0]

    def pick() -> str:
        if scenario == "ceiling":
            return "Check"
        if scenario == "feed":
            return "Feed"
        roll, total = rng.random(), 0.0
        for name, share in MIXED:
            total += share
            if roll < total:
                return name
        return "Feed"

    async def one(worker: int) -> None:
        while time.monotonic() < deadline:
            scheduled = time.monotonic()
            if rate > 0:
                # Open loop: calls leave on a fixed schedule, so latency is measured at an
                # offered load rather than at whatever the server can keep up with.
                # Latency counts from the scheduled moment, so a call held back because
                # every slot was busy is not hidden (no coordinated omission).
                scheduled = began + sent[0] / rate
                sent[0] += 1
                if scheduled > time.monotonic():
                    await asyncio.sleep(scheduled - time.monotonic())
            name = pick()
            # The connection with the fewest calls in flight, as a least-request balancer
            # would choose: round robin would split calls by how many connections the
            # kernel happened to give each worker, and the busier worker would set the pace.
            lane = min(range(len(clients)), key=lambda n: (in_flight[n], (n - worker) % 97))
            in_flight[lane] += 1
            client = clients[lane]
            user = f"load-{rng.randrange(users)}"
            hood = rng.choice(NEIGHBORHOODS)
            event_id = f"demo-{rng.randrange(events):05d}"
            started = min(time.monotonic(), scheduled)
            try:
                if name == "Check":
                    await health[lane].Check(health_pb2.HealthCheckRequest())
                elif name == "Feed":
                    await client.feed(user_id=user, lat=hood.lat, lng=hood.lng, limit=20)
                elif name == "LogBehavior":
                    await client.log_behavior(user_id=user, action="view", event_id=event_id)
                elif name == "SubmitReward":
                    await client.submit_reward(user_id=user, event_id=event_id, action="like")
                elif name == "Natural":
                    query = rng.choice(QUERIES)
                    await client.natural(
                        user_id=user, query=query, lat=hood.lat, lng=hood.lng, limit=20
                    )
                else:
                    await client.highlights(user_id=user, lat=hood.lat, lng=hood.lng)
                code = "OK"
            except AuraError as error:
                code = error.code.name
            in_flight[lane] -= 1
            latencies.setdefault(name, []).append((time.monotonic() - started) * 1000)
            statuses[f"{name}:{code}"] = statuses.get(f"{name}:{code}", 0) + 1

    await asyncio.gather(*(one(n) for n in range(concurrency)))
    for client in clients:
        await client.close()
    return {"latencies": latencies, "statuses": statuses}


def client_process(
    args: tuple[int, str, float, int, int, int, int, float],
) -> dict[str, Any]:
    return asyncio.run(drive(*args))


def worker_pids(parent: int) -> list[int]:
    children = Path(f"/proc/{parent}/task/{parent}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else [parent]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seed(folder: Path, users: int, events: int) -> None:
    from aura_server.app import Aura
    from aura_server.cli.commands.catalog import seed_demo
    from aura_server.config import Settings
    from aura_server.store.sqlite import SQLiteRepository

    repo = SQLiteRepository(folder / "aura.db")
    seed_demo(repo, count=events, out=io.StringIO())
    aura = Aura.build(repo, Settings(llm_mode="off"))
    rng = random.Random(1)
    for number in range(users):
        onboard_random(aura, f"load-{number}", rng)
        if number % 1000 == 999:
            print(f"\ronboarded {number + 1}/{users} users", end="", file=sys.stderr)
    print(file=sys.stderr)
    aura.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="offered requests/s in all for the feed and mixed scenarios (default: as fast "
        "as the server answers, --concurrency calls in flight per client)",
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="aura-load-"))
    print(f"seeding {args.events} events and {args.users} users into {folder}", file=sys.stderr)
    seed(folder, args.users, args.events)
    port = free_port()
    server = start_aura(folder / "aura.db", args.workers, port)
    time.sleep(3 + args.workers)
    pids = worker_pids(server.pid) if args.workers > 1 else [server.pid]
    report: dict[str, Any] = {
        "workers": args.workers,
        "clients": args.clients,
        "concurrency": args.concurrency,
        "users": args.users,
        "events": args.events,
        "offered_rate": args.rate,
        "scenarios": {},
    }
    try:
        for scenario in ("ceiling", "feed", "mixed"):
            print(f"scenario {scenario}: {args.duration:.0f} s", file=sys.stderr)
            cpu_before = {pid: cpu_seconds(pid) for pid in pids}
            started = time.monotonic()
            rate = args.rate / args.clients if scenario != "ceiling" else 0.0
            jobs = [
                (port, scenario, args.duration, args.concurrency, args.users, args.events, n, rate)
                for n in range(args.clients)
            ]
            with multiprocessing.get_context("spawn").Pool(args.clients) as pool:
                results = pool.map(client_process, jobs)
            elapsed = time.monotonic() - started
            latencies: dict[str, list[float]] = {}
            statuses: dict[str, int] = {}
            for result in results:
                for name, samples in result["latencies"].items():
                    latencies.setdefault(name, []).extend(samples)
                for key, count in result["statuses"].items():
                    statuses[key] = statuses.get(key, 0) + count
            total = sum(len(s) for s in latencies.values())
            report["scenarios"][scenario] = {
                "requests_per_second": total / args.duration,
                "wall_seconds": elapsed,
                "statuses": statuses,
                "rpcs": {
                    name: {
                        "count": len(samples),
                        "p50_ms": percentile(samples, 50),
                        "p95_ms": percentile(samples, 95),
                        "p99_ms": percentile(samples, 99),
                    }
                    for name, samples in sorted(latencies.items())
                },
                "workers": {
                    str(pid): {
                        "cpu_percent": 100 * (cpu_seconds(pid) - cpu_before[pid]) / args.duration,
                        "peak_rss_mb": memory_mb(pid, "VmHWM"),
                    }
                    for pid in pids
                },
            }
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

    ceiling = report["scenarios"]["ceiling"]["requests_per_second"]
    for scenario, result in report["scenarios"].items():
        result["share_of_ceiling"] = result["requests_per_second"] / ceiling if ceiling else 0
        print(
            f"\n{scenario}: {result['requests_per_second']:.0f} requests/s "
            f"({result['share_of_ceiling']:.0%} of the ceiling)"
        )
        for name, rpc in result["rpcs"].items():
            print(
                f"  {name:>13}: {rpc['count']:>7} calls  p50 {rpc['p50_ms']:6.1f}  "
                f"p95 {rpc['p95_ms']:6.1f}  p99 {rpc['p99_ms']:6.1f} ms"
            )
        failures = {k: v for k, v in result["statuses"].items() if not k.endswith(":OK")}
        print(f"  errors: {failures or 'none'}")
        for pid, usage in result["workers"].items():
            print(
                f"  worker {pid}: cpu {usage['cpu_percent']:.0f}%, "
                f"peak rss {usage['peak_rss_mb']:.0f} MB"
            )
    BUILD.mkdir(exist_ok=True)
    (BUILD / "loadtest.json").write_text(json.dumps(report, indent=2))
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    names = list(report["scenarios"])
    left.bar(names, [report["scenarios"][n]["requests_per_second"] for n in names])
    left.set_title(f"requests/s, {args.workers} workers")
    mixed = report["scenarios"]["mixed"]["rpcs"]
    right.bar(list(mixed), [r["p99_ms"] for r in mixed.values()], label="p99")
    right.bar(list(mixed), [r["p50_ms"] for r in mixed.values()], label="p50")
    right.set_title("mixed load latency (ms)")
    right.legend()
    save(fig, BUILD / "loadtest.png")
    print(f"report: {BUILD / 'loadtest.json'}")


if __name__ == "__main__":
    main()
