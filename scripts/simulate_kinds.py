"""A third learning simulation, of the user kinds the other two lack: graded tastes chosen
by a logit, users who only look, strangers, interests that drift, and events added mid-run.

**Graded users.** Every category has an appeal drawn from N(0, world spread): anywhere
from strongly disliked to strongly liked, no favourites over a floor. An event is worth

    v = appeal(best of its categories) - km / travel_km - max(price - budget, 0) / softness

and its *interest* is sigmoid(v). A list is looked at top down (slot k with probability
1 / (1 + decay k)); of what was looked at, the user takes at most one item, by a logit
over v against taking nothing (worth the world's `pass_value`), so most lists get no
answer at all. A take is a purchase (the world's share) or else a click; nothing else is
ever sent but views, in worlds that send them. Interests drift toward what is consumed:
a take adds the world's `drift` to the appeal of the event's categories.

**Quiet users.** Each graded user has a twin with the same tastes who looks at the same
number of lists and sends a view for every item looked at, and never anything else.

**Strangers.** Each session, for each quiet twin, a user never seen before, onboarded with
the twin's age and intent, asks for a feed at the twin's place: what an unknown user of
that age and place gets, scored with the twin's tastes.

**New events.** Before session NEW_AT, one event per graded user is added to the catalog:
of the category they like best at that moment, 300 m from them, under their budget, in
two days, with no engagement yet. It is a hit when it reaches their top 10 in session
NEW_AT or NEW_AT + 1.

**Fatigue.** Per session, the share of a graded user's top 10 held by events shown in each
of the three sessions before and never taken.

The score of a session is the interest of the 10 items shown over that of the best 10 the
user could have been shown (upcoming within 14 days, within 30 km, not bought).

    python scripts/simulate_kinds.py [--worlds 4] [--users 24] [--sessions 12] [--seed 7]

Worlds run side by side, one process each (--jobs, default: one per core). Prints a
table per session (mean over worlds [lowest-highest world]) and the targets, and writes
a PNG.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import random
import statistics
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
from aura.v1 import types_pb2
from aura_client import AuraClient
from benchlib import pyplot, save
from google.protobuf.timestamp_pb2 import Timestamp
from simlib import CatalogArrays, Target, aura_target, load_catalog
from simulate_product import LATE, SLOTS, Scores, spread, upcoming_nearby

from aura_server.domain.taxonomy import CATEGORIES, NEIGHBORHOODS, Neighborhood

NEW_EVENT_KM = 0.3
STALE_SESSIONS = 3  # an item shown this many sessions running, never taken, is stale


@dataclass(frozen=True)
class World:
    """How every user of one simulated world behaves."""

    index: int
    appeal_spread: float  # category appeals ~ N(0, spread)
    position_decay: float  # slot k is looked at with probability 1 / (1 + decay k)
    pass_value: float  # the logit's worth of taking nothing
    purchase_share: float  # of takes, the share that are purchases
    drift: float  # what a take adds to its categories' appeal
    sends_views: bool  # graded users send views of what they looked at

    def describe(self) -> str:
        return (
            f"world {self.index}: appeals N(0, {self.appeal_spread:.2f}), attention "
            f"1/(1+{self.position_decay:.2f}k), take nothing worth {self.pass_value:.2f}, "
            f"purchases {self.purchase_share:.0%} of takes, drift +{self.drift:.2f}, "
            f"views {'sent' if self.sends_views else 'not sent'}"
        )


def draw_world(index: int, rng: random.Random) -> World:
    return World(
        index=index,
        appeal_spread=rng.uniform(0.8, 1.6),
        position_decay=rng.uniform(0.15, 0.6),
        pass_value=rng.uniform(0.5, 2.0),
        purchase_share=rng.uniform(0.2, 0.6),
        drift=rng.uniform(0.05, 0.25),
        sends_views=rng.random() < 0.5,
    )


@dataclass
class GradedUser:
    user_id: str
    age: int
    intent: str
    lat: float
    lng: float
    appeal: np.ndarray  # per category code
    travel_km: float
    budget: float
    softness: float
    home: Neighborhood
    quiet: bool = False
    owned: set[str] = field(default_factory=set)
    # Per session, the event ids of the list shown, and whether anything was taken from it.
    shown: list[set[str]] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)

    def values(self, catalog: CatalogArrays, distances: np.ndarray) -> np.ndarray:
        kind = np.where(catalog.categories, self.appeal, -np.inf).max(axis=1)
        over = np.maximum(np.nan_to_num(catalog.price) - self.budget, 0.0)
        values: np.ndarray = kind - distances / self.travel_km - over / self.softness
        return values


def draw_users(world: World, count: int, rng: random.Random) -> list[GradedUser]:
    users = []
    for number in range(count):
        home = rng.choice(NEIGHBORHOODS)
        users.append(
            GradedUser(
                user_id=f"k{world.index}-{number}",
                age=rng.randint(19, 62),
                intent=rng.choice(("explore", "explore", "create", "freelance")),
                lat=home.lat + rng.uniform(-0.004, 0.004),
                lng=home.lng + rng.uniform(-0.005, 0.005),
                appeal=np.array([rng.gauss(0.0, world.appeal_spread) for _ in CATEGORIES]),
                travel_km=rng.choice((rng.uniform(0.7, 2.0), rng.uniform(2.5, 8.0))),
                budget=rng.uniform(15, 100),
                softness=rng.uniform(8, 30),
                home=home,
            )
        )
    return users


def twin(user: GradedUser) -> GradedUser:
    return GradedUser(
        user_id=user.user_id + "-quiet",
        age=user.age,
        intent=user.intent,
        lat=user.lat,
        lng=user.lng,
        appeal=user.appeal.copy(),
        travel_km=user.travel_km,
        budget=user.budget,
        softness=user.softness,
        home=user.home,
        quiet=True,
    )


@dataclass
class Outcome:
    scores: Scores
    new_event_hits: list[bool] = field(default_factory=list)


class Session:
    """One session of one world: serve, score and answer each user's list."""

    def __init__(
        self, aura: AuraClient, server: Target, world: World, catalog: CatalogArrays
    ) -> None:
        self.aura, self.server, self.world, self.catalog = aura, server, world, catalog

    def measure(self, user: GradedUser) -> tuple[np.ndarray, np.ndarray, float]:
        """Per event, the user's value and interest now, and the best 10's interest."""
        distances = self.catalog.distances_km(user.lat, user.lng)
        values = user.values(self.catalog, distances)
        interests: np.ndarray = 1.0 / (1.0 + np.exp(-values))
        eligible = upcoming_nearby(self.catalog, distances, self.server.now())
        for event_id in user.owned:
            eligible[self.catalog.positions[event_id]] = False
        best = float(np.sort(interests[eligible])[::-1][:SLOTS].sum())
        return values, interests, best

    def serve(self, user_id: str, user: GradedUser, feed_id: str) -> list[int]:
        self.server.settle()
        reply = self.aura.feed(
            user_id=user_id, lat=user.lat, lng=user.lng, limit=SLOTS, feed_id=feed_id
        )
        self.server.settle()
        return [self.catalog.positions[item.event.event_id] for item in reply.items]

    def run(self, user: GradedUser, session: int) -> tuple[float, list[int]]:
        """The user's list this session, answered; its score and rows."""
        values, interests, best = self.measure(user)
        feed_id = f"{user.user_id}-s{session}"  # the server logs the list under it
        rows = self.serve(user.user_id, user, feed_id)
        rng = random.Random(f"{self.world.index}/{user.user_id}/{session}")
        looked = [
            (position, row)
            for position, row in enumerate(rows)
            if rng.random() <= 1 / (1 + self.world.position_decay * position)
        ]
        for position, row in looked:
            if self.world.sends_views or user.quiet:
                self.aura.log_behavior(
                    user_id=user.user_id,
                    event_id=self.catalog.events[row].event_id,
                    action="view",
                    feed_id=feed_id,
                    position=position,
                )
        if not user.quiet:
            self.take_one(user, looked, values, feed_id, rng)
        user.shown.append({self.catalog.events[row].event_id for row in rows})
        return float(interests[rows].sum()) / best if best > 0 else 0.0, rows

    def take_one(
        self,
        user: GradedUser,
        looked: list[tuple[int, int]],
        values: np.ndarray,
        feed_id: str,
        rng: random.Random,
    ) -> None:
        """At most one item of what was looked at, by a logit over value against nothing."""
        if not looked:
            return
        weights = [math.exp(self.world.pass_value)] + [
            math.exp(float(values[row])) for _, row in looked
        ]
        pick = rng.choices(range(len(weights)), weights)[0]
        if pick == 0:
            return
        position, row = looked[pick - 1]
        event = self.catalog.events[row]
        common = {"user_id": user.user_id, "event_id": event.event_id, "feed_id": feed_id}
        if rng.random() < self.world.purchase_share:
            self.aura.submit_reward(action="purchase", **common)
            user.owned.add(event.event_id)
        else:
            self.aura.log_behavior(action="click", position=position, **common)
        user.taken.add(event.event_id)
        for category in event.categories:
            user.appeal[CATEGORIES.index(category)] += self.world.drift

    def stranger(self, quiet: GradedUser, session: int) -> float:
        """What an unknown user of the twin's age and place gets, by the twin's tastes."""
        _, interests, best = self.measure(quiet)
        stranger_id = f"{quiet.user_id}-stranger-{session}"
        self.aura.onboard(user_id=stranger_id, intent=quiet.intent, age=quiet.age)
        rows = self.serve(stranger_id, quiet, f"{stranger_id}-s{session}")
        return float(interests[rows].sum()) / best if best > 0 else 0.0


