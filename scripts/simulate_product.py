"""A second learning simulation, built unlike the first: utility is a product, not a sum.

A user's utility for an event is

    u = taste(category) x price_fit x nearness

so a Techno night is worth almost nothing to a Jazz fan however close and cheap it is.
- taste: one to three hidden favourite categories (worth 1, then 0.5-1, then 0.3-0.8);
  every other category is worth a little (0 to the world's background taste).
- price_fit: 1 up to the user's budget ($15-$100), then exp(-(price - budget) / softness).
- nearness: exp(-(km / travel_km) ^ shape) from where the user asks, with distance-
  sensitive users (travel_km 0.6-1.5) beside distance-tolerant ones (3-8 km).
Half the users state nothing at onboarding (intent and age only, no home), the other
half tell one favourite; every user sends the coordinates of home with each Feed. A
quarter of them change tastes half-way (new favourites replace the old ones).

How users behave is drawn once per *world*, and each world is a fresh Aura (fresh store,
fresh model): how steeply attention falls down the list, how readily utility turns into
clicks and purchases, how many of the rest get an explicit skip, whether views are sent,
how much the other categories are worth. Several worlds show how much the result depends
on assumptions no one tuned for; the report gives the mean and the range across worlds.

Every user has a quiet twin with the same tastes who receives the same number of feeds
but never sends feedback: the no-feedback group. Per session, a user's score is the
utility of the 10 items shown relative to the best possible 10 among what they could have
been shown (upcoming within 14 days, within 30 km, not bought).

    python scripts/simulate_product.py [--worlds 6] [--users 24] [--sessions 12] [--jobs N]

Worlds run side by side, one process each (--jobs, default: one per core).

Prints a table per session (feedback groups beside the no-feedback group), the targets,
the offline evaluation of the last world's decision log, and writes a PNG.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import uuid
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from aura_client import AuraClient
from benchlib import pyplot, save
from simlib import SIMULATED_NOW, CatalogArrays, Target, aura_target, load_catalog

from aura_server.domain.taxonomy import CATEGORIES, NEIGHBORHOODS

SLOTS = 10
RADIUS_KM = 30.0
WINDOW = timedelta(days=14)
LATE = (9, 12)  # the sessions whose mean is the "late" figure
# The change target's session: this many after the first session of new tastes.
AFTER_CHANGE = 3


@dataclass(frozen=True)
class World:
    """How every user of one simulated world behaves."""

    index: int
    position_decay: float  # slot k is looked at with probability 1 / (1 + decay * k)
    buy_gain: float  # P(buy | looked) = buy_gain * u
    click_gain: float  # P(click | looked, not bought) = click_gain * u
    skip_share: float  # of the looked-at items not engaged with, the share skipped
    sends_views: bool
    background_taste: float  # the most any non-favourite category is worth

    def describe(self) -> str:
        return (
            f"world {self.index}: attention 1/(1+{self.position_decay:.2f}k), "
            f"buy {self.buy_gain:.2f}u, click {self.click_gain:.2f}u, "
            f"skip {self.skip_share:.0%} of the rest, "
            f"views {'sent' if self.sends_views else 'not sent'}, "
            f"other categories worth <= {self.background_taste:.2f}"
        )


def draw_world(index: int, rng: random.Random) -> World:
    return World(
        index=index,
        position_decay=rng.uniform(0.1, 0.6),
        buy_gain=rng.uniform(0.2, 0.6),
        click_gain=rng.uniform(0.4, 1.0),
        skip_share=rng.uniform(0.3, 0.9),
        sends_views=rng.random() < 0.5,
        background_taste=rng.uniform(0.0, 0.12),
    )


def draw_taste(rng: random.Random, world: World, avoid: set[str]) -> tuple[list[str], np.ndarray]:
    """Hidden favourites (none of `avoid`) and what every category is worth."""
    count = rng.choice((1, 2, 2, 3))
    favourites = rng.sample([c for c in CATEGORIES if c not in avoid], count)
    weights = np.array([rng.uniform(0, world.background_taste) for _ in CATEGORIES])
    for rank, category in enumerate(favourites):
        weights[CATEGORIES.index(category)] = (
            1.0 if rank == 0 else rng.uniform(0.5, 1.0) if rank == 1 else rng.uniform(0.3, 0.8)
        )
    return favourites, weights


@dataclass
class SimUser:
    user_id: str
    age: int
    intent: str
    lat: float
    lng: float
    states_favourite: bool
    favourites: list[str]
    taste: np.ndarray  # per category code
    budget: float
    price_softness: float
    travel_km: float
    travel_shape: float
    distance_sensitive: bool
    change_at: int  # the session from which the new taste holds; 0: never
    new_favourites: list[str]
    new_taste: np.ndarray
    gives_feedback: bool = True
    owned: set[str] = field(default_factory=set)

    def taste_at(self, session: int) -> np.ndarray:
        return self.new_taste if self.change_at and session >= self.change_at else self.taste

    def fit(self, catalog: CatalogArrays, distances: np.ndarray) -> np.ndarray:
        """Per event, its utility apart from taste: price fit x nearness."""
        over = np.maximum(catalog.price - self.budget, 0.0)
        price_fit = np.exp(-over / self.price_softness)
        nearness = np.exp(-((distances / self.travel_km) ** self.travel_shape))
        return price_fit * nearness

    def utilities(self, catalog: CatalogArrays, distances: np.ndarray, session: int) -> np.ndarray:
        taste = np.where(catalog.categories, self.taste_at(session), 0.0).max(axis=1)
        return taste * self.fit(catalog, distances)


def _twin(user: SimUser) -> SimUser:
    values = {**vars(user), "user_id": user.user_id + "-quiet", "owned": set()}
    values["gives_feedback"] = False
    return SimUser(**values)


def draw_users(
    world: World, count: int, sessions: int, rng: random.Random, run: str
) -> list[SimUser]:
    users = []
    for number in range(count):
        home = rng.choice(NEIGHBORHOODS)
        favourites, taste = draw_taste(rng, world, set())
        new_favourites, new_taste = draw_taste(rng, world, set(favourites))
        sensitive = number % 2 == 0
        users.append(
            SimUser(
                user_id=f"w{world.index}-{run}-{number}",
                age=rng.randint(19, 62),
                intent=rng.choice(("explore", "explore", "create", "freelance")),
                # Somewhere in the neighborhood, not at its centre.
                lat=home.lat + rng.uniform(-0.004, 0.004),
                lng=home.lng + rng.uniform(-0.005, 0.005),
                states_favourite=number % 4 in (1, 2),
                favourites=favourites,
                taste=taste,
                budget=rng.uniform(15, 100),
                price_softness=rng.uniform(5, 25),
                travel_km=rng.uniform(0.6, 1.5) if sensitive else rng.uniform(3, 8),
                travel_shape=rng.uniform(1.0, 2.0),
                distance_sensitive=sensitive,
                change_at=change_session(sessions) if number % 4 == 3 else 0,
                new_favourites=new_favourites,
                new_taste=new_taste,
            )
        )
    return users


@dataclass
class Scores:
    """Per session (0-based), the scores of each group's users."""

    sessions: int
    groups: dict[str, list[list[float]]] = field(default_factory=dict)

    def add(self, group: str, session: int, value: float) -> None:
        rows = self.groups.setdefault(group, [[] for _ in range(self.sessions)])
        rows[session].append(value)

    def mean(self, group: str, session: int) -> float:
        values = self.groups.get(group, [[]] * self.sessions)[session]
        return statistics.fmean(values) if values else float("nan")


