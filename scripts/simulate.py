"""Simulated users with hidden tastes use Aura over gRPC; does it learn them?

Each user has a hidden taste: two favourite categories, a budget, a home neighborhood and
the hours they like to go out. Their true utility for an event is

    u = 0.55 category (1 favourite, 0.7 second favourite) + 0.20 price (1 within budget,
        decaying above it) + 0.15 nearness (halved every ~2.8 km) + 0.10 time of day

Each session a user asks for a feed of 10, looks down it with position bias (slot k is
seen with probability 1 / (1 + 0.3 k)), buys a seen event with probability
1.6 x max(0, u - 0.45), clicks others they like (u > 0.5) and skips the rest; every action
goes back to Aura as a behavior or reward. The same users also meet a non-learning
popularity ranking (the catalog's top 10 by popularity within 30 km) with the same
behaviour model. Per session it prints, for both, the purchase rate and the mean true
utility of the top 10 relative to the best possible top 10 from the same candidates, and it
writes a PNG learning curve.

    python scripts/simulate.py [--users 40] [--sessions 20] [--target HOST:PORT]

Without --target it starts Aura in this process on a fresh store with the demo catalog.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aura_client import AuraClient
from benchlib import pyplot, save
from simlib import SimEvent as Event
from simlib import Target, aura_target, km, load_catalog

from aura_server.domain.taxonomy import CATEGORIES, NEIGHBORHOODS_BY_NAME

NEW_YORK = ZoneInfo("America/New_York")
HOMES = (
    "Lower East Side",
    "East Village",
    "Chelsea",
    "Harlem",
    "Williamsburg",
    "Bushwick",
    "Park Slope",
    "Astoria",
    "Long Island City",
    "Upper West Side",
)
HOODS = {name: (NEIGHBORHOODS_BY_NAME[name].lat, NEIGHBORHOODS_BY_NAME[name].lng) for name in HOMES}
TIME_TASTES = {"daytime": range(7, 17), "evening": range(17, 22), "late": (22, 23, 0, 1, 2, 3)}
RADIUS_KM = 30.0
SLOTS = 10


@dataclass
class SimUser:
    user_id: str
    favourites: tuple[str, str]
    budget: float
    home: str
    time_taste: str
    age: int
    owned: set[str] = field(default_factory=set)  # bought or hidden: never shown again

    def utility(self, event: Event) -> float:
        first, second = self.favourites
        category = max(
            1.0 if first in event.categories else 0.0,
            0.7 if second in event.categories else 0.0,
        )
        price = 1.0 if event.price <= self.budget else math.exp(-(event.price - self.budget) / 25)
        lat, lng = HOODS[self.home]
        near = math.exp(-km(lat, lng, event.lat, event.lng) / 4.0)
        hour = event.starts_at.astimezone(NEW_YORK).hour
        timing = 1.0 if hour in TIME_TASTES[self.time_taste] else 0.0
        return 0.55 * category + 0.20 * price + 0.15 * near + 0.10 * timing


def buy_probability(utility: float) -> float:
    return min(1.0, 1.6 * max(0.0, utility - 0.45))


@dataclass
class SessionOutcome:
    purchases: int
    shown: int
    utility_ratio: float


def eligible(user: SimUser, catalog: list[Event], now: datetime) -> list[Event]:
    lat, lng = HOODS[user.home]
    return [
        e
        for e in catalog
        if e.event_id not in user.owned
        and now <= e.starts_at <= now + timedelta(days=14)
        and km(lat, lng, e.lat, e.lng) <= RADIUS_KM
    ]


def react(user: SimUser, shown: list[Event], rng: random.Random) -> list[tuple[Event, str]]:
    """What the user does with a list: (event, action) for each slot they look at."""
    actions = []
    for position, event in enumerate(shown):
        if rng.random() > 1 / (1 + 0.3 * position):
            continue
        utility = user.utility(event)
        if rng.random() < buy_probability(utility):
            actions.append((event, "purchase"))
        elif utility > 0.5:
            actions.append((event, "click"))
        else:
            actions.append((event, "skip"))
    return actions


def outcome(user: SimUser, shown: list[Event], pool: list[Event], purchases: int) -> SessionOutcome:
    best = sorted((user.utility(e) for e in pool), reverse=True)[:SLOTS]
    got = [user.utility(e) for e in shown]
    ratio = statistics.fmean(got) / statistics.fmean(best) if got and best else 0.0
    return SessionOutcome(purchases, len(shown), ratio)


def onboard(aura: AuraClient, user: SimUser, rng: random.Random) -> None:
    stated = [user.favourites[0]] if rng.random() < 0.5 else []
    aura.onboard(
        user_id=user.user_id,
        intent="explore",
        age=user.age,
        neighborhood=user.home,
        favorite_categories=stated,
    )


def feed(aura: AuraClient, user: SimUser) -> tuple[str, list[str]]:
    lat, lng = HOODS[user.home]
    reply = aura.feed(user_id=user.user_id, lat=lat, lng=lng, limit=SLOTS)
    return reply.feed_id, [item.event.event_id for item in reply.items]


def send(aura: AuraClient, user: SimUser, feed_id: str, event: Event, action: str) -> None:
    common = {"user_id": user.user_id, "event_id": event.event_id, "feed_id": feed_id}
    if action == "purchase":
        aura.submit_reward(action="purchase", **common)
        return
    for name in ("view", action):
        aura.log_behavior(action=name, **common)


def make_users(count: int, rng: random.Random) -> list[SimUser]:
    run = uuid.uuid4().hex[:6]
    users = []
    for number in range(count):
        first, second = rng.sample(CATEGORIES, 2)
        users.append(
            SimUser(
                user_id=f"sim-{run}-{number}",
                favourites=(first, second),
                budget=rng.choice((15, 25, 40, 60, 100)),
                home=rng.choice(list(HOODS)),
                time_taste=rng.choice(list(TIME_TASTES)),
                age=rng.randint(19, 60),
            )
        )
    return users


def plot(
    aura: list[list[SessionOutcome]], baseline: list[list[SessionOutcome]], path: Path
) -> None:
    plt = pyplot()

    sessions = range(1, len(aura) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for label, runs, style in (("Aura", aura, "-o"), ("popularity", baseline, "--s")):
        left.plot(
            sessions,
            [statistics.fmean(o.utility_ratio for o in s) for s in runs],
            style,
            label=label,
        )
        right.plot(
            sessions,
            [sum(o.purchases for o in s) / sum(o.shown for o in s) for s in runs],
            style,
            label=label,
        )
    left.axhline(0.7, color="grey", linewidth=0.8, linestyle=":")
    left.set_title("top-10 utility / best possible top-10")
    right.set_title("purchases per item shown")
    for ax in (left, right):
        ax.set_xlabel("session")
        ax.legend()
    fig.suptitle("Aura learning simulated users' hidden tastes")
    save(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--target", default="", help="a running server (HOST:PORT)")
    parser.add_argument("--plot", type=Path, default=Path("var/simulate.png"))
    args = parser.parse_args()

    with aura_target(args.target) as server, AuraClient(server.address) as aura:
        run(aura, args, server)


def run(aura: AuraClient, args: argparse.Namespace, server: Target) -> None:
    """The sessions, against `server` (simlib.Target: its clock, and its wait for each list
    to be written)."""
    catalog = load_catalog(aura)
    by_id = {e.event_id: e for e in catalog}
    rng = random.Random(args.seed)
    users = make_users(args.users, rng)
    shadows = {u.user_id: SimUser(**{**vars(u), "owned": set()}) for u in users}
    for user in users:
        onboard(aura, user, rng)

    aura_runs: list[list[SessionOutcome]] = []
    base_runs: list[list[SessionOutcome]] = []
    print(
        f"{'session':>7} | {'Aura buy rate':>13} {'utility':>7} | {'popular buy rate':>16} "
        f"{'utility':>7}"
    )
    for session in range(1, args.sessions + 1):
        now = server.now()
        aura_session, base_session = [], []
        for user in users:
            pool = eligible(user, catalog, now)
            server.settle()  # the model has learned from everything sent so far
            feed_id, ids = feed(aura, user)
            server.settle()
            shown = [by_id[i] for i in ids if i in by_id]
            bought = 0
            for event, action in react(user, shown, rng):
                send(aura, user, feed_id, event, action)
                if action == "purchase":
                    bought += 1
                    user.owned.add(event.event_id)
            aura_session.append(outcome(user, shown, pool, bought))

            shadow = shadows[user.user_id]
            base_pool = eligible(shadow, catalog, now)
            base_shown = sorted(base_pool, key=lambda e: -e.popularity)[:SLOTS]
            base_bought = 0
            for event, action in react(shadow, base_shown, rng):
                if action == "purchase":
                    base_bought += 1
                    shadow.owned.add(event.event_id)
            base_session.append(outcome(shadow, base_shown, base_pool, base_bought))
        aura_runs.append(aura_session)
        base_runs.append(base_session)
        a_rate = sum(o.purchases for o in aura_session) / sum(o.shown for o in aura_session)
        b_rate = sum(o.purchases for o in base_session) / sum(o.shown for o in base_session)
        a_utility = statistics.fmean(o.utility_ratio for o in aura_session)
        b_utility = statistics.fmean(o.utility_ratio for o in base_session)
        print(
            f"{session:>7} | {a_rate:>13.3f} {a_utility:>7.3f} | {b_rate:>16.3f} {b_utility:>7.3f}",
            flush=True,
        )
    plot(aura_runs, base_runs, args.plot)


if __name__ == "__main__":
    main()
