"""How well could any learner do on simulate_product's users? A Bayesian reference agent.

The agent plays simulate_product's worlds and users without Aura (the same draws of
worlds and users; reactions drawn by the same model). It knows the simulator's world
(attention down the list, how utility turns into purchases, clicks and skips, whether
views are sent) and, with `--fit true`, each user's true nearness and price fit (`prior`:
2.5 km and $40 for everyone); it learns only the category tastes: 50,000 taste
vectors drawn from a prior (`--prior favourites`: the simulator's own, one to three
favourites; `beta`: every kind independently Beta(0.6, 3.4), Aura's prior), weighted by
the likelihood of every reaction (`--likelihood exact`: the simulator's model; `exposure`:
Aura's evidence, with Aura's constants: a pass counted by position and fit, a click 1.15
engagements, a purchase 1.5, a skip 1 pass). Each feed is the top 10 by posterior mean
utility; nothing else explores. It is told when a user's tastes change (its posterior
starts over), which Aura is not: `--told at-change` before the first feed after the change;
`after-a-feed` only once that feed is answered (the best any learner could do that
notices the change from what the user does: it starts over before the next feed, keeping
that feed's answers); `never`.

    python scripts/reference_product.py [--seed 31] [--worlds 18] [--fit true|prior]
        [--prior favourites|beta] [--likelihood exact|exposure]
        [--told at-change|after-a-feed|never]

Prints the per-session means for steady and changing users and the figures
simulate_product reports as targets. Aura's own figures come from simulate_product.
"""

from __future__ import annotations

import argparse
import random
import statistics
from datetime import datetime

import numpy as np
from aura_client import AuraClient
from simlib import CatalogArrays, aura_target, load_catalog
from simulate_product import (
    AFTER_CHANGE,
    LATE,
    SLOTS,
    Scores,
    World,
    change_session,
    draw_taste,
    draw_users,
    draw_world,
    late_mean,
    react,
    require_late_sessions,
    upcoming_nearby,
)

from aura_server.domain.learning import tastes
from aura_server.domain.learning.actions import action_reward
from aura_server.domain.taxonomy import CATEGORIES

# A taste of 1 would make a pass impossible under the exposure likelihood.
LIKELIHOOD_TASTE_RANGE = (0.01, 0.9)


def favourite_prior(world: World, n: int, rng: random.Random) -> np.ndarray:
    """Taste vectors drawn by simulate_product's own draw."""
    return np.stack([draw_taste(rng, world, set())[1] for _ in range(n)])


def beta_prior(world: World, n: int, rng: random.Random) -> np.ndarray:
    """Every kind independently from Aura's prior: mean BASE_TASTE worth PRIOR_STRENGTH."""
    strength, mean = tastes.PRIOR_STRENGTH, tastes.BASE_TASTE
    draws = np.random.default_rng(rng.getrandbits(64))
    return draws.beta(strength * mean, strength * (1 - mean), size=(n, len(CATEGORIES)))


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
    """Aura's taste evidence (tastes.record and tastes.expose) as a log-likelihood: a
    positive action is LIKED_BASE + LIKED_PER_REWARD x reward engagements, a skip
    NEGATIVE_WEIGHT x |reward| passes, anything else a pass of the item's exposure
    (position prior x fit; the agent's fit, where Aura uses its cautious one)."""
    taste = np.clip(taste, *LIKELIHOOD_TASTE_RANGE)
    if outcome in ("purchase", "click"):
        reward = action_reward(outcome) or 0.0
        return (tastes.LIKED_BASE + tastes.LIKED_PER_REWARD * reward) * np.log(taste)
    if outcome == "skip":
        return tastes.NEGATIVE_WEIGHT * -(action_reward("skip") or 0.0) * np.log(1 - taste)
    return tastes.position_weight(position) * fit * np.log(1 - taste)


