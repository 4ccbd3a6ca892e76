"""What each action a user takes is worth: the one table the profile, the learner, the
taste evidence and the trends read.

- reward: the learning table of the original design (a category score moves by
  CATEGORY_STEP x reward), the bandit's reward for the item, and the taste evidence.
- engagement: how much the action says "people want this" in the trends and popularity.

The table, with the score changes it makes, is shown in docs/concepts/learning.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActionValue:
    reward: float | None  # None: the action carries no reward (search)
    engagement: float


ACTION_VALUES: dict[str, ActionValue] = {
    "search": ActionValue(None, 0.0),
    "view": ActionValue(0.1, 0.5),
    "click": ActionValue(0.3, 1.0),
    "like": ActionValue(0.6, 2.0),
    "save": ActionValue(0.5, 2.0),
    "share": ActionValue(0.6, 3.0),
    "purchase": ActionValue(1.0, 5.0),
    "skip": ActionValue(-1.0 / 3.0, 0.0),
    "hide": ActionValue(-1.0, 0.0),
}
ACTIONS: tuple[str, ...] = tuple(ACTION_VALUES)
# Actions that reward the item they name and say something of the user's taste (a view
# waits for a reward; a search names no item).
REWARD_ACTIONS = frozenset(
    name for name, value in ACTION_VALUES.items() if value.reward is not None and name != "view"
)


def action_reward(action: str) -> float | None:
    return ACTION_VALUES[action].reward


def engagement_weight(action: str) -> float:
    value = ACTION_VALUES.get(action)
    return value.engagement if value is not None else 0.0
