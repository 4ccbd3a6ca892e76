"""Prometheus metrics, shared by every worker (prometheus-client's multi-process mode).

The metrics are made on first use, not at import: multi-process mode is chosen when the
first metric is made, from PROMETHEUS_MULTIPROC_DIR, which `aura serve` sets (to a fresh
folder) before its workers fork.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from prometheus_client import Counter, Gauge, Histogram

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
AcrossWorkers = Literal["all", "sum", "min", "max"]
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(frozen=True)
class Series:
    """One Prometheus series: the attribute of `Metrics` that holds it, and its definition."""

    attribute: str
    kind: str  # counter, gauge or histogram
    name: str
    meaning: str
    labels: tuple[str, ...] = ()
    across_workers: AcrossWorkers = "all"  # how a gauge adds up over the workers


# The metrics, as the operators' reference lists them (`make docs`).
SERIES: tuple[Series, ...] = (
    Series(
        "requests",
        "counter",
        "aura_requests_total",
        "Calls answered, by RPC, door and status",
        ("rpc", "door", "code"),
    ),
    Series(
        "latency",
        "histogram",
        "aura_request_seconds",
        "Time to answer a call, by RPC and door",
        ("rpc", "door"),
    ),
    Series(
        "behaviors", "counter", "aura_behaviors_total", "Behaviors stored, by action", ("action",)
    ),
    Series("rewards", "counter", "aura_rewards_total", "Rewards recorded, by action", ("action",)),
    Series(
        "learned",
        "counter",
        "aura_examples_learned_total",
        "Examples the bandit learned: from a reward, or a view's default",
        ("source",),
    ),
    Series(
        "unjoined",
        "counter",
        "aura_rewards_unjoined_total",
        "Rewards that matched no impression (not learned)",
    ),
    Series(
        "slots",
        "counter",
        "aura_feed_slots_total",
        "Feed slots served, explored or greedy",
        ("choice",),
    ),
    Series(
        "feeds", "counter", "aura_feeds_total", "Feeds served, cold-start or learned", ("kind",)
    ),
    # A gauge, not a counter: skips and hides are negative rewards.
    Series(
        "slot_rewards",
        "gauge",
        "aura_slot_reward_sum",
        "Sum of the rewards joined to served slots, explored or greedy",
        ("choice",),
        "sum",
    ),
    Series(
        "engaged_categories",
        "counter",
        "aura_engagement_by_category_total",
        "Positive behaviors (click, save, like, share, purchase) by event category",
        ("category",),
    ),
    Series(
        "engaged_neighborhoods",
        "counter",
        "aura_engagement_by_neighborhood_total",
        "Positive behaviors by event neighborhood",
        ("neighborhood",),
    ),
    # Profiles are read from the store on every request (read-your-writes across
    # workers); the in-process copy serves only while the store is down.
    Series(
        "profile_reads",
        "counter",
        "aura_profile_reads_total",
        "Profile reads for a feed: from the store, the last-known copy, or none",
        ("source",),
    ),
    Series(
        "store_up", "gauge", "aura_store_up", "1 while the store answers the health ping", (), "min"
    ),
    Series(
        "model_examples",
        "gauge",
        "aura_model_examples",
        "Examples the served model has learned",
        (),
        "max",
    ),
    Series(
        "model_saved",
        "gauge",
        "aura_model_saved_timestamp_seconds",
        "When the newest model snapshot was saved",
        (),
        "max",
    ),
    Series(
        "catalog_events",
        "gauge",
        "aura_catalog_events",
        "Active events in the catalog index",
        (),
        "max",
    ),
    Series(
        "store_latency",
        "histogram",
        "aura_store_seconds",
        "Store calls, by operation",
        ("operation",),
    ),
    Series(
        "store_errors",
        "counter",
        "aura_store_errors_total",
        "Store calls that failed, by operation",
        ("operation",),
    ),
    Series(
        "llm",
        "counter",
        "aura_llm_parses_total",
        "LLM query parses: answered, cache hits, and failures by kind",
        ("outcome",),
    ),
)


class Metrics:
    """Every series of `SERIES`, made at once (see the module docstring for when)."""

    requests: Counter
    latency: Histogram
    behaviors: Counter
    rewards: Counter
    learned: Counter
    unjoined: Counter
    slots: Counter
    feeds: Counter
    slot_rewards: Gauge
    engaged_categories: Counter
    engaged_neighborhoods: Counter
    profile_reads: Counter
    store_up: Gauge
    model_examples: Gauge
    model_saved: Gauge
    catalog_events: Gauge
    store_latency: Histogram
    store_errors: Counter
    llm: Counter

    def __init__(self) -> None:
        for series in SERIES:
            setattr(self, series.attribute, _make(series))


def _make(series: Series) -> Any:
    import prometheus_client

    if series.kind == "histogram":
        return prometheus_client.Histogram(
            series.name, series.meaning, series.labels, buckets=LATENCY_BUCKETS
        )
    if series.kind == "gauge":
        return prometheus_client.Gauge(
            series.name, series.meaning, series.labels, multiprocess_mode=series.across_workers
        )
    return prometheus_client.Counter(series.name, series.meaning, series.labels)


_metrics: Metrics | None = None
_lock = threading.Lock()


def metrics() -> Metrics:
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                _metrics = Metrics()
    return _metrics


FOLDER_PREFIX = "aura-metrics-"


def share_between_processes() -> str:
    """Point prometheus-client at a fresh folder for the worker processes about to fork
    (call before any metric is made); returns it for `cleanup`. The folder is named after
    this process, and the folders of servers that died without cleaning up (a SIGKILL,
    an out-of-memory kill) go first: each would otherwise stay behind."""
    remove_orphaned_folders(tempfile.gettempdir())
    folder = tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-")
    os.environ[MULTIPROC_ENV] = folder
    return folder


def remove_orphaned_folders(parent: str) -> None:
    """Remove the metrics folders in `parent` whose server process is gone."""
    for path in Path(parent).glob(f"{FOLDER_PREFIX}*-*"):
        owner = path.name.removeprefix(FOLDER_PREFIX).split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def cleanup(folder: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def worker_exited(pid: int) -> None:
    """Drop a stopped worker's live gauges (its counters stay in the totals)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def exposition() -> tuple[bytes, str]:
    """The metrics text for /metrics: every worker's when they share a folder."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    metrics()  # the metrics exist (at zero) before the first call
    registry: Any = REGISTRY
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST
