"""How well could any learner do on simulate_product's users? A Bayesian reference agent.

The agent plays simulate_product's worlds and users without Aura (the same draws of
worlds and users; reactions drawn by the same model). It knows the simulator's world
(attention down the list, how utility turns into purchases, clicks and skips, whether
views are sent) and, with `--fit true`, each user's true nearness and price fit (`prior`:
2.5 km and $40 for everyone); it learns only the category tastes: 50,000 taste
vectors drawn from a prior (`--prior favourites`: the simulator's own, one to three
favourites; `beta`: every kind independently Beta(0.6, 3.4), Aura's prior), weighted by
the likelihood of every reaction (`--likelihood exact`: the simulator's model; `exposure`:
Aura's evidence, a pass counted by position and fit, a click 1.15, a purchase 1.5, a skip
3). Each feed is the top 10 by posterior mean utility; nothing else explores. It is told
when a user's tastes change (its posterior starts over), which Aura is not.

    python scripts/reference_product.py [--seed 31] [--worlds 18] [--fit true|prior]
        [--prior favourites|beta] [--likelihood exact|exposure]

Prints the per-session means for steady and changing users and the figures
simulate_product reports as targets. Aura's own figures come from simulate_product.
"""

from __future__ import annotations

import argparse
import random
import statistics
from datetime import UTC, datetime

import numpy as np
from aura_client import AuraClient
from simlib import CatalogArrays, aura_target, load_catalog
from simulate_product import (
    LATE,
    RADIUS_KM,
    SLOTS,
    WINDOW,
    World,
    draw_users,
    draw_world,
    react,
)

from aura_server.domain.taxonomy import CATEGORIES

KINDS = len(CATEGORIES)
PRIOR_FIT_TRAVEL_KM, PRIOR_FIT_BUDGET, PRIOR_FIT_SOFTNESS = 2.5, 40.0, 14.0


def favourite_prior(world: World, n: int, rng: np.random.Generator) -> np.ndarray:
    """Taste vectors drawn as simulate_product draws them."""
    count = rng.choice([1, 2, 2, 3], size=n)
    order = np.argsort(rng.random((n, KINDS)), axis=1)
    tastes = rng.uniform(0, world.background_taste, size=(n, KINDS))
    rows = np.arange(n)
    tastes[rows, order[:, 0]] = 1.0
    second, third = order[:, 1], order[:, 2]
    tastes[rows, second] = np.where(count >= 2, rng.uniform(0.5, 1.0, n), tastes[rows, second])
    tastes[rows, third] = np.where(count >= 3, rng.uniform(0.3, 0.8, n), tastes[rows, third])
    return tastes


