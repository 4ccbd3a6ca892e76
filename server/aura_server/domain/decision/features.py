"""The learner's view of a decision, as Vowpal Wabbit text.

Shared line (namespace U: the user; T: the moment):
    shared |U u_ana c3:0.75 l12:0.5 price_30 intent_explore age_25-34 |T hour_21 day_4 weekend_0
Action line per event (namespace E):
    |E c3 c1 t_warehouse t_dj price_30 hood_15 boro_1 start_21 sday_4 km_3 in_2 in_5
       soon_24 pop_4

Interactions -q UE and -q TE let the model learn how a user's tastes and the moment meet an
event's traits. Numbers are bucketed so the model generalises across events; the distance
from where the user asked is also given as "within" flags (in_0.5, in_1, in_2, in_5 km),
so a user's weight on in_1 can say "only what is within a kilometre" while a tolerant
user's weights stay flat.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from aura_server.domain.arrays import FloatArray, IntArray
from aura_server.domain.clock import NEW_YORK
from aura_server.domain.models import Event, UserProfile
from aura_server.domain.taxonomy import (
    BOROUGHS,
    CATEGORY_CODES,
    NEIGHBORHOODS,
    age_bracket,
)

_HOOD_CODES = {hood.name: code for code, hood in enumerate(NEIGHBORHOODS)}
_BOROUGH_CODES = {name: code for code, name in enumerate(BOROUGHS)}
_UNSAFE = re.compile(r"[^a-z0-9]+")
PRICE_EDGES = (0.0, 15.0, 30.0, 50.0, 80.0, 120.0)
KM_EDGES = (1.0, 3.0, 7.0, 15.0)
WITHIN_KM = (0.5, 1.0, 2.0, 5.0)
HOURS_EDGES = (3.0, 12.0, 24.0, 72.0, 168.0)


def _bucket(value: float, edges: tuple[float, ...]) -> str:
    """The first edge the value does not exceed, or the last one with a '+'."""
    for edge in edges:
        if value <= edge:
            return f"{edge:g}"
    return f"{edges[-1]:g}+"


def _token(text: str) -> str:
    return _UNSAFE.sub("_", text.lower()).strip("_")


def shared_features(profile: UserProfile | None, now: datetime) -> str:
    user: list[str] = []
    if profile is not None:
        # The user's own id lets the model learn tastes the profile does not spell out.
        user.append(f"u_{_token(profile.user_id)}")
        for category, preference in profile.category_preferences().items():
            if preference and category in CATEGORY_CODES:
                user.append(f"c{CATEGORY_CODES[category]}:{preference:.4f}")
        for (_, hood), score in profile.locations.items():
            if score > 0 and hood in _HOOD_CODES:
                user.append(f"l{_HOOD_CODES[hood]}:{score:.4f}")
        if profile.price_range is not None:
            user.append("price_" + _bucket(profile.price_range.avg, PRICE_EDGES))
        if profile.intent:
            user.append(f"intent_{profile.intent}")
        bracket = age_bracket(profile.age)
        if bracket:
            user.append(f"age_{bracket}")
    if not user:
        user.append("anonymous")
    local = now.astimezone(NEW_YORK)
    moment = f"hour_{local.hour} day_{local.weekday()} weekend_{int(local.weekday() >= 4)}"
    return f"shared |U {' '.join(user)} |T {moment}"


def event_traits(event: Event) -> str:
    """The part of an event's features that does not depend on the request."""
    local = event.starts_at.astimezone(NEW_YORK)
    traits = [f"c{CATEGORY_CODES[c]}" for c in event.categories if c in CATEGORY_CODES]
    traits += [f"t_{_token(tag)}" for tag in event.tags if _token(tag)]
    if event.price_min is not None:
        traits.append("price_" + _bucket(event.price_min, PRICE_EDGES))
    if event.neighborhood in _HOOD_CODES:
        traits.append(f"hood_{_HOOD_CODES[event.neighborhood]}")
    if event.city in _BOROUGH_CODES:
        traits.append(f"boro_{_BOROUGH_CODES[event.city]}")
    traits.append(f"start_{local.hour}")
    traits.append(f"sday_{local.weekday()}")
    return " ".join(traits)


# Distances fall in bands whose edges are those of the km buckets and the "within" flags
# together: within a band, an event's action line is the same.
DISTANCE_BAND_EDGES = tuple(sorted({*KM_EDGES, *WITHIN_KM}))
POPULARITY_BANDS = 64  # log2(1 + popularity) as an int, capped for the cache key
MAX_CACHED_LINES = 200_000


def _distance_text(distance: float) -> str:
    km = _bucket(distance, KM_EDGES)
    within = "".join(f" in_{edge:g}" for edge in WITHIN_KM if distance <= edge)
    return f"km_{km}{within}"


# Per distance band and start band, the text: each band's upper edge stands for all of it.
_DISTANCE_TEXT = [_distance_text(edge) for edge in DISTANCE_BAND_EDGES] + [
    _distance_text(DISTANCE_BAND_EDGES[-1] + 1.0)
]
_SOON_TEXT = [f"soon_{edge:g}" for edge in HOURS_EDGES] + [f"soon_{HOURS_EDGES[-1]:g}+"]


class ActionTexts:
    """The action lines of one catalog snapshot's events, each built once per distance
    band, start band and popularity band it is asked for (at most MAX_CACHED_LINES kept):
    a Feed looks its lines up instead of formatting a few hundred strings.

    One action line per event: its traits plus how far, how soon and how popular."""

    def __init__(self, events: Sequence[Event]) -> None:
        self.events = events
        self._traits: dict[int, str] = {}
        self._lines: dict[int, str] = {}

    def traits(self, row: int) -> str:
        cached = self._traits.get(row)
        if cached is None:
            cached = self._traits[row] = event_traits(self.events[row])
        return cached

    def lines(
        self,
        rows: IntArray,
        distance_km: FloatArray,
        hours_until: FloatArray,
        popularity: FloatArray,
    ) -> list[str]:
        near = np.searchsorted(DISTANCE_BAND_EDGES, distance_km, side="left")
        soon = np.searchsorted(HOURS_EDGES, np.maximum(hours_until, 0.0), side="left")
        pop = np.minimum(
            np.log2(1 + np.maximum(popularity, 0.0)).astype(np.int64), POPULARITY_BANDS - 1
        )
        keys = ((rows * len(_DISTANCE_TEXT) + near) * len(_SOON_TEXT) + soon) * POPULARITY_BANDS
        keys += pop
        lines = self._lines
        if len(lines) > MAX_CACHED_LINES:
            lines.clear()
        found = []
        for key, row, band, start, popular in zip(
            keys.tolist(), rows.tolist(), near.tolist(), soon.tolist(), pop.tolist(), strict=True
        ):
            line = lines.get(key)
            if line is None:
                line = lines[key] = (
                    f"|E {self.traits(row)} {_DISTANCE_TEXT[band]} {_SOON_TEXT[start]} "
                    f"pop_{popular}"
                )
            found.append(line)
        return found
