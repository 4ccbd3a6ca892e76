"""Offline evaluation: what reward per feed slot another policy would have earned, estimated
from the logged slots, their propensities and rewards (counterfactual, no new traffic).

Each served slot is one logged decision: the item shown, the probability p the serving
policy had of showing it (exact, see slate.py) and its reward r. A candidate policy is
judged by the probability q it gives the same item in the same situation, and

    IPS   = mean(w r)                  w = q / p
    SNIPS = sum(w r) / sum(w)
    DR    = mean(m + w (r - m))        m: a reward model of the situation

with 95% intervals from the normal approximation (the delta method for SNIPS). The reward
model m is the mean logged reward at the slot's position: it depends on the situation
only, not on the item, which keeps DR unbiased whatever m is and lowers its variance when
m explains part of the reward.

The candidate policies are the serving policy's own family, for which q follows exactly
from what was logged: the slate policy with another configured exploration share e.
Each slot is logged with its own exploration probability e_slot (scaled from the
configured share e_log by the user's uncertainty and the slot's position, ranking.py);
under share e it would be e' = e_slot * e / e_log, so a greedy slot, logged with
p = 1 - e_slot, gets q = 1 - e'; an explored one, logged with p = e_slot * w / W, gets
q = p * e' / e_slot; a slot with nothing to explore has p = q = 1. `uniform` (e = 1)
explores every slot that can be explored (by the logged category weights), and
`greedy` (e = 0) none. Logs written before slots carried e_slot count the feed's rate,
read off its greedy slots, for every slot.

**Replaying another slate configuration.** For the share of learned feeds logged with
their candidate set (AURA_CANDIDATE_LOG_SHARE; models.CandidateSet: the pool's greedy
scores, optimistic scores, bandit estimates, categories and the variety caps), q can be
computed for configurations whose change acts through the slate: another exploration
share and another bandit weight. Each logged slot is replayed after the logged slots
above it (slate.slot_probabilities): q is the probability the candidate configuration
had of putting the logged item there, 0 where it could not have. Replaying the served
configuration gives back the logged propensities (`replay_error` says how closely: a
check that the log and the code agree). What changes the learner's beliefs (a taste
half-life, a prior) changes the scores themselves, which a log of one policy's scores
cannot replay; the learning simulators compare those.

A policy outside both families, such as ranking by popularity, gives a chance to items
the serving policy's pool did not hold; it cannot be estimated from these logs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from aura_server.domain.decision.slate import SlatePolicy, slot_probabilities
from aura_server.domain.models import CandidateSet
from aura_server.domain.offline.decision_log import Decision

FloatArray = npt.NDArray[np.float64]
Z95 = 1.959964


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float

    @classmethod
    def mean_of(cls, terms: FloatArray) -> Estimate:
        if len(terms) == 0:
            return cls(math.nan, math.nan, math.nan)
        mean = float(terms.mean())
        half = Z95 * float(terms.std(ddof=1)) / math.sqrt(len(terms)) if len(terms) > 1 else 0.0
        return cls(mean, mean - half, mean + half)


@dataclass(frozen=True)
class LoggedSlots:
    """The logged decisions as columns."""

    propensity: FloatArray  # p
    explored: npt.NDArray[np.bool_]
    reward: FloatArray  # r
    position: npt.NDArray[np.int64]
    epsilon: FloatArray  # the slot's exploration probability when it was served
    # The configured exploration share each slot's was scaled from (None: the same).
    configured: FloatArray | None = None

    def __len__(self) -> int:
        return len(self.reward)


def logged_slots(decisions: Iterable[Decision], default_epsilon: float) -> LoggedSlots:
    """Slot columns from joined decisions. In logs from before slots carried their own
    exploration probability, a feed's rate is read off its greedy slots (p = 1 - e), or
    taken as `default_epsilon` when none shows it, and stands for every slot."""
    propensity: list[float] = []
    explored: list[bool] = []
    reward: list[float] = []
    position: list[int] = []
    epsilon: list[float] = []
    configured: list[float] = []
    for decision in decisions:
        greedy = [i.propensity for i in decision.items if not i.explored and i.propensity < 1]
        feed_epsilon = 1.0 - greedy[0] if greedy else default_epsilon
        share = decision.impression.context.get("exploration")
        for item, value in zip(decision.items, decision.rewards, strict=True):
            if item.propensity <= 0:
                continue  # not a logged random choice (never expected)
            propensity.append(item.propensity)
            explored.append(item.explored)
            reward.append(value)
            position.append(item.position)
            if item.epsilon is None or share is None:
                epsilon.append(feed_epsilon)
                configured.append(feed_epsilon)
            else:
                epsilon.append(item.epsilon)
                configured.append(float(share))
    return LoggedSlots(
        np.array(propensity, dtype=np.float64),
        np.array(explored, dtype=bool),
        np.array(reward, dtype=np.float64),
        np.array(position, dtype=np.int64),
        np.array(epsilon, dtype=np.float64),
        np.array(configured, dtype=np.float64),
    )


def target_probability(slots: LoggedSlots, exploration: float) -> FloatArray:
    """q: the probability the slate policy with exploration share `exploration` gives
    each logged item in its situation."""
    nothing_to_explore = slots.propensity >= 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        if exploration >= 1.0:
            target = np.where(slots.epsilon > 0, 1.0, 0.0)
        else:
            configured = slots.epsilon if slots.configured is None else slots.configured
            ratio = np.where(configured > 0, exploration / configured, 0.0)
            target = np.minimum(slots.epsilon * ratio, 1.0)
        scale = np.where(slots.epsilon > 0, target / slots.epsilon, 0.0)
    greedy = np.where(nothing_to_explore, 1.0, 1.0 - target)
    explored = np.minimum(slots.propensity * scale, 1.0)
    return np.where(slots.explored, explored, greedy)


def position_baseline(slots: LoggedSlots) -> FloatArray:
    """m: the mean logged reward at each slot's position."""
    baseline = np.zeros(len(slots))
    for position in np.unique(slots.position):
        at = slots.position == position
        baseline[at] = slots.reward[at].mean()
    return baseline


