"""Aura against the bare ceiling of this machine, measured in the same run.

Speed here moves 2x from day to day, so every figure is a share of a bare grpcio server
(health service only, no Aura code) run beside it with as many processes as Aura has
workers. Load comes from h2load (Debian's nghttp2-client: C, so the generator takes
little of the cores it shares with the server) sending pre-encoded gRPC frames, one
h2load per body so that many users are served at once. h2load counts any HTTP 200 as a
success, so every answer's gRPC status is checked in Aura's own metrics (requests by RPC
and status, read before and after each scenario).

Scenarios, each --duration seconds after a warm-up:
  ceiling      the bare grpcio health server (2 processes on SO_REUSEPORT), measured
               before and after the rest; shares are of the mean of the two
  health       Aura's grpc.health.v1 Check (through Aura's interceptors)
  feed         Feed for learned users (5 purchases each), 30 items, the demo catalog
  logbehavior  LogBehavior without behavior_id: each a new durable write
  mixed@S      70% LogBehavior, 10% SubmitReward, 15% Feed, 5% Natural and Highlights,
               offered at S x the ceiling (open loop, so p99 means something), for each S
               of --mixed-shares

    python scripts/bench_ceiling.py [--workers 2] [--duration 8] [--users 2000]

Prints a table (req/s, p50/p99, share of the ceiling, non-OK answers) and writes
build/bench_ceiling.json and build/bench_ceiling.png.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import free_port, onboard_random, percentile, pyplot, save, start_aura

BUILD = Path(__file__).resolve().parent.parent / "build"
BARE_SERVER = """
import sys
from concurrent import futures
import grpc
from grpc_health.v1 import health, health_pb2_grpc
server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=[("grpc.so_reuseport", 1)])
health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
server.add_insecure_port("127.0.0.1:" + sys.argv[1])
server.start()
server.wait_for_termination()
"""
HEALTH = "/grpc.health.v1.Health/Check"


@dataclass
class Load:
    """One h2load: a gRPC method and a request body, clients x streams in flight."""

    path: str
    body: bytes
    clients: int = 1
    streams: int = 4
    rps: float = 0.0  # per client; 0: as fast as answers come (closed loop)


@dataclass
class Result:
    name: str
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    http_errors: int = 0
    grpc_errors: dict[str, int] = field(default_factory=dict)
    by_rpc: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def percentile(self, q: int) -> float:
        return percentile(self.latencies_ms, q)


def frame(message: Any) -> bytes:
    """A gRPC length-prefixed message: uncompressed flag, 4-byte length, the bytes."""
    data = message.SerializeToString()
    return b"\x00" + len(data).to_bytes(4, "big") + data


def wait_for(port: int, timeout: float = 60.0) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
                return
            except grpc.RpcError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)


def h2load(port: int, loads: list[Load], seconds: float, folder: Path, name: str) -> Result:
    """Run every load at once for `seconds` (after a 2 s warm-up); latencies from the
    per-request logs, HTTP errors counted."""
    processes = []
    logs = []
    for number, load in enumerate(loads):
        body = folder / f"{name}-{number}.bin"
        body.write_bytes(load.body)
        log = folder / f"{name}-{number}.log"
        logs.append(log)
        command = [
            "h2load",
            f"http://127.0.0.1:{port}{load.path}",
            "-d",
            str(body),
            "-H",
            "content-type: application/grpc",
            "-H",
            "te: trailers",
            "-c",
            str(load.clients),
            "-m",
            str(load.streams),
            "-D",
            f"{seconds:g}",
            "--warm-up-time=2",
            f"--log-file={log}",
        ]
        if load.rps:
            command.append(f"--rps={max(load.rps, 0.1):g}")
        processes.append(
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
    for process in processes:
        process.wait(timeout=seconds + 60)
    result = Result(name, seconds)
    for log, load in zip(logs, loads, strict=True):
        rpc = load.path.rsplit("/", 1)[-1]
        for line in log.read_text().splitlines():
            _, status, micros = line.split("\t")[:3]
            if status == "0":  # still in flight when h2load stopped
                continue
            if status != "200":
                result.http_errors += 1
                continue
            result.latencies_ms.append(int(micros) / 1000)
            result.by_rpc[rpc] = result.by_rpc.get(rpc, 0) + 1
    return result


def grpc_codes(http_port: int) -> dict[tuple[str, str], float]:
    """Aura's answered calls by (rpc, code), over every worker."""
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    counts: dict[tuple[str, str], float] = {}
    for found in re.finditer(r"^aura_requests_total\{([^}]*)\} (\S+)$", text, re.MULTILINE):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', found.group(1)))
        key = (labels["rpc"], labels["code"])
        counts[key] = counts.get(key, 0.0) + float(found.group(2))
    return counts


@contextmanager
def bare_ceiling(workers: int) -> Iterator[int]:
    port = free_port()
    servers = [
        subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(port)]) for _ in range(workers)
    ]
    try:
        wait_for(port)
        yield port
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)


def seed(folder: Path, users: int, learned: int) -> list[str]:
    """The demo catalog and `users` onboarded users; the first `learned` of them with five
    purchases each (out of the cold start). Returns the learned users' ids."""
    from aura_server.app import Aura
    from aura_server.cli.commands.catalog import seed_demo
    from aura_server.config import Settings
    from aura_server.store.sqlite import SQLiteRepository

    repo = SQLiteRepository(folder / "aura.db")
    seed_demo(repo, out=io.StringIO())
    aura = Aura.build(repo, Settings(llm_mode="off"))
    rng = random.Random(1)
    ids = []
    for number in range(users):
        user = f"bench-{number}"
        onboard_random(aura, user, rng)
        if number < learned:
            feed = aura.recommender.feed(user, None, None, limit=10)
            for item in feed.items[:5]:
                aura.behaviors.log(
                    user, "purchase", event_id=item.event.event_id, feed_id=feed.feed_id
                )
            ids.append(user)
        if number % 500 == 499:
            print(f"\rseeded {number + 1}/{users} users", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    aura.close()
    return ids


@contextmanager
def aura_server(folder: Path, workers: int) -> Iterator[tuple[int, int, list[int]]]:
    port, http_port = free_port(), free_port()
    log = open(folder / "server.log", "w")  # noqa: SIM115 (closed with the server)
    server = start_aura(folder / "aura.db", workers, port, http_port, stderr=log)
    try:
        wait_for(port)
        time.sleep(1.0)  # every worker up
        children = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
        ).stdout.split()
        yield port, http_port, [int(pid) for pid in children] or [server.pid]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def bodies(users: list[str]) -> dict[str, list[bytes]]:
    from aura.v1 import behavior_pb2, feedback_pb2, recommend_pb2, types_pb2
    from grpc_health.v1 import health_pb2

    from aura_server.domain.taxonomy import NEIGHBORHOODS

    rng = random.Random(2)
    place = [rng.choice(NEIGHBORHOODS) for _ in users]
    return {
        "health": [frame(health_pb2.HealthCheckRequest())],
        "feed": [
            frame(recommend_pb2.FeedRequest(user_id=u, lat=h.lat, lng=h.lng, limit=30))
            for u, h in zip(users, place, strict=True)
        ],
        "logbehavior": [
            frame(
                behavior_pb2.LogBehaviorRequest(
                    user_id=u,
                    action=types_pb2.ACTION_CLICK,
                    event_id=f"demo-{rng.randrange(5000):05d}",
                )
            )
            for u in users
        ],
        "reward": [
            frame(
                feedback_pb2.SubmitRewardRequest(
                    user_id=u,
                    event_id=f"demo-{rng.randrange(5000):05d}",
                    action=types_pb2.ACTION_PURCHASE,
                )
            )
            for u in users
        ],
        "natural": [
            frame(recommend_pb2.NaturalRequest(user_id=u, query=q, limit=10))
            for u, q in zip(
                users, ["jazz tonight", "techno in bushwick under $30"] * 50, strict=False
            )
        ],
        "highlights": [
            frame(recommend_pb2.HighlightsRequest(user_id=u, lat=h.lat, lng=h.lng))
            for u, h in zip(users, place, strict=True)
        ],
    }


PATHS = {
    "feed": "/aura.v1.RecommendService/Feed",
    "logbehavior": "/aura.v1.BehaviorService/LogBehavior",
    "reward": "/aura.v1.FeedbackService/SubmitReward",
    "natural": "/aura.v1.RecommendService/Natural",
    "highlights": "/aura.v1.RecommendService/Highlights",
}
MIXED = {"logbehavior": 0.70, "reward": 0.10, "feed": 0.15, "natural": 0.03, "highlights": 0.02}


def first_calls(port: int, users: list[str]) -> dict[str, dict[str, float]]:
    """The first Natural and Feed after the start, against the median of the next 50 (ms,
    end to end from a Python client): what a lazily built table would cost."""
    import grpc
    from aura.v1 import recommend_pb2, recommend_pb2_grpc

    out = {}
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = recommend_pb2_grpc.RecommendServiceStub(channel)
        calls = {
            "Natural": lambda n: stub.Natural(
                recommend_pb2.NaturalRequest(user_id=users[n % len(users)], query="jazz tonight")
            ),
            "Feed": lambda n: stub.Feed(
                recommend_pb2.FeedRequest(
                    user_id=users[n % len(users)], lat=40.71, lng=-73.96, limit=30
                )
            ),
        }
        for name, call in calls.items():
            times = []
            for n in range(51):
                started = time.perf_counter()
                call(n)
                times.append((time.perf_counter() - started) * 1000)
            out[name] = {"first_ms": times[0], "next_median_ms": statistics.median(times[1:])}
    return out