def stale_share(user: GradedUser) -> float:
    """The share of the last list held by events shown in each of the STALE_SESSIONS lists
    before it and never taken."""
    if len(user.shown) <= STALE_SESSIONS:
        return 0.0
    last, before = user.shown[-1], user.shown[-1 - STALE_SESSIONS : -1]
    stale = {e for e in last if all(e in shown for shown in before) and e not in user.taken}
    return len(stale) / max(len(last), 1)


def add_new_events(aura: AuraClient, users: list[GradedUser], server: Target) -> dict[str, str]:
    """One event per user, fitted to their tastes of the moment; user_id -> event_id."""
    events, mine = [], {}
    starts = server.now() + timedelta(days=2)
    for number, user in enumerate(users):
        category = CATEGORIES[int(np.argmax(user.appeal))]
        bearing = 2 * math.pi * number / max(len(users), 1)
        dlat = NEW_EVENT_KM / 111.0 * math.sin(bearing)
        dlng = NEW_EVENT_KM / (111.0 * math.cos(math.radians(user.lat))) * math.cos(bearing)
        event_id = f"new-{user.user_id}"
        events.append(
            types_pb2.Event(
                event_id=event_id,
                title=f"New {category} night",
                categories=[category],
                venue="A new venue",
                city=user.home.city,
                neighborhood=user.home.name,
                lat=user.lat + dlat,
                lng=user.lng + dlng,
                starts_at=Timestamp(seconds=int(starts.timestamp())),
                price_min=round(min(user.budget * 0.5, 25.0), 2),
                price_max=round(min(user.budget * 0.5, 25.0), 2),
            )
        )
        mine[user.user_id] = event_id
    aura.upsert_events(events=events)
    return mine


