"""Memory of `aura serve` under a long run of mixed traffic: each worker's RSS over time.

Seeds --users learned users (as bench_ceiling.py does), starts `aura serve`, offers the
mixed scenario of bench_ceiling.py (70% LogBehavior, 10% SubmitReward, 15% Feed, 5%
Natural and Highlights) open loop at --rate calls/s for --seconds, and prints every
worker's resident memory every --every seconds, then what was served.

    python scripts/soak_served.py [--seconds 600] [--rate 500] [--users 2000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_ceiling import aura_server, mixed_loads, seed
from benchlib import drive, memory_mb


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--rate", type=float, default=500.0, help="mixed calls offered per s")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--every", type=float, default=30.0, help="seconds between readings")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="aura-soak-"))
    print(f"seeding {args.users} learned users into {folder}", file=sys.stderr)
    users = seed(folder, args.users)
    with aura_server(folder, args.workers) as (port, _http_port, pids):
        with ThreadPoolExecutor(1) as pool:
            loads = mixed_loads(users, args.rate)
            running = pool.submit(drive, port, loads, args.seconds, folder, 0.0)
            started = time.monotonic()
            while not running.done():
                readings = ", ".join(f"{memory_mb(pid):.0f}" for pid in pids)
                print(f"{time.monotonic() - started:6.0f} s  RSS MB per worker: {readings}")
                sys.stdout.flush()
                running_for = time.monotonic() - started
                time.sleep(min(args.every, max(args.seconds - running_for, 0.5)))
            results = running.result()
        readings = ", ".join(f"{memory_mb(pid):.0f}" for pid in pids)
        print(f"{time.monotonic() - started:6.0f} s  RSS MB per worker: {readings} (the end)")
    for name, result in results.items():
        print(
            f"{name:<12} {result.rps:7.0f}/s  p99 {result.percentile(99):7.1f} ms  "
            f"{result.errors or 'no errors'}"
        )


if __name__ == "__main__":
    main()
