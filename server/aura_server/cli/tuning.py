"""How a serving process is tuned for throughput: the scheduler and the cycle collector.

Both were measured under load on the plain servers and on Aura (docs: Performance); the
benchmark's plain servers take the same tuning, so comparisons stay like for like.
"""

from __future__ import annotations

import contextlib
import gc
import os

# Python's cycle collector starts a young collection every 700 net allocations of container
# objects, and a request makes thousands: under load it ran many times a request's length,
# promoted the objects of requests in flight and so kept re-walking everything a worker
# keeps (the catalog, the kept profiles, the bandit's action lines). What exists once the worker
# is up is set aside for good (gc.freeze) and the young generation is collected every
# 50,000 allocations.
GC_THRESHOLDS = (50_000, 20, 100)


def schedule_for_throughput() -> None:
    """Linux: SCHED_BATCH for the calling thread and every thread it starts from now on (so
    call it first). Requests pass between threads (gRPC's poller, the handlers, the
    writer), and each hand-over woke a thread that preempted the one waking it while that
    one still held the interpreter lock, only to wait for the lock: twice the thread
    switches. A batch thread that is woken waits for the core's next turn instead."""
    if hasattr(os, "SCHED_BATCH"):
        with contextlib.suppress(OSError):  # not allowed here: the default policy stays
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def collect_garbage_for_serving() -> None:
    """Set aside what start-up built and collect cycles at a serving pace."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