def run_world(world: World, users: int, sessions: int, new_at: int) -> Outcome:
    outcome = Outcome(Scores(sessions))
    with aura_target() as server, AuraClient(server.address) as aura:
        catalog = CatalogArrays.of(load_catalog(aura))
        graded = draw_users(world, users, random.Random(2000 + world.index))
        quiet = [twin(u) for u in graded]
        for user in graded + quiet:
            aura.onboard(user_id=user.user_id, intent=user.intent, age=user.age)
        new_events: dict[str, str] = {}
        hits: dict[str, bool] = {}
        for session in range(1, sessions + 1):
            if session == new_at:
                new_events = add_new_events(aura, graded, server)
                catalog = CatalogArrays.of(load_catalog(aura))
            play = Session(aura, server, world, catalog)
            for user in graded:
                score, rows = play.run(user, session)
                outcome.scores.add("graded", session - 1, score)
                outcome.scores.add("stale share", session - 1, stale_share(user))
                if user.user_id in new_events and new_at <= session <= new_at + 1:
                    shown = {catalog.events[row].event_id for row in rows}
                    hit = new_events[user.user_id] in shown
                    hits[user.user_id] = hits.get(user.user_id, False) or hit
            for user in quiet:
                score, _ = play.run(user, session)
                outcome.scores.add("quiet", session - 1, score)
                outcome.scores.add("stranger", session - 1, play.stranger(user, session))
            print(
                f"  world {world.index}: session {session}/{sessions}, graded "
                f"{outcome.scores.mean('graded', session - 1):.2f}, quiet "
                f"{outcome.scores.mean('quiet', session - 1):.2f}, stranger "
                f"{outcome.scores.mean('stranger', session - 1):.2f}",
                flush=True,
            )
        outcome.new_event_hits = list(hits.values())
    return outcome


