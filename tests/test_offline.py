"""Offline evaluation and export: the estimators on logs with a known answer, the joined
decision log, and the two commands end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import vowpalwabbit
from harness import copy_of

from aura_server.app import Aura
from aura_server.config import Settings
from aura_server.domain.offline.decision_log import decisions
from aura_server.domain.offline.evaluation import (
    LoggedSlots,
    SlateConfig,
    evaluate,
    evaluate_replayed,
    replay,
    target_probability,
)
from aura_server.store.sqlite import SQLiteRepository

AURA = str(Path(sys.executable).with_name("aura"))


def synthetic(slots: int, epsilon: float, seed: int) -> tuple[LoggedSlots, float, float]:
    """Slots logged by an epsilon-greedy slate policy: the greedy item pays 1 with
    probability 0.3, an explored one (1 of 4 categories) with probability 0.1."""
    rng = np.random.default_rng(seed)
    explored = rng.random(slots) < epsilon
    propensity = np.where(explored, epsilon / 4, 1 - epsilon)
    reward = (rng.random(slots) < np.where(explored, 0.1, 0.3)).astype(np.float64)
    logged = LoggedSlots(
        propensity, explored, reward, rng.integers(0, 10, slots), np.full(slots, epsilon)
    )
    return logged, 0.3, 0.1


@pytest.mark.parametrize("rate", [0.0, 0.05, 0.5, 1.0])
def test_estimators_find_the_known_value_of_another_exploration_rate(rate: float) -> None:
    slots, greedy, explored = synthetic(40_000, epsilon=0.3, seed=int(rate * 100))
    truth = (1 - rate) * greedy + rate * explored
    results = {r.policy: r for r in evaluate(slots, [rate])}
    candidate = results[{0.0: "greedy", 1.0: "uniform"}.get(rate, f"exploration={rate:g}")]
    for estimate in (candidate.ips, candidate.snips, candidate.dr):
        assert estimate.low <= truth <= estimate.high, (estimate, truth)
        assert estimate.high - estimate.low < 0.05
    logged = results["logged"]
    assert logged.ips.value == pytest.approx(float(slots.reward.mean()))


def test_target_probabilities_follow_the_slate_policy() -> None:
    slots = LoggedSlots(
        np.array([0.85, 0.05, 1.0]),
        np.array([False, True, False]),
        np.zeros(3),
        np.arange(3),
        np.full(3, 0.15),
    )
    assert target_probability(slots, 0.3).tolist() == pytest.approx([0.7, 0.1, 1.0])
    assert target_probability(slots, 1.0).tolist() == pytest.approx([0.0, 1 / 3, 1.0])


@pytest.fixture
def served_log(catalog_file: Path, tmp_path: Path) -> Path:
    """A store where feeds were served and answered: by feed_id, without one, and not."""
    path = copy_of(catalog_file, tmp_path / "aura.db")
    repo = SQLiteRepository(path)
    aura = Aura.build(repo)
    catalog_day = datetime(2026, 6, 5, 16, 0, tzinfo=UTC)
    for user in ("ana", "ben"):
        aura.profiles.onboard(user, "explore", 30, "", neighborhood="Bushwick")
        for _ in range(4):
            feed = aura.recommender.feed(user, None, None, limit=10, now=catalog_day)
            aura.behaviors.log(user, "view", feed.items[0].event.event_id, feed_id=feed.feed_id)
            aura.behaviors.log(user, "purchase", feed.items[0].event.event_id, feed_id=feed.feed_id)
            aura.behaviors.log(user, "skip", feed.items[1].event.event_id)  # no feed_id
    aura.close()
    repo.close()
    return path


def test_the_decision_log_joins_rewards_with_and_without_a_feed_id(served_log: Path) -> None:
    repo = SQLiteRepository(served_log)
    since = datetime.now(UTC) - timedelta(hours=1)
    log = list(decisions(repo, since, datetime.now(UTC) + timedelta(minutes=1)))
    repo.close()
    assert len(log) == 8
    for decision in log:
        assert decision.rewards[0] == 1.0 and decision.acted[0]
        assert decision.rewards[2:] == (0.0,) * (len(decision.rewards) - 2)
    # A skip without a feed_id joins the user's newest impression of that event.
    assert sum(d.rewards[1] < 0 for d in log) >= 2


def run_aura(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AURA_DB_PATH": str(folder / "aura.db")}
    env.pop("MONGODB_URL", None)
    return subprocess.run(
        [AURA, *args], env=env, capture_output=True, text=True, timeout=120, cwd=folder
    )


def test_export_writes_dsjson_that_vowpal_wabbit_reads(served_log: Path) -> None:
    folder = served_log.parent
    result = run_aura(folder, "export", "--format", "dsjson", "--since", "1h", "--out", "log.json")
    assert result.returncode == 0, result.stderr
    lines = (folder / "log.json").read_text().splitlines()
    assert len(lines) == 80  # 8 feeds of 10 slots
    first = json.loads(lines[0])
    assert first["_label_cost"] == -1.0 and first["_labelIndex"] == 0
    assert len(first["c"]["_multi"]) == 10 and "U" in first["c"]
    workspace = vowpalwabbit.Workspace(f"--cb_adf --dsjson -d {folder / 'log.json'} --quiet")
    workspace.run_parser()
    assert workspace.get_weighted_examples() == 80
    workspace.finish()
    plain = run_aura(folder, "export", "--format", "jsonl", "--since", "1h")
    feeds = [json.loads(line) for line in plain.stdout.splitlines()]
    assert len(feeds) == 8 and feeds[0]["slots"][0]["reward"] == 1.0


def test_evaluate_prints_a_table_and_writes_a_report(served_log: Path) -> None:
    folder = served_log.parent
    result = run_aura(
        folder, "evaluate", "--since", "1h", "--exploration", "0,0.3", "--report", "e.json"
    )
    assert result.returncode == 0, result.stderr
    assert "greedy" in result.stdout and "exploration=0.3" in result.stdout
    report = json.loads((folder / "e.json").read_text())
    assert report["slots"] == 80
    assert [p["policy"] for p in report["policies"]] == ["logged", "greedy", "exploration=0.3"]
    assert (folder / "e.png").stat().st_size > 1000
    refused = run_aura(folder, "evaluate", "--policy", "popularity")
    assert refused.returncode == 2 and "candidates" in refused.stderr


def test_slots_with_their_own_exploration_scale_with_the_configured_share() -> None:
    # Served with AURA_EXPLORATION 0.15: a newcomer's slot explored at 0.3, a protected
    # top slot at 0, an explored item drawn with p = 0.3 x 1/3.
    slots = LoggedSlots(
        np.array([0.7, 1.0, 0.1]),
        np.array([False, False, True]),
        np.zeros(3),
        np.arange(3),
        np.array([0.3, 0.0, 0.3]),
        np.full(3, 0.15),
    )
    assert target_probability(slots, 0.3).tolist() == pytest.approx([0.4, 1.0, 0.2])
    assert target_probability(slots, 0.0).tolist() == pytest.approx([1.0, 1.0, 0.0])


@pytest.fixture
def replayable_log(catalog_file: Path, tmp_path: Path) -> Path:
    """A store where learned feeds were logged with their candidate sets."""
    (tmp_path / "replayable").mkdir()
    path = copy_of(catalog_file, tmp_path / "replayable" / "aura.db")
    repo = SQLiteRepository(path)
    aura = Aura.build(repo, Settings(candidate_log_share=1.0))
    catalog_day = datetime(2026, 6, 5, 16, 0, tzinfo=UTC)
    for user in ("cleo", "dev"):
        aura.profiles.onboard(user, "explore", 30, "", neighborhood="Bushwick")
        for _ in range(6):
            feed = aura.recommender.feed(user, None, None, limit=10, now=catalog_day)
            for item in feed.items[:2]:
                aura.behaviors.log(user, "purchase", item.event.event_id, feed_id=feed.feed_id)
            aura.behaviors.log(user, "skip", feed.items[2].event.event_id, feed_id=feed.feed_id)
    aura.recommender.impressions.flush(timeout=10.0)
    aura.close()
    repo.close()
    return path


def test_replaying_the_served_slate_configuration_gives_back_its_propensities(
    replayable_log: Path,
) -> None:
    repo = SQLiteRepository(replayable_log)
    since = datetime.now(UTC) - timedelta(hours=1)
    log = list(decisions(repo, since, datetime.now(UTC) + timedelta(minutes=1)))
    repo.close()
    learned = [d for d in log if d.impression.candidates is not None]
    assert len(learned) >= 8 and all(not d.impression.context["cold_start"] for d in learned)
    replayed = replay(log, [SlateConfig(0.0, 0.1), SlateConfig(0.3, 0.0)])
    assert len(replayed.slots) == 10 * len(learned)
    assert replayed.replay_error < 1e-5
    greedy = replayed.targets["exploration=0,bandit_weight=0.1"]
    assert greedy.tolist() == (~replayed.slots.explored).astype(float).tolist()
    more = replayed.targets["exploration=0.3,bandit_weight=0"]
    assert ((more >= 0) & (more <= 1)).all() and more.sum() > 0
    results = {r.policy: r for r in evaluate_replayed(replayed)}
    assert set(results) == {"logged", *replayed.targets}


def test_evaluate_replays_candidate_configurations(replayable_log: Path, served_log: Path) -> None:
    folder = replayable_log.parent
    result = run_aura(
        folder,
        "evaluate",
        "--since",
        "1h",
        "--candidate",
        "exploration=0.05",
        "--candidate",
        "bandit_weight=0.5",
        "--report",
        "r.json",
    )
    assert result.returncode == 0, result.stderr
    assert "exploration=0.05,bandit_weight=0.1" in result.stdout
    assert "exploration=0.15,bandit_weight=0.5" in result.stdout
    assert "gives back the logged propensities" in result.stdout
    refused = run_aura(folder, "evaluate", "--candidate", "half_life=40")
    assert refused.returncode == 2 and "exploration=R" in refused.stderr
    nothing = run_aura(
        served_log.parent, "evaluate", "--since", "1h", "--candidate", "bandit_weight=0"
    )
    assert nothing.returncode == 1 and "AURA_CANDIDATE_LOG_SHARE" in nothing.stderr
