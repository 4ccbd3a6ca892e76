"""The learning loop: rewards join the impression they answer and teach the bandit once.

- A reward-bearing behavior (purchase, like, share, save, click, skip, hide; the reward is
  the profile table's) or a SubmitReward joins its impression: the feed named by feed_id,
  else the user's newest impression of that event within `reward_window`. It is learned at
  once as a cb example over the impression's logged items, with the logged features and
  the propensity of the rewarded item. A reward that joins nothing is kept (the behavior is
  stored) and counted in the `unjoined_rewards` counter, not learned.
- A view waits `reward_wait` (10 minutes by default, like Azure Personalizer's); when no
  reward for that item arrives in time, it is learned once with the default reward 0.
- Exactly once: every example first claims a key in the store (`reward:<behavior_id>` for an
  action's reward, `reward:<behavior_id>:submitted` for an explicit SubmitReward on a logged
  behavior, `default:<feed_id>:<event_id>` for the default) and is learned only if the claim
  is new, whatever the retries and whichever process sees them.
- Every example is appended to the store's learning log, in the transaction of the
  behavior it comes from, and every process (worker or instance) replays the log in order
  on a learner thread of its own, off the answer path: its own examples as soon as they
  are committed, the others' every `AURA_MODEL_SYNC_SECONDS`. All replicas learn the same
  examples in the same order, so they stay identical without shipping models around.
- The model is saved to the store every `save_every` examples or `save_seconds` seconds
  (whichever comes first, when anything was learned) and on shutdown, with the log position
  it holds; at start the newest snapshot is loaded and the log after it replayed; an
  unreadable snapshot is logged and a fresh model replays what the log still holds.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from aura_server.domain.clock import utcnow
from aura_server.domain.impressions import ImpressionLog
from aura_server.domain.learning.actions import REWARD_ACTIONS
from aura_server.domain.learning.bandit import ContextualBandit
from aura_server.domain.models import Impression
from aura_server.domain.repository import LearnedExample, ModelSnapshot, PendingView, Repository
from aura_server.telemetry.metrics import metrics

log = logging.getLogger(__name__)

DEFAULT_REWARD = 0.0
LOG_GAP_GRACE_SECONDS = 5.0
# Log entries kept behind the newest snapshot, for replicas that lag behind.
LOG_TRIM_MARGIN = 10_000


@dataclass(frozen=True)
class LearningSettings:
    reward_window: timedelta = timedelta(hours=24)
    reward_wait: timedelta = timedelta(minutes=10)
    save_every: int = 200
    save_seconds: float = 60.0


def load_bandit(repo: Repository) -> tuple[ContextualBandit, int]:
    """The newest saved model and the last example of the learning log it holds, or a
    fresh model (which replays the whole log) when there is none or it cannot be read."""
    snapshot = repo.latest_model()
    if snapshot is None:
        return ContextualBandit(), 0
    try:
        bandit = ContextualBandit(snapshot.blob, learned=snapshot.learned)
    except Exception:  # VW raises plain RuntimeErrors, among others, on a corrupt file
        log.exception("model snapshot %s is unreadable; starting a fresh model", snapshot.version)
        return ContextualBandit(), 0
    log.info("loaded model %s", snapshot.version)
    return bandit, snapshot.last_seq


class LearningLoop:
    """Every example goes to the store's learning log first; every process replays the log
    in order (its own examples at once, the others' within `sync` polls), so all replicas
    of the model learn the same examples in the same order and stay identical."""

    def __init__(
        self,
        repo: Repository,
        bandit: ContextualBandit,
        settings: LearningSettings,
        last_seq: int = 0,
        impressions: ImpressionLog | None = None,
        sync_seconds: float = 0.2,
    ) -> None:
        self.repo = repo
        self.impressions = impressions or ImpressionLog(repo)
        self.bandit = bandit
        self.settings = settings
        self.cursor = last_seq  # the last log entry this replica has learned
        self._saved_learned = bandit.learned
        self._saved_at = time.monotonic()
        self._save_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self.sync_seconds = sync_seconds
        self._wake = threading.Event()  # examples of this process's were committed
        self._stopping = threading.Event()
        self._learner: threading.Thread | None = None
        self._learner_pid = 0
        self._learner_lock = threading.Lock()

    def join(self, user_id: str, event_id: str, feed_id: str, at: datetime) -> Impression | None:
        """The impression a behavior answers, or None."""
        if feed_id:
            impression = self.impressions.get(feed_id)
            if impression is None or impression.user_id != user_id:
                return None
            shown = any(item.event_id == event_id for item in impression.items)
            return impression if shown else None
        since = at - self.settings.reward_window
        return self.impressions.latest_with(user_id, event_id, since)

    def notify(self) -> None:
        """Examples were committed: the learner thread learns them now (it is started here
        on first use, and again in a forked worker: threads do not survive a fork)."""
        self.start()
        self._wake.set()

    def start(self) -> None:
        with self._learner_lock:
            alive = self._learner is not None and self._learner.is_alive()
            if alive and self._learner_pid == os.getpid():
                return
            self._stopping.clear()
            self._learner_pid = os.getpid()
            self._learner = threading.Thread(
                target=self._learn_on, name="aura-learner", daemon=True
            )
            self._learner.start()

    def _learn_on(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.sync_seconds)
            self._wake.clear()
            try:
                self.sync()
            except Exception:  # keep learning through a passing store outage
                log.exception("learning from the log failed; retrying")
                self._stopping.wait(1.0)

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until the model has learned everything in the log (for tests and
        simulations, which compare the model between calls)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sync() == 0:
                return True
        return False

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._learner is not None and self._learner_pid == os.getpid():
            self._learner.join(timeout=10)

    def observe(
        self,
        key: str | None,
        impression: Impression | None,
        user_id: str,
        event_id: str,
        action: str,
        reward: float,
        at: datetime,
    ) -> bool:
        """Learn from one stored behavior or reward, joined to `impression` (see join):
        claim `key` (None: a behavior stored just now, whose example cannot have been
        learned before) and append the example to the log. True when it did."""
        if action not in REWARD_ACTIONS and action != "view":
            return False
        if impression is None:
            if action != "view":
                self.repo.add_to_counter("unjoined_rewards")
                metrics().unjoined.inc()
            return False
        if action == "view":
            self.repo.add_pending_view(
                PendingView(impression.feed_id, event_id, user_id, at + self.settings.reward_wait)
            )
            return False
        self.repo.remove_pending_view(impression.feed_id, event_id)
        if key is not None and not self.repo.claim(key):
            return False
        self._learn(impression, event_id, reward)
        recorded = metrics()
        recorded.learned.labels("reward").inc()
        slot = next(item for item in impression.items if item.event_id == event_id)
        recorded.slot_rewards.labels("explored" if slot.explored else "greedy").inc(reward)
        return True

    def learn_due_defaults(self, now: datetime | None = None, batch: int = 500) -> int:
        """Learn the default reward for viewed items whose wait has run out."""
        learned = 0
        for view in self.repo.due_pending_views(now or utcnow(), batch):
            impression = self.impressions.get(view.feed_id)
            if impression is not None and self.repo.claim(
                f"default:{view.feed_id}:{view.event_id}"
            ):
                self._learn(impression, view.event_id, DEFAULT_REWARD)
                metrics().learned.labels("default").inc()
                learned += 1
            self.repo.remove_pending_view(view.feed_id, view.event_id)
        if learned:
            self.sync()
        return learned

    def _learn(self, impression: Impression, event_id: str, reward: float) -> None:
        actions = tuple(item.features for item in impression.items)
        for index, item in enumerate(impression.items):
            if item.event_id == event_id and item.features and impression.shared_features:
                self.repo.append_example(
                    LearnedExample(
                        impression.shared_features, actions, index, reward, item.propensity
                    )
                )
                return  # the caller syncs once it is committed

    def sync(self, batch: int = 500) -> int:
        """Learn the log entries this replica has not learned yet, in order. A gap (a
        number handed out but not written yet, possible with MongoDB) is waited for until
        the entry after it is LOG_GAP_GRACE old, then skipped and logged."""
        learned = 0
        with self._sync_lock:
            while True:
                entries = self.repo.examples_after(self.cursor, batch)
                for entry in entries:
                    if entry.seq != self.cursor + 1:
                        age = (utcnow() - entry.created_at).total_seconds()
                        if age < LOG_GAP_GRACE_SECONDS:
                            return learned
                        log.warning(
                            "learning log entries %d-%d never came; skipped",
                            self.cursor + 1,
                            entry.seq - 1,
                        )
                    example = entry.example
                    self.bandit.learn(
                        example.shared,
                        example.actions,
                        example.chosen,
                        example.reward,
                        example.propensity,
                    )
                    self.cursor = entry.seq
                    learned += 1
                if learned:
                    metrics().model_examples.set(self.bandit.learned)
                if len(entries) < batch:
                    return learned

    def save_if_due(self) -> bool:
        unsaved = self.bandit.learned - self._saved_learned
        overdue = time.monotonic() - self._saved_at >= self.settings.save_seconds
        if unsaved >= self.settings.save_every or (unsaved > 0 and overdue):
            self.save()
            return True
        return False

    def save(self) -> None:
        with self._save_lock:
            with self._sync_lock:  # the blob and the cursor must describe the same model
                blob, learned = self.bandit.to_bytes()
                cursor = self.cursor
            if learned == self._saved_learned and self.repo.latest_model() is not None:
                return
            self.repo.save_model(
                ModelSnapshot(f"cb-{learned}", utcnow(), learned, blob, last_seq=cursor)
            )
            # The log before the snapshot is only needed by a replica that lags far behind.
            self.repo.trim_examples(cursor - LOG_TRIM_MARGIN)
            self._saved_learned, self._saved_at = learned, time.monotonic()
            metrics().model_saved.set(time.time())
            log.info("saved model cb-%d (learning log up to %d)", learned, cursor)