def groups_of(user: SimUser) -> list[str]:
    if not user.gives_feedback:
        found = ["no feedback"]
        if not user.change_at:
            found.append("no feedback, steady")
            if not user.states_favourite:
                found.append("no feedback, stated nothing")
        return found
    found = ["feedback"]
    found.append("stated a favourite" if user.states_favourite else "stated nothing")
    found.append("distance-sensitive" if user.distance_sensitive else "distance-tolerant")
    found.append("tastes change" if user.change_at else "steady")
    if not user.change_at:
        found.append(
            "steady, stated a favourite" if user.states_favourite else "steady, stated nothing"
        )
    return found


def react(world: World, utility: float, position: int, rng: random.Random) -> str:
    """What a user does with the item at `position`: "unseen" (not looked at), "purchase",
    "click", "skip" or "passed" (looked at, nothing done)."""
    if rng.random() > 1 / (1 + world.position_decay * position):
        return "unseen"
    draw = rng.random()
    if draw < world.buy_gain * utility:
        return "purchase"
    if draw < (world.buy_gain + world.click_gain) * utility:
        return "click"
    return "skip" if rng.random() < world.skip_share else "passed"


def run_session(
    aura: AuraClient,
    user: SimUser,
    session: int,
    catalog: CatalogArrays,
    world: World,
    server: Target,
) -> float:
    """One feed for the user, their reactions sent back; the session's score."""
    # Reactions drawn from the user's and session's own stream: two runs that show a user
    # the same list draw the same reactions to it, whatever happened to other users.
    rng = random.Random(f"{world.index}/{user.user_id}/{session}")
    distances = catalog.distances_km(user.lat, user.lng)
    utilities = user.utilities(catalog, distances, session)
    eligible = upcoming_nearby(catalog, distances, server.now())
    for event_id in user.owned:
        eligible[catalog.positions[event_id]] = False
    best = np.sort(utilities[eligible])[::-1][:SLOTS]
    server.settle()  # the model has learned from everything sent so far
    # A feed_id of our own makes a run replay exactly (exploration is seeded with it).
    reply = aura.feed(
        user_id=user.user_id,
        lat=user.lat,
        lng=user.lng,
        limit=SLOTS,
        feed_id=f"{user.user_id}-s{session}",
    )
    server.settle()  # the list is written before the user answers it, as a person reads first
    rows = [catalog.positions[item.event.event_id] for item in reply.items]
    shown = utilities[rows]
    if user.gives_feedback:
        for position, row in enumerate(rows):
            outcome = react(world, float(utilities[row]), position, rng)
            if outcome == "unseen":
                continue
            event_id = catalog.events[row].event_id
            common = {"user_id": user.user_id, "event_id": event_id, "feed_id": reply.feed_id}
            if world.sends_views:
                aura.log_behavior(action="view", position=position, **common)
            if outcome == "purchase":
                aura.submit_reward(action="purchase", **common)
                user.owned.add(event_id)
            elif outcome in ("click", "skip"):
                aura.log_behavior(action=outcome, position=position, **common)
    total_best = float(best.sum())
    return float(shown.sum()) / total_best if total_best > 0 else 0.0