@dataclass(frozen=True)
class PolicyEstimate:
    policy: str
    ips: Estimate
    snips: Estimate
    dr: Estimate
    effective_sample_size: float


def estimate(slots: LoggedSlots, policy: str, target: FloatArray) -> PolicyEstimate:
    weight = target / slots.propensity
    reward = slots.reward
    ips = Estimate.mean_of(weight * reward)
    total = float(weight.sum())
    if total > 0 and len(slots) > 1:
        value = float((weight * reward).sum()) / total
        mean_weight = total / len(slots)
        spread = float(np.mean((weight * (reward - value)) ** 2))
        half = Z95 * math.sqrt(spread / len(slots)) / mean_weight
        snips = Estimate(value, value - half, value + half)
    else:
        snips = Estimate(math.nan, math.nan, math.nan)
    baseline = position_baseline(slots)
    dr = Estimate.mean_of(baseline + weight * (reward - baseline))
    squares = float((weight**2).sum())
    ess = total**2 / squares if squares > 0 else 0.0
    return PolicyEstimate(policy, ips, snips, dr, ess)


def evaluate(slots: LoggedSlots, explorations: Iterable[float]) -> list[PolicyEstimate]:
    """The logged policy's own reward (as an estimate with q = p), then each candidate."""
    results = [estimate(slots, "logged", slots.propensity)]
    for rate in explorations:
        name = {0.0: "greedy", 1.0: "uniform"}.get(rate, f"exploration={rate:g}")
        results.append(estimate(slots, name, target_probability(slots, rate)))
    return results


@dataclass(frozen=True)
class SlateConfig:
    """A slate configuration replayed on logged candidate sets."""

    exploration: float
    bandit_weight: float

    @property
    def name(self) -> str:
        return f"exploration={self.exploration:g},bandit_weight={self.bandit_weight:g}"


@dataclass(frozen=True)
class Replayed:
    """The slots of the decisions logged with candidate sets, each configuration's q for
    them, and how far replaying the served configuration was from the logged p."""

    slots: LoggedSlots
    targets: dict[str, FloatArray]
    replay_error: float


def replay(decisions: Iterable[Decision], configs: Iterable[SlateConfig]) -> Replayed:
    """Replay each configuration on every decision that logged its candidate set."""
    configs = list(configs)
    kept: list[Decision] = []
    targets: dict[str, list[FloatArray]] = {config.name: [] for config in configs}
    served: list[FloatArray] = []
    for decision in decisions:
        slate = LoggedSlate.of(decision)
        if slate is None:
            continue
        share = float(decision.impression.context.get("exploration", 0.0))
        served.append(slate.targets(SlateConfig(share, slate.logged.bandit_weight)))
        for config in configs:
            targets[config.name].append(slate.targets(config))
        kept.append(decision)
    slots = logged_slots(kept, 0.0)
    replayed = np.concatenate(served) if served else np.zeros(0)
    error = float(np.abs(replayed - slots.propensity).max()) if len(replayed) else 0.0
    return Replayed(
        slots,
        {name: np.concatenate(q) if q else np.zeros(0) for name, q in targets.items()},
        error,
    )


@dataclass(frozen=True)
class LoggedSlate:
    """One decision's candidate set as arrays, read once and replayed per configuration."""

    logged: CandidateSet
    scores: FloatArray
    masks: npt.NDArray[np.int64]
    caps: npt.NDArray[np.int64]
    hopes: FloatArray
    bandit: FloatArray
    shown: npt.NDArray[np.int64]  # each slot's candidate index
    counted: npt.NDArray[np.bool_]  # the slots logged_slots keeps

    @classmethod
    def of(cls, decision: Decision) -> LoggedSlate | None:
        """None when the decision logged no candidate set (or a slate not of it)."""
        logged = decision.impression.candidates
        if logged is None:
            return None
        index = {event_id: i for i, event_id in enumerate(logged.event_ids)}
        if any(item.event_id not in index for item in decision.items):
            return None
        return cls(
            logged,
            np.array(logged.scores, dtype=np.float64),
            np.array(logged.masks, dtype=np.int64),
            np.array(logged.caps, dtype=np.int64),
            np.array(logged.hopes, dtype=np.float64),
            np.array(logged.bandit, dtype=np.float64),
            np.array([index[item.event_id] for item in decision.items], dtype=np.int64),
            # A logged choice always had a chance.
            np.array([item.propensity > 0 for item in decision.items], dtype=bool),
        )

    def targets(self, config: SlateConfig) -> FloatArray:
        """q for each kept slot under `config`."""
        target = slot_probabilities(
            self.scores,
            self.masks,
            self.shown,
            SlatePolicy(epsilon=config.exploration, window=self.logged.window),
            self.caps,
            self.hopes + config.bandit_weight * self.bandit,
        )
        kept: FloatArray = target[self.counted]
        return kept


def evaluate_replayed(replayed: Replayed) -> list[PolicyEstimate]:
    """The logged policy on the replayable decisions, then each replayed configuration."""
    slots = replayed.slots
    results = [estimate(slots, "logged", slots.propensity)]
    results += [estimate(slots, name, target) for name, target in replayed.targets.items()]
    return results
