"""Where a served request's time goes: py-spy over the running workers under load.

Starts `aura serve` (the same store, users and request bodies as bench_ceiling.py), drives
one scenario at a time with scripts/loadgen.c (Feed for learned users, 30 items;
LogBehavior, each a new durable write that joins the user's last feed), records every
worker with `py-spy record --format raw` while it runs,
and sorts each sampled stack into the stage it is in: the innermost stage marker found
in the stack wins (a VW predict inside the ranking counts as VW, not as ranking). Only
threads that were running are sampled, so the shares are of CPU, not of wall time.

    python scripts/profile_served.py [--workers 2] [--duration 8] [--rate 200]

Prints, per scenario, each stage's share of the samples and writes
build/profile_served.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_ceiling import PATHS, aura_server, frames_per_kind, seed
from benchlib import BUILD, Load, drive, pyplot, save

# (stage, substrings of a frame that mark it), innermost stages first in the table's
# order; a stack's stage is the marker found deepest in it.
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("interceptor (auth, limits, deadline)", ("interceptor.py",)),
    ("metrics", ("prometheus_client", "telemetry/metrics.py")),
    ("request log line", ("telemetry/logs.py", "logging/__init__.py")),
    ("protobuf conversion", ("converters.py",)),
    ("user state (version check, kept profile)", ("user_state", "_read_state")),
    ("candidate selection (catalog index)", ("catalog_index.py",)),
    ("expected appeal and optimism", ("expected_appeal", "optimistic_scores")),
    ("pool (compiled)", ("candidate_pool",)),
    ("action features (VW text)", ("_action_features", "action_features", "ActionTexts")),
    ("VW parse and predict", ("predict_rewards",)),
    ("VW learn (learner thread)", ("ContextualBandit.learn",)),
    ("slate (compiled)", ("fill_slate",)),
    ("impression log (queued, written in batches)", ("impressions.py", "Serving.record")),
    ("behavior and reward logic", ("behaviors.py", "loop.py")),
    ("profile change, read and kept", ("profiles.py",)),
    ("exposure folded in", ("exposure.py",)),
    ("taste views and evidence", ("tastes.py",)),
    ("store statements and commits", ("store/sqlite.py", "group_commit.py")),
    ("JSON of stored documents", ("orjson", "documents.py")),
]


WAITING = "waiting (threads blocked, not on the CPU)"

# py-spy from PyPI, beside this interpreter (the venv's bin), else on PATH.
PY_SPY = (
    str(Path(sys.executable).with_name("py-spy"))
    if Path(sys.executable).with_name("py-spy").exists()
    else "py-spy"
)


# A stack whose innermost frame is one of these is a thread waiting, not working (py-spy
# cannot always tell an idle thread from a busy one).
WAITS = ("Condition.wait", "Event.wait", "select (", "_worker (", "sleep (", "Future.result")


def stage_of(stack: str) -> str:
    innermost = stack.rsplit(";", 1)[-1]
    if any(innermost.startswith(wait.split(" (")[0]) for wait in WAITS):
        return WAITING
    deepest, where = "other (gRPC core, threads, Python runtime)", -1
    for stage, markers in STAGES:
        for marker in markers:
            at = stack.rfind(marker)
            if at > where:
                deepest, where = stage, at
    return deepest


def record(pids: list[int], seconds: float, rate: int, folder: Path, name: str) -> Counter[str]:
    """py-spy on every worker for `seconds`; samples per stage."""
    spies = []
    outputs = []
    for pid in pids:
        output = folder / f"{name}-{pid}.txt"
        outputs.append(output)
        spies.append(
            subprocess.Popen(
                [
                    PY_SPY,
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    str(rate),
                    "--duration",
                    f"{seconds:g}",
                    "--format",
                    "raw",
                    "--output",
                    str(output),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    for spy in spies:
        spy.wait(timeout=seconds + 60)
    samples: Counter[str] = Counter()
    for output in outputs:
        if not output.exists():
            continue
        for line in output.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                samples[stage_of(stack)] += int(count)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--users", type=int, default=1000)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="aura-profile-"))
    print(f"seeding {args.users} learned users", file=sys.stderr)
    frames = frames_per_kind(seed(folder, args.users))
    scenarios = {kind: [Load(kind, PATHS[kind], frames[kind])] for kind in ("feed", "logbehavior")}
    report: dict[str, dict[str, object]] = {}
    with aura_server(folder, args.workers) as (port, _http_port, pids):
        for name, loads in scenarios.items():
            print(f"{name}: load and py-spy for {args.duration:g} s", file=sys.stderr)
            with ThreadPoolExecutor(1) as pool:
                running = pool.submit(drive, port, loads, args.duration + 2, folder)
                time.sleep(2.5)  # past the load's warm-up
                samples = record(pids, args.duration - 1, args.rate, folder, name)
                result = {"rps": running.result()[name].rps}
            waiting = samples.pop(WAITING, 0)
            total = sum(samples.values()) or 1
            shares = {stage: count / total for stage, count in samples.most_common()}
            report[name] = {
                "requests_per_s": result.get("rps", 0.0),
                "cpu_samples": total,
                "waiting_samples": waiting,
                "shares_of_cpu": shares,
            }
            print(
                f"\n{name}: {result.get('rps', 0.0):,.0f} requests/s; {total} samples on the "
                f"CPU ({waiting} more of threads waiting, left out)"
            )
            for stage, share in shares.items():
                print(f"  {share:6.1%}  {stage}")
    BUILD.mkdir(exist_ok=True)
    (BUILD / "profile_served.json").write_text(json.dumps(report, indent=2))
    print(f"\nwritten: {BUILD / 'profile_served.json'}")
    plot(report, BUILD / "profile_served.png")


def plot(report: dict[str, dict[str, object]], path: Path) -> None:
    """One horizontal bar chart per scenario: each stage's share of the CPU samples."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(report), figsize=(7 * len(report), 5))
    panels = list(axes) if len(report) > 1 else [axes]
    for ax, (name, result) in zip(panels, report.items(), strict=True):
        shares = result["shares_of_cpu"]
        assert isinstance(shares, dict)
        stages = list(shares)[::-1]
        ax.barh(stages, [100 * shares[stage] for stage in stages])
        ax.set_xlabel("% of CPU samples")
        ax.set_title(f"{name}: {result['requests_per_s']:,.0f} requests/s")
        ax.tick_params(axis="y", labelsize=8)
    save(fig, path)


if __name__ == "__main__":
    main()