def run_world(
    world: World, users: int, sessions: int, target: str, keep: Path | None, alone: bool = True
) -> Scores:
    """One world on its own Aura. `alone`: the only world printing progress (one line
    rewritten in place); beside others, a full line every few sessions."""
    rng = random.Random(1000 + world.index)
    scores = Scores(sessions)
    with aura_target(target, keep) as server, AuraClient(server.address) as aura:
        catalog = CatalogArrays.of(load_catalog(aura))
        # Fresh stores take plain ids; a shared server gets ids of this run only.
        run = uuid.uuid4().hex[:6] if target else "sim"
        people = draw_users(world, users, sessions, rng, run)
        everyone = people + [_twin(u) for u in people]
        for user in everyone:
            aura.onboard(
                user_id=user.user_id,
                intent=user.intent,
                age=user.age,
                favorite_categories=user.favourites[:1] if user.states_favourite else [],
            )
        for session in range(sessions):
            for user in everyone:
                score = run_session(aura, user, session + 1, catalog, world, server)
                for group in groups_of(user):
                    scores.add(group, session, score)
            line = (
                f"  world {world.index}: session {session + 1}/{sessions}, "
                f"feedback {scores.mean('feedback', session):.2f}, "
                f"no feedback {scores.mean('no feedback', session):.2f}"
            )
            if alone:
                print("\r" + line, end="", flush=True)
            elif (session + 1) % 3 == 0 or session + 1 == sessions:
                print(line, flush=True)
        if alone:
            print()
    return scores


GROUPS = (
    "feedback",
    "steady",
    "stated a favourite",
    "stated nothing",
    "distance-sensitive",
    "distance-tolerant",
    "tastes change",
    "no feedback",
    "no feedback, steady",
    "steady, stated nothing",
    "no feedback, stated nothing",
)


def spread(values: list[float]) -> str:
    return f"{statistics.fmean(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