def play(world: World, catalog: CatalogArrays, now: datetime, args: argparse.Namespace) -> Scores:
    """One world's users served by the agent: their scores by session, grouped as
    simulate_product groups them ("steady", "tastes change")."""
    kinds = [np.flatnonzero(row) for row in catalog.categories]
    pairs = np.array([[k[0], k[-1]] for k in kinds])
    combos, combo_of = np.unique(pairs, axis=0, return_inverse=True)
    combo_of = combo_of.ravel()
    rng = random.Random(args.seed * 100 + world.index)
    draw = favourite_prior if args.prior == "favourites" else beta_prior
    particles = draw(world, args.particles, rng)
    scores = Scores(args.sessions)
    # Per particle and category combination, the taste of an event of that combination.
    by_combo = np.maximum(particles[:, combos[:, 0]], particles[:, combos[:, 1]])
    people = random.Random(1000 + world.index)
    for user in draw_users(world, args.users, args.sessions, people, "sim"):
        distances = catalog.distances_km(user.lat, user.lng)
        if args.fit == "true":
            fit = user.fit(catalog, distances)
        else:  # Aura's prior: the default travel distance and budget for everyone
            fit = tastes.nearness(distances, tastes.DEFAULT_TRAVEL_KM) * tastes.price_fit(
                catalog.price, tastes.DEFAULT_BUDGET
            )
        upcoming = upcoming_nearby(catalog, distances, now)
        owned = np.zeros(len(fit), dtype=bool)
        log_weights = np.zeros(args.particles)
        group = "tastes change" if user.change_at else "steady"
        told_at = {"at-change": user.change_at, "after-a-feed": user.change_at + 1}.get(
            args.told, 0
        )
        since_change = np.zeros(args.particles)  # the evidence from the change on
        for session in range(1, args.sessions + 1):
            if user.change_at and session == told_at:
                log_weights = since_change.copy()  # told of the change: start over
            utilities = user.utilities(catalog, distances, session)
            eligible = np.flatnonzero(upcoming & ~owned)
            best = np.sort(utilities[eligible])[::-1][:SLOTS].sum()
            weights = np.exp(log_weights - log_weights.max())
            expected = (weights / weights.sum()) @ by_combo
            shown = eligible[np.argsort(-expected[combo_of[eligible]] * fit[eligible])[:SLOTS]]
            scores.add(group, session - 1, float(utilities[shown].sum() / best) if best else 0.0)
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
                    evidence = np.log(chance + 1e-12)
                else:
                    evidence = exposure_log_likelihood(taste, fit[row], position, outcome)
                log_weights += evidence
                if user.change_at and session >= user.change_at:
                    since_change += evidence
    return scores


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
    parser.add_argument(
        "--told", choices=("at-change", "after-a-feed", "never"), default="at-change"
    )
    args = parser.parse_args()
    require_late_sessions(parser, args.sessions)
    rng = random.Random(args.seed)
    worlds = [draw_world(index, rng) for index in range(1, args.worlds + 1)]
    with aura_target() as server, AuraClient(server.address) as aura:
        catalog = CatalogArrays.of(load_catalog(aura))
        now = server.now()  # the moment the simulator's feeds are served at
    worlds_scores = []
    for number, world in enumerate(worlds, 1):
        worlds_scores.append(play(world, catalog, now, args))
        print(f"\r  world {number}/{len(worlds)}", end="", flush=True)
    print()
    for group in ("steady", "tastes change"):
        means = [
            statistics.fmean(w.mean(group, s) for w in worlds_scores) for s in range(args.sessions)
        ]
        print(f"{group:>13}: " + " ".join(f"{m:.2f}" for m in means))
    late = statistics.fmean(late_mean(w, "steady") for w in worlds_scores)
    change_at = change_session(args.sessions)
    after = statistics.fmean(
        w.mean("tastes change", change_at - 1 + AFTER_CHANGE) for w in worlds_scores
    )
    print(
        f"fit {args.fit}, prior {args.prior}, likelihood {args.likelihood}, "
        f"told {args.told}: steady users, sessions {LATE[0]}-{LATE[1]}: {late:.3f}; "
        f"changed tastes, session {change_at + AFTER_CHANGE}: {after:.3f}"
    )


if __name__ == "__main__":
    main()