GROUPS = ("graded", "quiet", "stranger", "stale share")


def late(scores: Scores, group: str) -> float:
    return statistics.fmean(scores.mean(group, s - 1) for s in range(LATE[0], LATE[1] + 1))


def report(outcomes: list[Outcome], sessions: int) -> list[str]:
    worlds = [o.scores for o in outcomes]
    lines = ["interest of the top 10 / best possible, mean over worlds [lowest-highest world]"]
    lines.append(f"{'session':>7} " + " ".join(f"{g:>17}" for g in GROUPS))
    for session in range(sessions):
        cells = [spread([w.mean(g, session) for w in worlds]) for g in GROUPS]
        lines.append(f"{session + 1:>7} " + " ".join(f"{c:>17}" for c in cells))
    margins = [
        min(w.mean("quiet", s) - w.mean("stranger", s) for s in range(sessions)) for w in worlds
    ]
    hits = [statistics.fmean(o.new_event_hits) for o in outcomes if o.new_event_hits]
    lines += [
        "",
        f"targets (sessions {LATE[0]}-{LATE[1]} unless said):",
        f"  graded users:                  {spread([late(w, 'graded') for w in worlds])}"
        "   target >= 0.78",
        "  ... over quiet users:          "
        f"{spread([late(w, 'graded') - late(w, 'quiet') for w in worlds])}   target >= +0.2",
        f"  quiet - stranger, worst session: {spread(margins)}   target >= 0 (noise: ~0.01)",
        f"  new events in the top 10 within two sessions: {spread(hits)}   target: all",
        f"  stale share of the top 10:     {spread([late(w, 'stale share') for w in worlds])}",
    ]
    return lines


def plot(outcomes: list[Outcome], sessions: int, new_at: int, path: Path) -> None:
    plt = pyplot()
    x = np.arange(1, sessions + 1)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for group in GROUPS:
        per_world = np.array([[o.scores.mean(group, s) for s in range(sessions)] for o in outcomes])
        style = "--" if group in ("stranger", "stale share") else "-"
        (drawn,) = ax.plot(x, per_world.mean(axis=0), style, marker="o", label=group)
        ax.fill_between(
            x, per_world.min(axis=0), per_world.max(axis=0), color=drawn.get_color(), alpha=0.15
        )
    ax.axvline(new_at, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("session (dotted: new events added)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title(f"Aura on graded-taste, quiet and new users, {len(outcomes)} worlds")
    save(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--worlds", type=int, default=4)
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--sessions", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7, help="draws the worlds")
    parser.add_argument("--plot", type=Path, default=Path("var/simulate_kinds.png"))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if args.sessions < LATE[1]:
        parser.error(f"--sessions must be at least {LATE[1]}")
    new_at = args.sessions // 2
    rng = random.Random(args.seed)
    worlds = [draw_world(index, rng) for index in range(1, args.worlds + 1)]
    for world in worlds:
        print(world.describe(), flush=True)
    # Spawned, not forked: a forked gRPC runtime is not safe to use in the child.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max(1, args.jobs), mp_context=context) as pool:
        futures = [
            pool.submit(run_world, world, args.users, args.sessions, new_at) for world in worlds
        ]
        outcomes = [future.result() for future in futures]
    print("\n".join(report(outcomes, args.sessions)))
    plot(outcomes, args.sessions, new_at, args.plot)


if __name__ == "__main__":
    main()
