"""The impression log: what was shown to whom, written behind the answer.

A feed is answered before its impression is durable: the impression goes to a queue, and
one job in the store's next group commit writes everything queued by then in one
statement, so under load a commit carries dozens of feeds for the price of one. Until it
is written it waits here, where a reward that arrives first still finds it; once written
it is read back from the store (keeping the last few thousand here held some 120,000
objects that every garbage collection walked). Impressions the store refused (down, or
held by another process) are kept and tried again a few times; a feed whose impression
cannot be written is answered as degraded.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from datetime import datetime, timedelta

from aura_server.domain.clock import utcnow
from aura_server.domain.errors import StoreUnavailable
from aura_server.domain.models import Impression
from aura_server.domain.repository import Repository

log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0
MAX_ATTEMPTS = 5
MAX_PENDING = 50_000
FAILING_WAIT = 0.05
# An impression waiting this long (the write budget) while no write has gone through for as
# long means the store takes no writes. A writer that is only behind (busy, but writing)
# is not a stalled store: its lists are not degraded.
STALLED = timedelta(seconds=1.0)


class ImpressionLog:
    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._pending: dict[str, Impression] = {}  # not written yet, by feed_id
        self._attempts: dict[str, int] = {}
        self._queue: list[Impression] = []  # for the next job
        self._running: Future[None] | None = None  # the job in the store's queue
        self._next: Future[None] | None = None  # of callers whose impressions wait for one
        self._lock = threading.Lock()
        self._failing = False  # the last write was refused
        # When the store last ran a write of ours (committed or not yet): a store that
        # runs none is stalled, one that runs them late is only busy.
        self._last_written = time.monotonic()

    def log(self, impression: Impression) -> bool:
        """Keep the impression findable and write it in the store's next commit. Returns
        False when the store is failing or stalled and this write has not gone through
        within FAILING_WAIT (the caller waits that long: the store may be back). A writer
        that is only behind makes the caller wait as long, which lets it catch up, but the
        answer is True: the store works."""
        with self._lock:
            if len(self._pending) >= MAX_PENDING:
                raise StoreUnavailable("too many impressions waiting for the store")
            oldest = next(iter(self._pending.values()), None)
            self._pending[impression.feed_id] = impression
        behind = oldest is not None and utcnow() - oldest.created_at > STALLED
        stalled = behind and time.monotonic() - self._last_written > STALLED.total_seconds()
        done = self._queue_for_writing(impression)
        if not self._failing and not behind:
            return True
        try:
            # Failing, stalled or only behind, the caller waits a moment for its write:
            # the store may be back, and a writer that is behind catches up.
            done.result(timeout=FAILING_WAIT)
        except Exception:  # not yet, or refused: it stays pending and is tried again
            return not (self._failing or stalled)
        return True

    def _queue_for_writing(self, impression: Impression) -> Future[None]:
        """Queue the impression; returns the future of the job that will write it. One
        job runs at a time: what is logged meanwhile goes to the next one, submitted when
        the running one settles (by the writer, which is then awake anyway)."""
        with self._lock:
            self._queue.append(impression)
            if self._next is None:
                self._next = Future()
            job = self._next
            start = self._running is None
            if start:
                self._running, self._next = job, None
        if start:
            self._write_queue(job)
        return job

    def _write_queue(self, job: Future[None]) -> None:
        taken: list[Impression] = []  # what this job wrote (or tried to)
        also: list[Future[None]] = []  # callers queued after it was submitted, before it ran

        def write_queued() -> None:
            with self._lock:
                taken.extend(self._queue)
                self._queue = []
                if self._next is not None:
                    also.append(self._next)
                    self._next = None
            if taken:
                self.repo.insert_impressions(taken)
            self._last_written = time.monotonic()

        written = self.repo.submit(write_queued)
        written.add_done_callback(lambda outcome: self._settle(outcome, [job, *also], taken))

    def _settle(
        self, outcome: Future[None], jobs: list[Future[None]], taken: list[Impression]
    ) -> None:
        """After a job: its impressions leave the queue for good (or are retried later),
        its callers learn how it went, and what was queued meanwhile goes next."""
        error = outcome.exception()
        self._failing = error is not None
        with self._lock:
            if error is None:
                for impression in taken:
                    self._pending.pop(impression.feed_id, None)
                    self._attempts.pop(impression.feed_id, None)
            elif not taken:  # the job never ran (the store refused the transaction)
                taken, self._queue = self._queue, []
                if self._next is not None:
                    jobs.append(self._next)
                    self._next = None
            self._running = None
        if error is not None:
            for impression in taken:
                self._retry_later(impression, error)
        for job in jobs:
            if error is None:
                job.set_result(None)
            else:
                job.set_exception(error)
        with self._lock:
            following = None
            if self._queue and self._running is None:
                following = self._next or Future()
                self._running, self._next = following, None
        if following is not None:
            self._write_queue(following)

    def _retry_later(self, impression: Impression, error: BaseException) -> None:
        with self._lock:
            attempt = self._attempts.get(impression.feed_id, 1)
            if attempt >= MAX_ATTEMPTS:
                log.warning("impression %s not logged: %s", impression.feed_id, error)
                self._pending.pop(impression.feed_id, None)
                self._attempts.pop(impression.feed_id, None)
                return
            self._attempts[impression.feed_id] = attempt + 1
        retry = threading.Timer(RETRY_SECONDS * attempt, self._queue_for_writing, (impression,))
        retry.daemon = True
        retry.start()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every impression logged so far is written (or given up on)."""
        deadline = time.monotonic() + timeout
        while self._pending:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.002)
        return True

    def get(self, feed_id: str) -> Impression | None:
        with self._lock:
            found = self._pending.get(feed_id)
        return found if found is not None else self.repo.get_impression(feed_id)

    def latest_with(self, user_id: str, event_id: str, since: datetime) -> Impression | None:
        """The user's newest impression showing the event since `since`, pending or stored."""
        with self._lock:
            pending = [
                i
                for i in self._pending.values()
                if i.user_id == user_id
                and i.created_at >= since
                and any(item.event_id == event_id for item in i.items)
            ]
        if pending:
            return max(pending, key=lambda i: i.created_at)
        return self.repo.latest_impression_with(user_id, event_id, since)