def beta_prior(world: World, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.beta(0.6, 3.4, size=(n, KINDS))


def exact_likelihood(u: np.ndarray, look: float, world: World, outcome: str) -> np.ndarray:
    buy = np.minimum(world.buy_gain * u, 1)
    engage = np.minimum((world.buy_gain + world.click_gain) * u, 1)
    rest = 1 - engage
    if outcome == "purchase":
        return look * buy
    if outcome == "click":
        return look * (engage - buy)
    if outcome == "skip":
        return look * rest * world.skip_share
    if outcome == "view":
        return look * rest * (1 - world.skip_share)
    unseen = 1 - look
    return unseen if world.sends_views else unseen + look * rest * (1 - world.skip_share)


def exposure_log_likelihood(
    taste: np.ndarray, fit: float, position: int, outcome: str
) -> np.ndarray:
    chance = np.log(np.clip(taste, 0.01, 0.9))
    miss = np.log(1 - np.clip(taste, 0.01, 0.9))
    if outcome == "purchase":
        return 1.5 * chance
    if outcome == "click":
        return 1.15 * chance
    if outcome == "skip":
        return 3.0 * miss
    return fit / (1 + 0.3 * position) * miss


def play(
    world: World, catalog: CatalogArrays, args: argparse.Namespace, groups: dict[str, list]
) -> None:
    kinds = [np.flatnonzero(row) for row in catalog.categories]
    pairs = np.array([[k[0], k[-1]] for k in kinds])
    combos, combo_of = np.unique(pairs, axis=0, return_inverse=True)
    combo_of = combo_of.ravel()
    rng = np.random.default_rng(args.seed * 100 + world.index)
    draw = favourite_prior if args.prior == "favourites" else beta_prior
    particles = draw(world, args.particles, rng)
    # Per particle and category combination, the taste of an event of that combination.
    by_combo = np.maximum(particles[:, combos[:, 0]], particles[:, combos[:, 1]])
    people = random.Random(1000 + world.index)
    for user in draw_users(world, args.users, args.sessions, people, "sim"):
        distances = catalog.distances_km(user.lat, user.lng)
        if args.fit == "true":
            over = np.maximum(catalog.price - user.budget, 0.0)
            near = np.exp(-((distances / user.travel_km) ** user.travel_shape))
            fit = np.exp(-over / user.price_softness) * near
        else:
            over = np.maximum(catalog.price - PRIOR_FIT_BUDGET, 0.0)
            fit = np.exp(-over / PRIOR_FIT_SOFTNESS) * np.exp(-distances / PRIOR_FIT_TRAVEL_KM)
        now = datetime.now(UTC).timestamp()
        upcoming = (
            (catalog.starts_at >= now)
            & (catalog.starts_at <= now + WINDOW.total_seconds())
            & (distances <= RADIUS_KM)
        )
        owned = np.zeros(len(fit), dtype=bool)
        log_weights = np.zeros(args.particles)
        group = groups["changing" if user.change_at else "steady"]
        for session in range(1, args.sessions + 1):
            if user.change_at and session == user.change_at:
                log_weights[:] = 0.0  # told of the change: start over
            utilities = user.utilities(catalog, distances, session)
            eligible = np.flatnonzero(upcoming & ~owned)
            best = np.sort(utilities[eligible])[::-1][:SLOTS].sum()
            weights = np.exp(log_weights - log_weights.max())
            expected = (weights / weights.sum()) @ by_combo
            shown = eligible[np.argsort(-expected[combo_of[eligible]] * fit[eligible])[:SLOTS]]
            group[session - 1].append(float(utilities[shown].sum() / best) if best > 0 else 0.0)
            for position, row in enumerate(shown):
                outcome = react(world, float(utilities[row]), position, people)
                if outcome == "passed":  # what the agent sees: a view, or nothing
                    outcome = "view" if world.sends_views else "nothing"
                elif outcome == "unseen":
                    outcome = "nothing"
                owned[row] |= outcome == "purchase"
                taste = by_combo[:, combo_of[row]]
                if args.likelihood == "exact":
                    look = 1 / (1 + world.position_decay * position)
                    chance = exact_likelihood(taste * fit[row], look, world, outcome)
                    log_weights += np.log(chance + 1e-12)
                else:
                    log_weights += exposure_log_likelihood(taste, fit[row], position, outcome)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--worlds", type=int, default=18)
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--sessions", type=int, default=12)
    parser.add_argument("--particles", type=int, default=50_000)
    parser.add_argument("--fit", choices=("true", "prior"), default="true")
    parser.add_argument("--prior", choices=("favourites", "beta"), default="favourites")
    parser.add_argument("--likelihood", choices=("exact", "exposure"), default="exact")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    worlds = [draw_world(index, rng) for index in range(1, args.worlds + 1)]
    with aura_target() as address, AuraClient(address) as aura:
        catalog = CatalogArrays.of(load_catalog(aura))
    groups: dict[str, list] = {
        name: [[] for _ in range(args.sessions)] for name in ("steady", "changing")
    }
    for number, world in enumerate(worlds, 1):
        play(world, catalog, args, groups)
        print(f"\r  world {number}/{len(worlds)}", end="", flush=True)
    print()
    for name, sessions in groups.items():
        print(f"{name:>9}: " + " ".join(f"{statistics.fmean(s):.2f}" for s in sessions))
    late = statistics.fmean(
        statistics.fmean(groups["steady"][s - 1]) for s in range(LATE[0], LATE[1] + 1)
    )
    change_at = args.sessions // 2 + 1
    after = statistics.fmean(groups["changing"][change_at - 1 + 3])
    print(
        f"fit {args.fit}, prior {args.prior}, likelihood {args.likelihood}: steady users, "
        f"sessions {LATE[0]}-{LATE[1]}: {late:.3f}; changed tastes, session {change_at + 3}: "
        f"{after:.3f}"
    )


if __name__ == "__main__":
    main()
