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
- The model is saved to the store every `save_every` examples or `save_seconds` seconds
  (whichever comes first, when anything was learned) and on shutdown; the newest snapshot is
  loaded at start, and an unreadable one is logged and replaced by a fresh model.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from aura_server.domain.bandit import ContextualBandit
from aura_server.domain.models import Impression, utcnow
from aura_server.store.base import ModelSnapshot, PendingView, Repository

log = logging.getLogger(__name__)

REWARD_ACTIONS = frozenset({"purchase", "like", "share", "save", "click", "skip", "hide"})
DEFAULT_REWARD = 0.0


@dataclass(frozen=True)
class LearningSettings:
    reward_window: timedelta = timedelta(hours=24)
    reward_wait: timedelta = timedelta(minutes=10)
    save_every: int = 200
    save_seconds: float = 60.0


def load_bandit(repo: Repository) -> ContextualBandit:
    """The newest saved model, or a fresh one when there is none or it cannot be read."""
    snapshot = repo.latest_model()
    if snapshot is None:
        return ContextualBandit()
    try:
        bandit = ContextualBandit(snapshot.blob, learned=snapshot.learned)
    except Exception:  # VW raises plain RuntimeErrors, among others, on a corrupt file
        log.exception("model snapshot %s is unreadable; starting a fresh model", snapshot.version)
        return ContextualBandit()
    log.info("loaded model %s", snapshot.version)
    return bandit


class LearningLoop:
    def __init__(
        self, repo: Repository, bandit: ContextualBandit, settings: LearningSettings
    ) -> None:
        self.repo = repo
        self.bandit = bandit
        self.settings = settings
        self._saved_learned = bandit.learned
        self._saved_at = time.monotonic()
        self._save_lock = threading.Lock()

    def join(self, user_id: str, event_id: str, feed_id: str, at: datetime) -> Impression | None:
        """The impression a behavior answers, or None."""
        if feed_id:
            impression = self.repo.get_impression(feed_id)
            if impression is None or impression.user_id != user_id:
                return None
            shown = any(item.event_id == event_id for item in impression.items)
            return impression if shown else None
        return self.repo.latest_impression_with(user_id, event_id, at - self.settings.reward_window)

    def observe(
        self,
        key: str,
        user_id: str,
        event_id: str,
        action: str,
        feed_id: str,
        reward: float,
        at: datetime,
    ) -> bool:
        """Learn from one stored behavior or reward; True when it taught the model."""
        if action not in REWARD_ACTIONS and action != "view":
            return False
        impression = self.join(user_id, event_id, feed_id, at)
        if impression is None:
            if action != "view":
                self.repo.add_to_counter("unjoined_rewards")
            return False
        if action == "view":
            self.repo.add_pending_view(
                PendingView(impression.feed_id, event_id, user_id, at + self.settings.reward_wait)
            )
            return False
        self.repo.remove_pending_view(impression.feed_id, event_id)
        if not self.repo.claim(key):
            return False
        self._learn(impression, event_id, reward)
        return True

    def learn_due_defaults(self, now: datetime | None = None, batch: int = 500) -> int:
        """Learn the default reward for viewed items whose wait has run out."""
        learned = 0
        for view in self.repo.due_pending_views(now or utcnow(), batch):
            impression = self.repo.get_impression(view.feed_id)
            if impression is not None and self.repo.claim(
                f"default:{view.feed_id}:{view.event_id}"
            ):
                self._learn(impression, view.event_id, DEFAULT_REWARD)
                learned += 1
            self.repo.remove_pending_view(view.feed_id, view.event_id)
        return learned

    def _learn(self, impression: Impression, event_id: str, reward: float) -> None:
        actions = [item.features for item in impression.items]
        for index, item in enumerate(impression.items):
            if item.event_id == event_id and item.features and impression.shared_features:
                self.bandit.learn(
                    impression.shared_features, actions, index, reward, item.propensity
                )
                return

    def save_if_due(self) -> bool:
        unsaved = self.bandit.learned - self._saved_learned
        overdue = time.monotonic() - self._saved_at >= self.settings.save_seconds
        if unsaved >= self.settings.save_every or (unsaved > 0 and overdue):
            self.save()
            return True
        return False

    def save(self) -> None:
        with self._save_lock:
            blob, learned = self.bandit.to_bytes()
            if learned == self._saved_learned and self.repo.latest_model() is not None:
                return
            self.repo.save_model(ModelSnapshot(f"cb-{learned}", utcnow(), learned, blob))
            self._saved_learned, self._saved_at = learned, time.monotonic()
            log.info("saved model cb-%d", learned)
