"""A serving process's tuning: its threads are batch-scheduled and collect at a serving pace."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CHECK = """
import gc, os, threading
from aura_server.cli import tuning
tuning.schedule_for_throughput()
policies = []
worker = threading.Thread(target=lambda: policies.append(os.sched_getscheduler(0)))
worker.start(); worker.join()
tuning.collect_garbage_for_serving()
batch = policies[0] == os.SCHED_BATCH
print(batch, gc.get_threshold() == tuning.GC_THRESHOLDS, gc.get_freeze_count() > 0)
"""


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="SCHED_BATCH is Linux's")
def test_a_serving_process_and_the_threads_it_starts_are_tuned() -> None:
    # In a process of its own: the policy and the collector's pace stay with the process.
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["True", "True", "True"]