def upcoming_nearby(catalog: CatalogArrays, distances: np.ndarray, now: datetime) -> np.ndarray:
    """Per event, whether it may be shown: upcoming within WINDOW, within RADIUS_KM."""
    start = now.timestamp()
    return (
        (catalog.starts_at >= start)
        & (catalog.starts_at <= start + WINDOW.total_seconds())
        & (distances <= RADIUS_KM)
    )


def require_late_sessions(parser: argparse.ArgumentParser, sessions: int) -> None:
    """The late figures are sessions LATE: fewer sessions is a usage error, not a crash."""
    if sessions < LATE[1]:
        parser.error(
            f"--sessions must be at least {LATE[1]}: "
            f"the late figures are sessions {LATE[0]}-{LATE[1]}"
        )


def change_session(sessions: int) -> int:
    """The session from which changing users hold their new tastes."""
    return sessions // 2 + 1


def late_mean(scores: Scores, group: str) -> float:
    return statistics.fmean(scores.mean(group, s - 1) for s in range(LATE[0], LATE[1] + 1))


def report(worlds: list[Scores], sessions: int, change_at: int) -> list[str]:
    short = {
        g: g.replace("stated a favourite", "stated")
        .replace("distance-", "")
        .replace("no feedback", "quiet")
        .replace("stated nothing", "unstated")
        for g in GROUPS
    }
    lines = ["top-10 utility / best possible top-10, mean over worlds [lowest-highest world]"]
    lines.append(f"{'session':>7} " + " ".join(f"{short[g]:>17}" for g in GROUPS))
    for session in range(sessions):
        cells = [spread([w.mean(g, session) for w in worlds]) for g in GROUPS]
        lines.append(f"{session + 1:>7} " + " ".join(f"{c:>17}" for c in cells))
    steady_late = [late_mean(w, "steady") for w in worlds]
    quiet_late = [late_mean(w, "no feedback, steady") for w in worlds]
    ratios = [a / b if b else float("inf") for a, b in zip(steady_late, quiet_late, strict=True)]
    unstated_ratios = [
        late_mean(w, "steady, stated nothing") / late_mean(w, "no feedback, stated nothing")
        for w in worlds
    ]
    stated_first = [w.mean("stated a favourite", 0) for w in worlds]
    after_change = [w.mean("tastes change", change_at - 1 + AFTER_CHANGE) for w in worlds]
    lines += [
        "",
        f"targets (sessions {LATE[0]}-{LATE[1]} unless said):",
        f"  steady users, feedback:         {spread(steady_late)}   target >= 0.70",
        f"  ... over the no-feedback group: {spread(ratios)}x  target >= 2x",
        f"  ... users who stated nothing, over their no-feedback twins: {spread(unstated_ratios)}x",
        f"  first session, stated a favourite: {spread(stated_first)}   target >= 0.30",
        f"  changed tastes, 4th session after the change (session {change_at + AFTER_CHANGE}): "
        f"{spread(after_change)}   target >= 0.60",
    ]
    return lines


def plot(worlds: list[Scores], sessions: int, change_at: int, path: Path) -> None:
    plt = pyplot()
    x = np.arange(1, sessions + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, groups in (
        (
            left,
            (
                "steady",
                "steady, stated a favourite",
                "steady, stated nothing",
                "no feedback, steady",
            ),
        ),
        (right, ("tastes change", "distance-sensitive", "distance-tolerant", "no feedback")),
    ):
        for group in groups:
            per_world = np.array([[w.mean(group, s) for s in range(sessions)] for w in worlds])
            line = "--" if group.startswith("no feedback") else "-"
            (drawn,) = ax.plot(x, per_world.mean(axis=0), line, marker="o", label=group)
            ax.fill_between(
                x, per_world.min(axis=0), per_world.max(axis=0), color=drawn.get_color(), alpha=0.15
            )
        ax.axhline(0.7, color="grey", linewidth=0.8, linestyle=":")
        ax.set_xlabel("session")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=8)
    right.axvline(change_at, color="grey", linewidth=0.8)
    left.set_title("top-10 utility / best possible (band: range over worlds)")
    right.set_title(f"tastes change at session {change_at}; distance")
    fig.suptitle(f"Aura on product-utility users, {len(worlds)} worlds")
    save(fig, path)


