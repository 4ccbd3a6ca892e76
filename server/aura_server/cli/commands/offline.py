"""`aura export` and `aura evaluate`: the decision log out of the store, and what other
exploration settings would have earned on it."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from aura_server.app import open_store
from aura_server.config import Settings
from aura_server.domain.clock import utcnow
from aura_server.domain.offline.decision_log import Decision, decisions
from aura_server.domain.offline.evaluation import PolicyEstimate, logged_slots
from aura_server.domain.offline.evaluation import evaluate as run_evaluation

FORMATS = ("dsjson", "jsonl")


def vw_features(line: str) -> dict[str, dict[str, float]]:
    """A VW text line ("shared |U a b:0.5 |T c") as DSJSON namespaces {"U": {"a": 1, ...}}."""
    namespaces: dict[str, dict[str, float]] = {}
    for part in line.split("|")[1:]:
        name, *features = part.split()
        values = namespaces.setdefault(name, {})
        for feature in features:
            key, _, value = feature.partition(":")
            values[key] = float(value) if value else 1.0
    return namespaces


def dsjson_lines(decision: Decision) -> Iterator[dict[str, Any]]:
    """One VW DSJSON decision per slot, as the learner saw it: the feed's shown items as
    the actions, the slot's item chosen with its logged probability, cost = -reward."""
    impression = decision.impression
    actions = [vw_features(item.features) for item in impression.items]
    if not impression.shared_features or not all(actions):
        return  # logged without learner features (nothing to learn from)
    shared = vw_features(impression.shared_features)
    for index, (item, reward) in enumerate(zip(impression.items, decision.rewards, strict=True)):
        yield {
            "_label_cost": -reward,
            "_label_probability": item.propensity,
            "_label_Action": index + 1,
            "_labelIndex": index,
            "Timestamp": impression.created_at.isoformat(),
            "Version": "1",
            "EventId": f"{impression.feed_id}:{index}",
            "a": [index + 1],
            "c": {**shared, "_multi": actions},
            "p": [item.propensity],
            "VWState": {"m": impression.model_version},
        }


def jsonl_line(decision: Decision) -> dict[str, Any]:
    impression = decision.impression
    return {
        "feed_id": impression.feed_id,
        "user_id": impression.user_id,
        "created_at": impression.created_at.isoformat(),
        "model_version": impression.model_version,
        "cold_start": bool(impression.context.get("cold_start", False)),
        "shared_features": impression.shared_features,
        "slots": [
            {
                "event_id": item.event_id,
                "position": item.position,
                "score": item.score,
                "reason": item.reason,
                "explored": item.explored,
                "propensity": item.propensity,
                "features": item.features,
                "reward": reward,
                "acted": acted,
            }
            for item, reward, acted in zip(
                impression.items, decision.rewards, decision.acted, strict=True
            )
        ],
    }


def export(decisions: Iterable[Decision], form: str, out: TextIO, progress: TextIO) -> int:
    """Write the log line by line; returns the lines written."""
    written = 0
    for feeds, decision in enumerate(decisions, start=1):
        lines = dsjson_lines(decision) if form == "dsjson" else [jsonl_line(decision)]
        for line in lines:
            out.write(json.dumps(line, separators=(",", ":")) + "\n")
            written += 1
        if feeds % 500 == 0:
            print(f"\rexported {feeds:,} feeds ({written:,} lines)", end="", file=progress)
    print(f"\rexported {written:,} lines", file=progress)
    return written


def report_table(results: list[PolicyEstimate], slots: int, since: datetime) -> str:
    lines = [
        f"reward per feed slot, estimated from {slots:,} logged slots since "
        f"{since:%Y-%m-%d %H:%M} UTC (95% intervals)",
        f"{'policy':<18} {'IPS':>24} {'SNIPS':>24} {'DR':>24} {'ESS':>9}",
    ]
    for result in results:
        cells = [
            f"{e.value:+.4f} [{e.low:+.4f}, {e.high:+.4f}]" if not math.isnan(e.value) else "-"
            for e in (result.ips, result.snips, result.dr)
        ]
        lines.append(
            f"{result.policy:<18} {cells[0]:>24} {cells[1]:>24} {cells[2]:>24} "
            f"{result.effective_sample_size:>9.0f}"
        )
    return "\n".join(lines)


