"""A short history of the metrics the dashboard draws, kept in the server so the page shows
what happened before it was opened.

Every SAMPLE_SECONDS each worker's REST door samples the metrics (the totals over every
worker, as /metrics gives them) and keeps the last KEEP_SECONDS of samples. With several
workers each also writes its samples to the shared metrics folder, and a request for the
history, whichever worker takes it, merges them all: a worker started a minute ago still
answers with the last 15 minutes. Only the families the dashboard draws are kept.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from aura_server.telemetry.metrics import MULTIPROC_ENV, exposition

log = logging.getLogger(__name__)
SAMPLE_SECONDS = 5.0
KEEP_SECONDS = 15 * 60
# What the dashboard's charts need (histogram buckets for p99, the rest for rates).
FAMILIES = (
    "aura_requests_total",
    "aura_request_seconds_bucket",
    "aura_feed_slots_total",
    "aura_slot_reward_sum",
    "aura_feeds_total",
)
Sample = dict[str, Any]  # {"t": epoch seconds, "samples": [{"name", "labels", "value"}]}


def current_sample() -> Sample:
    from prometheus_client.parser import text_string_to_metric_families

    text, _ = exposition()
    kept = []
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            if sample.name in FAMILIES and sample.value:
                kept.append({"name": sample.name, "labels": sample.labels, "value": sample.value})
    return {"t": time.time(), "samples": kept}


class MetricsHistory:
    def __init__(self, worker: str = "0", interval: float = SAMPLE_SECONDS) -> None:
        self.worker = worker
        self.interval = interval
        self._samples: deque[Sample] = deque(maxlen=int(KEEP_SECONDS / interval) + 1)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aura-history", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.record(current_sample())
            except Exception:  # a failed sample is a gap in a chart, not a stopped door
                log.exception("metrics history sample failed")

    def record(self, sample: Sample) -> None:
        with self._lock:
            self._samples.append(sample)
            snapshot = list(self._samples)
        folder = os.environ.get(MULTIPROC_ENV)
        if folder:  # for the other workers' doors
            path = Path(folder) / f"history-{self.worker}.json"
            spare = path.with_suffix(".tmp")
            spare.write_text(json.dumps(snapshot))
            spare.replace(path)

    def samples(self) -> list[Sample]:
        """The last KEEP_SECONDS of samples, every worker's, oldest first (one per
        interval: workers sample the same totals)."""
        with self._lock:
            found = list(self._samples)
        folder = os.environ.get(MULTIPROC_ENV)
        if folder:
            for path in Path(folder).glob("history-*.json"):
                try:
                    found += json.loads(path.read_text())
                except (OSError, ValueError):
                    continue  # being replaced, or a worker that left half a file
        cutoff = time.time() - KEEP_SECONDS
        merged: dict[int, Sample] = {}
        for sample in sorted(found, key=lambda s: float(s["t"])):
            if sample["t"] >= cutoff:
                merged.setdefault(int(sample["t"] // self.interval), sample)
        return list(merged.values())