def evaluate_log(folder: Path) -> None:
    """`aura evaluate` on a world's decision log: what other exploration rates would have
    earned on it, next to the logged policy."""
    from aura_server.cli.commands.offline import report_table
    from aura_server.config import Settings
    from aura_server.domain.offline.decision_log import decisions
    from aura_server.domain.offline.evaluation import (
        SlateConfig,
        evaluate,
        evaluate_replayed,
        logged_slots,
        replay,
    )
    from aura_server.store.sqlite import SQLiteRepository

    settings = Settings.from_env()
    repo = SQLiteRepository(folder / "aura.db")
    # The world was served at the simulated moment (simlib.SIMULATED_NOW), not today.
    since, until = SIMULATED_NOW - timedelta(days=1), SIMULATED_NOW + timedelta(days=1)
    window = timedelta(hours=settings.reward_window_hours)
    slots = logged_slots(decisions(repo, since, until, window), settings.exploration)
    results = evaluate(slots, (0.0, 0.05, 0.15, 0.3))
    print(report_table(results, len(slots), since))
    configs = [SlateConfig(e, b) for e, b in ((0.05, 0.1), (0.3, 0.1), (0.15, 0.0), (0.15, 0.3))]
    replayed = replay(decisions(repo, since, until, window), configs)
    print("\nslate configurations replayed on the learned feeds' candidate sets:")
    print(report_table(evaluate_replayed(replayed), len(replayed.slots), since))
    print(f"(the served configuration replays to within {replayed.replay_error:.1e})")
    repo.close()


def run_worlds(worlds: list[World], args: argparse.Namespace, jobs: int) -> list[Scores]:
    """Every world's scores, in world order; `jobs` of them at a time. Worlds share
    nothing (each has its own store and model), so running them side by side changes
    no result, only how long the run takes."""

    after = change_session(args.sessions) + AFTER_CHANGE

    def finished(world: World, scores: Scores) -> None:
        print(
            f"  world {world.index}, sessions {LATE[0]}-{LATE[1]}: steady "
            f"{late_mean(scores, 'steady'):.3f}, changed at session {after} "
            f"{scores.mean('tastes change', after - 1):.3f}, no feedback "
            f"{late_mean(scores, 'no feedback, steady'):.3f}",
            flush=True,
        )

    def keep(world: World) -> Path | None:
        return args.keep / f"world-{world.index}" if not args.target else None

    results: dict[int, Scores] = {}
    if jobs == 1:
        for world in worlds:
            print(world.describe(), flush=True)
            results[world.index] = run_world(
                world, args.users, args.sessions, args.target, keep(world)
            )
            finished(world, results[world.index])
    else:
        for world in worlds:
            print(world.describe(), flush=True)
        # Spawned, not forked: a forked gRPC runtime is not safe to use in the child.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            running = {
                pool.submit(
                    run_world, world, args.users, args.sessions, "", keep(world), False
                ): world
                for world in worlds
            }
            for done in as_completed(running):
                world = running[done]
                results[world.index] = done.result()
                finished(world, results[world.index])
    return [results[world.index] for world in worlds]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--worlds", type=int, default=6)
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--sessions", type=int, default=12)
    parser.add_argument("--seed", type=int, default=23, help="draws the worlds")
    parser.add_argument("--target", default="", help="a running server (HOST:PORT), for one world")
    parser.add_argument("--plot", type=Path, default=Path("var/simulate_product.png"))
    parser.add_argument("--keep", type=Path, default=Path("var/simulate_product"))
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="worlds run at once, each in its own process with its own Aura (default: cores)",
    )
    args = parser.parse_args()
    require_late_sessions(parser, args.sessions)

    rng = random.Random(args.seed)
    worlds = [draw_world(index, rng) for index in range(1, args.worlds + 1)]
    jobs = 1 if args.target else max(1, min(args.jobs, len(worlds)))
    results = run_worlds(worlds, args, jobs)
    change_at = change_session(args.sessions)
    print("\n".join(report(results, args.sessions, change_at)))
    plot(results, args.sessions, change_at, args.plot)
    if not args.target:
        print(f"\noffline evaluation of world {worlds[-1].index}'s decision log:")
        evaluate_log(args.keep / f"world-{worlds[-1].index}")


if __name__ == "__main__":
    main()