def report_json(results: list[PolicyEstimate], slots: int, since: datetime) -> dict[str, Any]:
    return {
        "since": since.isoformat(),
        "slots": slots,
        "policies": [
            {
                "policy": r.policy,
                "effective_sample_size": r.effective_sample_size,
                **{
                    name: {"value": e.value, "low": e.low, "high": e.high}
                    for name, e in (("ips", r.ips), ("snips", r.snips), ("dr", r.dr))
                },
            }
            for r in results
        ],
    }


def plot(results: list[PolicyEstimate], path: Path) -> bool:
    """A PNG of the DR estimates with their intervals; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: install matplotlib (pip install 'aura-server[plots]')", file=sys.stderr)
        return False
    names = [r.policy for r in results]
    values = [r.dr.value for r in results]
    errors = [[r.dr.value - r.dr.low for r in results], [r.dr.high - r.dr.value for r in results]]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(names, values, yerr=errors, capsize=4, color=["grey", *["tab:blue"] * (len(names) - 1)])
    ax.set_ylabel("reward per feed slot (doubly robust, 95% CI)")
    ax.set_title("Offline evaluation: the logged policy and candidates")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def since(text: str) -> datetime:
    """--since: an ISO time (UTC when it names no zone) or a span back from now (7d, 12h)."""
    text = text.strip()
    units = {"d": "days", "h": "hours", "m": "minutes"}
    if text and text[-1] in units and text[:-1].replace(".", "", 1).isdigit():
        return utcnow() - timedelta(**{units[text[-1]]: float(text[:-1])})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: an ISO time or a span like 7d") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def export_log(args: argparse.Namespace, settings: Settings) -> int:
    repo = open_store(settings)
    window = timedelta(hours=settings.reward_window_hours)
    log = decisions(repo, args.since, utcnow(), window)
    try:
        if args.out == "-":
            export(log, args.format, sys.stdout, sys.stderr)
        else:
            with open(args.out, "w") as out:
                export(log, args.format, out, sys.stderr)
    finally:
        repo.close()
    return 0


def evaluate_log(args: argparse.Namespace, settings: Settings) -> int:
    try:
        rates = [float(rate) for rate in args.exploration.split(",") if rate.strip()]
    except ValueError:
        print("aura: --exploration takes rates like 0.05,0.15,0.3", file=sys.stderr)
        return 2
    if any(not 0 <= rate <= 1 for rate in rates):
        print("aura: --exploration rates must be between 0 and 1", file=sys.stderr)
        return 2
    if args.policy == "popularity":
        print(
            "aura: a popularity policy cannot be evaluated from these logs: it would show "
            "items the serving policy gave no chance (it explores by category among its "
            "scored candidates), and impressions do not record the candidates each slot "
            "was chosen from; see README, Offline evaluation",
            file=sys.stderr,
        )
        return 2
    if args.policy == "uniform":
        rates = [1.0]
    repo = open_store(settings)
    try:
        window = timedelta(hours=settings.reward_window_hours)
        slots = logged_slots(decisions(repo, args.since, utcnow(), window), settings.exploration)
    finally:
        repo.close()
    if len(slots) == 0:
        print("no logged feed slots in that window", file=sys.stderr)
        return 1
    results = run_evaluation(slots, rates)
    print(report_table(results, len(slots), args.since))
    report = Path(args.report)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(report_json(results, len(slots), args.since), indent=2))
    print(f"report: {report}", file=sys.stderr)
    if plot(results, report.with_suffix(".png")):
        print(f"plot: {report.with_suffix('.png')}", file=sys.stderr)
    return 0
