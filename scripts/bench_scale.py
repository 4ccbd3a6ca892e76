"""Feed latency and worker memory as the number of stored profiles grows.

Seeds one embedded store with --events demo events, then onboards users in steps up to
--users (10,000, 100,000, 1,000,000 by default). After each step it starts the real
server (`aura serve --workers N`), times --calls sequential Feed calls for random stored
users over gRPC (p50/p99), reads every worker's peak RSS, and stops it. It prints a table
and writes build/bench_scale.json and build/bench_scale.png.

    python scripts/bench_scale.py [--events 100000] [--users 10000,100000,1000000]
                                  [--workers 2] [--calls 500]
"""

from __future__ import annotations

import argparse
import io
import json
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import free_port, memory_mb, onboard_random, p99, pyplot, save, start_aura
from loadtest import BUILD, worker_pids


def onboard(repo_path: Path, first: int, last: int) -> None:
    from aura_server.app import Aura
    from aura_server.config import Settings
    from aura_server.store.sqlite import SQLiteRepository

    repo = SQLiteRepository(repo_path)
    aura = Aura.build(repo, Settings(llm_mode="off"))
    rng = random.Random(first)
    started = time.monotonic()
    for number in range(first, last):
        onboard_random(aura, f"user-{number}", rng)
        if (number + 1) % 10_000 == 0 or number + 1 == last:
            rate = (number + 1 - first) / (time.monotonic() - started)
            print(f"\ronboarded {number + 1:,}/{last:,} users ({rate:,.0f}/s)", end="")
            sys.stdout.flush()
    print()
    aura.close()


def measure(repo_path: Path, users: int, workers: int, calls: int) -> dict[str, Any]:
    import grpc
    from aura_client import AuraClient

    port = free_port()
    server = start_aura(repo_path, workers, port)
    try:
        client = AuraClient(f"127.0.0.1:{port}")
        grpc.channel_ready_future(client.channel).result(timeout=120)
        rng = random.Random(users)
        timings = []
        for call in range(calls + 20):
            user = f"user-{rng.randrange(users)}"
            started = time.perf_counter()
            client.feed(user_id=user, lat=40.72, lng=-73.98, limit=20)
            if call >= 20:  # the first calls warm caches
                timings.append((time.perf_counter() - started) * 1000)
        pids = worker_pids(server.pid) if workers > 1 else [server.pid]
        rss = [memory_mb(pid, "VmHWM") for pid in pids]
        client.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    return {
        "users": users,
        "p50_ms": statistics.median(timings),
        "p99_ms": p99(timings),
        "peak_rss_mb_per_worker": rss,
        "db_mb": repo_path.stat().st_size / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--users", default="10000,100000,1000000")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    steps = [int(step) for step in args.users.split(",")]

    from aura_server.cli.commands.catalog import seed_demo
    from aura_server.store.sqlite import SQLiteRepository

    repo_path = Path(tempfile.mkdtemp(prefix="aura-scale-")) / "aura.db"
    print(f"seeding {args.events:,} events into {repo_path}")
    seed_demo(SQLiteRepository(repo_path), count=args.events, out=io.StringIO())
    results = []
    stored = 0
    for users in steps:
        onboard(repo_path, stored, users)
        stored = users
        print(f"timing {args.calls} Feed calls with {users:,} stored profiles")
        result = measure(repo_path, users, args.workers, args.calls)
        results.append(result)
        print(
            f"  p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, peak rss per "
            f"worker {', '.join(f'{mb:.0f}' for mb in result['peak_rss_mb_per_worker'])} MB, "
            f"store {result['db_mb']:.0f} MB"
        )

    print(f"\n{'profiles':>10} {'p50 ms':>8} {'p99 ms':>8} {'max rss MB':>11}")
    for result in results:
        rss = max(result["peak_rss_mb_per_worker"])
        print(
            f"{result['users']:>10,} {result['p50_ms']:>8.1f} {result['p99_ms']:>8.1f} {rss:>11.0f}"
        )
    BUILD.mkdir(exist_ok=True)
    report = {"events": args.events, "workers": args.workers, "steps": results}
    (BUILD / "bench_scale.json").write_text(json.dumps(report, indent=2))
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    labels = [f"{r['users']:,}" for r in results]
    left.plot(labels, [r["p50_ms"] for r in results], marker="o", label="p50")
    left.plot(labels, [r["p99_ms"] for r in results], marker="o", label="p99")
    left.set_title(f"Feed latency, {args.events:,} events")
    left.set_xlabel("stored profiles")
    left.set_ylabel("ms (client side, sequential)")
    left.legend()
    right.bar(labels, [max(r["peak_rss_mb_per_worker"]) for r in results])
    right.axhline(300, color="red", linestyle="--", label="300 MB target")
    right.set_title("peak RSS of the largest worker (MB)")
    right.legend()
    save(fig, BUILD / "bench_scale.png")
    print(f"report: {BUILD / 'bench_scale.json'}")


if __name__ == "__main__":
    main()
