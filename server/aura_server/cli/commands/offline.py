"""`aura export` and `aura evaluate`: the decision log out of the store, and what other
exploration settings (or, replayed on logged candidate sets, slate configurations) would
have earned on it."""

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
from aura_server.domain.offline.evaluation import (
    PolicyEstimate,
    SlateConfig,
    evaluate_replayed,
    logged_slots,
    replay,
)
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
    width = max([18, *(len(result.policy) for result in results)])
    lines = [
        f"reward per feed slot, estimated from {slots:,} logged slots since "
        f"{since:%Y-%m-%d %H:%M} UTC (95% intervals)",
        f"{'policy':<{width}} {'IPS':>24} {'SNIPS':>24} {'DR':>24} {'ESS':>9}",
    ]
    for result in results:
        cells = [
            f"{e.value:+.4f} [{e.low:+.4f}, {e.high:+.4f}]" if not math.isnan(e.value) else "-"
            for e in (result.ips, result.snips, result.dr)
        ]
        lines.append(
            f"{result.policy:<{width}} {cells[0]:>24} {cells[1]:>24} {cells[2]:>24} "
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


def slate_config(text: str) -> SlateConfig:
    """--candidate: "exploration=0.05,bandit_weight=0.3" (an unnamed one keeps the
    served value, filled in by evaluate_log)."""
    values: dict[str, float] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in ("exploration", "bandit_weight"):
            raise argparse.ArgumentTypeError(
                f"{part!r}: a candidate sets exploration=R and/or bandit_weight=W"
            )
        try:
            values[name] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r}: {name} takes a number") from None
    if not 0 <= values.get("exploration", 0.0) < 1 or values.get("bandit_weight", 0.0) < 0:
        raise argparse.ArgumentTypeError(
            f"{text!r}: exploration must be in [0, 1) and bandit_weight at least 0"
        )
    return SlateConfig(values.get("exploration", math.nan), values.get("bandit_weight", math.nan))


def evaluate_candidates(args: argparse.Namespace, settings: Settings) -> int:
    """Replay each --candidate on the feeds logged with their candidate sets."""
    configs = [
        SlateConfig(
            settings.exploration if math.isnan(c.exploration) else c.exploration,
            settings.bandit_weight if math.isnan(c.bandit_weight) else c.bandit_weight,
        )
        for c in args.candidate
    ]
    repo = open_store(settings)
    try:
        window = timedelta(hours=settings.reward_window_hours)
        replayed = replay(decisions(repo, args.since, utcnow(), window), configs)
    finally:
        repo.close()
    if len(replayed.slots) == 0:
        print(
            "no feeds logged with their candidate sets in that window: serve with "
            "AURA_CANDIDATE_LOG_SHARE above 0 (the share of learned feeds logged so)",
            file=sys.stderr,
        )
        return 1
    results = evaluate_replayed(replayed)
    print(report_table(results, len(replayed.slots), args.since))
    print(
        f"replaying the served configuration gives back the logged propensities to within "
        f"{replayed.replay_error:.1e}"
    )
    return write_report(args, results, len(replayed.slots))


def write_report(args: argparse.Namespace, results: list[PolicyEstimate], slots: int) -> int:
    report = Path(args.report)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(report_json(results, slots, args.since), indent=2))
    print(f"report: {report}", file=sys.stderr)
    if plot(results, report.with_suffix(".png")):
        print(f"plot: {report.with_suffix('.png')}", file=sys.stderr)
    return 0


def evaluate_log(args: argparse.Namespace, settings: Settings) -> int:
    if args.candidate:
        return evaluate_candidates(args, settings)
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
            "was chosen from; see docs/operations/evaluation.md",
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
    return write_report(args, results, len(slots))