def mixed_loads(frames: dict[str, list[bytes]], total_rps: float, processes: int) -> list[Load]:
    """`processes` h2loads offering `total_rps` in the mixed proportions, each its own user."""
    loads = []
    for kind, share in MIXED.items():
        count = max(1, round(processes * share))
        for number in range(count):
            body = frames[kind][number % len(frames[kind])]
            loads.append(Load(PATHS[kind], body, 1, 8, rps=total_rps * share / count))
    return loads


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--learned", type=int, default=64, help="users with 5 purchases")
    parser.add_argument("--streams", type=int, default=16, help="calls in flight per scenario")
    parser.add_argument(
        "--mixed-shares",
        default="0.02,0.05,0.1,0.4",
        help="offered mixed load, as shares of the ceiling (one scenario each)",
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="aura-ceiling-"))
    print(f"seeding {args.users} users ({args.learned} learned) into {folder}", file=sys.stderr)
    learned = seed(folder, args.users, args.learned)
    others = [f"bench-{n}" for n in range(args.learned, args.users)]
    frames = bodies(learned)
    writes = bodies(others[:64])
    results: dict[str, Result] = {}
    errors: dict[str, dict[str, float]] = {}

    def closed(kind: str, path: str, many: list[bytes], count: int = 16) -> list[Load]:
        per = max(1, args.streams // count)
        return [Load(path, many[n % len(many)], 1, per) for n in range(count)]

    def measure_ceiling(name: str) -> Result:
        print(f"{name}: bare grpcio health server", file=sys.stderr)
        with bare_ceiling(args.workers) as port:
            health = closed("health", HEALTH, frames["health"], 4)
            return h2load(port, health, args.duration, folder, name)

    # Measured before and after Aura: this machine's speed drifts within minutes.
    results["ceiling"] = measure_ceiling("ceiling")
    ceiling = results["ceiling"].rps
    with aura_server(folder, args.workers) as (port, http_port, _pids):
        first = first_calls(port, learned)
        scenarios = [
            ("health", closed("health", HEALTH, frames["health"], 4)),
            ("feed", closed("feed", PATHS["feed"], frames["feed"])),
            ("logbehavior", closed("logbehavior", PATHS["logbehavior"], writes["logbehavior"])),
        ]
        mixed_frames = {**frames, "logbehavior": writes["logbehavior"]}
        for share in (float(s) for s in args.mixed_shares.split(",")):
            loads = mixed_loads(mixed_frames, share * ceiling, 20)
            scenarios.append((f"mixed@{share:g}", loads))
        for name, loads in scenarios:
            print(f"{name}: {len(loads)} h2load x {args.duration:g} s", file=sys.stderr)
            before = grpc_codes(http_port)
            results[name] = h2load(port, loads, args.duration, folder, name)
            time.sleep(0.5)
            after = grpc_codes(http_port)
            errors[name] = {
                f"{rpc}:{code}": after[(rpc, code)] - before.get((rpc, code), 0)
                for rpc, code in after
                # CANCELLED: calls h2load left in flight when it stopped.
                if code not in ("OK", "CANCELLED")
                and after[(rpc, code)] > before.get((rpc, code), 0)
            }
    results["ceiling again"] = measure_ceiling("ceiling again")
    ceiling = (ceiling + results["ceiling again"].rps) / 2
    report(results, errors, ceiling, args)
    for name, times in first.items():
        print(
            f"first {name} after the start: {times['first_ms']:.1f} ms; "
            f"the next 50: median {times['next_median_ms']:.1f} ms"
        )


def report(
    results: dict[str, Result], errors: dict[str, dict[str, float]], ceiling: float, args: Any
) -> None:
    lines = [
        f"{args.workers} workers, {args.users} users; bare ceiling {ceiling:,.0f} req/s "
        "(the mean of before and after)",
        f"{'scenario':<13} {'req/s':>8} {'share':>6} {'p50 ms':>7} {'p99 ms':>7}  non-OK answers",
    ]
    rows = {}
    for name, result in results.items():
        share = result.rps / ceiling if ceiling else 0.0
        bad: dict[str, float] = dict(errors.get(name, {}))
        if result.http_errors:
            bad["HTTP non-200"] = result.http_errors
        rows[name] = {
            "requests_per_second": result.rps,
            "share_of_ceiling": share,
            "p50_ms": result.percentile(50),
            "p99_ms": result.percentile(99),
            "by_rpc": result.by_rpc,
            "errors": bad,
        }
        lines.append(
            f"{name:<13} {result.rps:>8,.0f} {share:>6.2f} {result.percentile(50):>7.1f} "
            f"{result.percentile(99):>7.1f}  {bad or 'none'}"
        )
    print("\n".join(lines))
    BUILD.mkdir(exist_ok=True)
    (BUILD / "bench_ceiling.json").write_text(
        json.dumps({"ceiling": ceiling, "workers": args.workers, "scenarios": rows}, indent=2)
    )
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    names = list(rows)
    left.bar(names, [rows[n]["share_of_ceiling"] for n in names])
    left.set_title(f"share of the bare ceiling ({ceiling:,.0f} req/s)")
    right.bar(names, [rows[n]["p99_ms"] for n in names], label="p99")
    right.bar(names, [rows[n]["p50_ms"] for n in names], label="p50")
    right.set_title("latency (ms)")
    right.legend()
    save(fig, BUILD / "bench_ceiling.png")


if __name__ == "__main__":
    main()
