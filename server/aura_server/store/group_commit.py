"""Group commit for the embedded store: one writer thread per process runs every write
transaction, many requests' work in one SQLite transaction.

A request hands its work (a function of repository calls) to the writer and waits for the
batch it lands in to commit, so it is acknowledged only once durable. The writer takes
whatever has queued, opens one transaction (one flock hand-over between processes, one
commit), runs each piece of work inside a savepoint of its own (a piece that fails is
rolled back alone; the others commit) and then wakes the waiting requests. Under load a
batch holds dozens of requests, which is what makes writes cheap; alone, a request waits
only for its own transaction, as before.

A store that cannot be written (another process holding the lock: a backup, a stuck
writer, a slow disk) answers within `budget` seconds with StoreUnavailable (UNAVAILABLE,
retryable) instead of hanging; reads do not pass through here and keep being served.

Work may ask for a callback once it is durable (`defer`, on the writer thread): it runs
after the batch commits, and not at all if that work or the batch is rolled back.

Work nobody waits for (`behind`: a feed's impression, written after the answer) does not
wake the writer: it goes with the next batch a request waits for, or after BEHIND_SECONDS
at the latest. Waking a thread per feed cost more than the impression's insert.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from aura_server.domain.errors import StoreUnavailable

log = logging.getLogger(__name__)
MAX_BATCH = 256
BEHIND_SECONDS = 0.005


@dataclass
class Job:
    work: Callable[[], Any]
    behind: bool = False  # nobody waits for it: it may wait for company (BEHIND_SECONDS)
    done: Future[Any] = field(default_factory=Future)
    queued_at: float = field(default_factory=time.monotonic)


class GroupCommitter:
    def __init__(
        self,
        begin: Callable[[float], Any],
        savepoint: Callable[[str], None],
        finish: Callable[[Any, bool], None],
        budget: float,
        behind_seconds: float = BEHIND_SECONDS,
    ) -> None:
        """begin(timeout) opens a write transaction (StoreUnavailable when the store
        cannot be had in time) and returns a handle; savepoint(sql) runs a SAVEPOINT
        statement; finish(handle, commit) commits or rolls back and releases the locks."""
        self._begin, self._savepoint, self._finish = begin, savepoint, finish
        self.budget = budget
        self.behind_seconds = behind_seconds
        self._jobs: deque[Job] = deque()
        self._waited_for = 0  # queued jobs that are not behind
        self._ready = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.thread_ident: int | None = None
        self._after_commit: list[Callable[[], None]] = []  # the running batch's, in order

    def submit(self, work: Callable[[], Any], behind: bool = False) -> Future[Any]:
        """Queue work for the next batch; `behind`: nobody waits for it, so it may wait
        up to BEHIND_SECONDS for other work to commit with."""
        job = Job(work, behind)
        with self._ready:
            if self._stopping:
                job.done.set_exception(StoreUnavailable("the store is closed"))
                return job.done
            if self._thread is None or not self._thread.is_alive():
                # Started lazily, and again in a forked worker (threads do not survive a
                # fork).
                self._thread = threading.Thread(target=self._run, name="aura-writer", daemon=True)
                self._thread.start()
            self._jobs.append(job)
            if not behind:
                self._waited_for += 1
                self._ready.notify()
            elif len(self._jobs) == 1:  # the writer may sleep without a deadline
                self._ready.notify()
        return job.done

    def in_batch(self) -> bool:
        """Whether the calling thread is the writer, running a batch's work."""
        return threading.get_ident() == self.thread_ident

    def defer(self, callback: Callable[[], None]) -> None:
        """On the writer thread: run `callback` once the running work is committed."""
        self._after_commit.append(callback)

    def run(self, work: Callable[[], Any]) -> Any:
        """Run work in the next batch and return its result once the batch is durable."""
        return self.submit(work).result(timeout=self.budget + 30)

    def close(self) -> None:
        with self._ready:
            self._stopping = True
            self._ready.notify()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        self.thread_ident = threading.get_ident()
        while True:
            with self._ready:
                while not self._stopping and (due := self._due()) is not None:
                    self._ready.wait(None if due == float("inf") else due)
                if not self._jobs:
                    return
                batch = [self._jobs.popleft() for _ in range(min(len(self._jobs), MAX_BATCH))]
                self._waited_for -= sum(not job.behind for job in batch)
            self._commit(batch)

    def _due(self) -> float | None:
        """How long the writer may still sleep (inf: until woken), None: run a batch now.
        Called holding the lock."""
        if not self._jobs:
            return float("inf")
        if self._waited_for:
            return None
        left = self._jobs[0].queued_at + self.behind_seconds - time.monotonic()
        return left if left > 0 else None

    def _commit(self, batch: list[Job]) -> None:
        oldest = min(job.queued_at for job in batch)
        try:
            handle = self._begin(max(self.budget - (time.monotonic() - oldest), 0.01))
        except StoreUnavailable as exc:
            for job in batch:
                job.done.set_exception(exc)
            return
        outcomes: list[tuple[bool, Any]] = []
        committed = False
        try:
            for number, job in enumerate(batch):
                self._savepoint(f"SAVEPOINT job{number}")
                deferred = len(self._after_commit)
                try:
                    outcomes.append((True, job.work()))
                    self._savepoint(f"RELEASE job{number}")
                except BaseException as exc:  # this request fails; the others go on
                    del self._after_commit[deferred:]
                    self._savepoint(f"ROLLBACK TO job{number}")
                    self._savepoint(f"RELEASE job{number}")
                    outcomes.append((False, exc))
            committed = True
        except StoreUnavailable as exc:  # a savepoint itself failed: the store is gone
            failure: BaseException = exc
        except Exception as exc:
            log.exception("group commit failed")
            failure = StoreUnavailable(f"sqlite: {exc}")
        try:
            self._finish(handle, committed)
        except StoreUnavailable as exc:
            committed, failure = False, exc
        callbacks, self._after_commit = self._after_commit, []
        if committed:
            for callback in callbacks:
                try:
                    callback()
                except Exception:
                    log.exception("a callback after a commit failed")
        for number, job in enumerate(batch):
            if not committed:
                job.done.set_exception(failure)
            elif outcomes[number][0]:
                job.done.set_result(outcomes[number][1])
            else:
                job.done.set_exception(outcomes[number][1])
