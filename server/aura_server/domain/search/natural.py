"""Natural-language search: a parsed query becomes filters, then a personalised page.

The filters: categories, price overlap, the window (and the time slot when the query names
one outright), the neighborhood or borough, and vibe words matched against the event's
title, tags, description and venue. The survivors are ranked by the learned ranker, with
its exploration. When fewer than `limit` survive, filters are loosened one at a time in
this order until the page is full: vibe, time slot, neighborhood (to its borough), price
(by 25%); each loosening fills only the slots still empty (the stricter matches stay
first) and is reported in `relaxed`. The search is remembered with its list (the list's
record carries the query and the categories it named): when the profile next takes in the
lists shown (exposure.py), the search counts as a behavior and its categories as a light
preference. So a search, like a Feed, writes one row.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from aura_server.domain.catalog_index import CandidateFilter, CatalogIndex
from aura_server.domain.clock import utcnow
from aura_server.domain.decision.ranking import RankedItem, Ranker, Ranking, RankingContext
from aura_server.domain.decision.recommend import DEFAULT_LIMIT, FEED_WINDOW
from aura_server.domain.decision.serving import Search, Serving
from aura_server.domain.gazetteer import city_centre, gazetteer
from aura_server.domain.geo import CITY_RADIUS_KM
from aura_server.domain.models import UserProfile
from aura_server.domain.search.lexicon import VIBES
from aura_server.domain.search.query import ParsedQuery, QueryParser, hours_between, slot_hours

# The farthest ahead a named window may reach ("december 31").
MAX_WINDOW = timedelta(days=366)
# A named place is the area: events anywhere in it count, however far from the user.
PLACE_RADIUS_KM = 60.0
PRICE_WIDENING = 1.25
# A named place with no events of its own is searched this far around its centre.
AROUND_PLACE_KM = 1.5
RELAXATION_ORDER = ("vibe", "time_slot", "neighborhood", "price")


@dataclass(frozen=True)
class NaturalResult:
    feed_id: str
    parsed: ParsedQuery
    relaxed: list[str]
    items: list[RankedItem]
    cold_start: bool
    model_version: str
    degraded: bool = False


def _vibe_words(vibes: list[str]) -> tuple[str, ...]:
    words: list[str] = []
    for vibe in vibes:
        words.extend(VIBES.get(vibe, (vibe,)))
    return tuple(words)


class NaturalSearch:
    def __init__(
        self,
        serving: Serving,
        index: CatalogIndex,
        ranker: Ranker,
        parser: QueryParser,
    ) -> None:
        self.serving = serving
        self.index = index
        self.ranker = ranker
        self.parser = parser

    def search(
        self,
        user_id: str,
        query: str,
        lat: float | None = None,
        lng: float | None = None,
        limit: int = 0,
        now: datetime | None = None,
    ) -> NaturalResult:
        # The request's own rules (lengths, ranges, lat with lng) are the protos', checked
        # at the door (grpc_api/constraints.py).
        limit = limit or DEFAULT_LIMIT
        now = now or utcnow()
        parsed = self.parser.parse(query, now)
        state = self.serving.user_state(user_id)
        profile = state.profile
        centre, radius = self._area(parsed, lat, lng, profile)
        start = max(now, parsed.date_from or now)
        end = min(parsed.date_to or now + FEED_WINDOW, now + MAX_WINDOW)
        where = self._filter(parsed)
        feed_id = uuid.uuid4().hex
        context = RankingContext(profile, centre[0], centre[1], radius, now, feed_id, state.tastes)
        result, relaxed = self._rank_loosening(context, state.excluded, (start, end), where, limit)
        search = Search(query.strip(), tuple(parsed.categories))
        logged = self.serving.record(feed_id, user_id, "natural", context, limit, result, search)
        return NaturalResult(
            feed_id,
            parsed,
            relaxed,
            result.items,
            result.cold_start,
            result.model_version,
            degraded=state.degraded or not logged,
        )

    def _filter(self, parsed: ParsedQuery) -> CandidateFilter:
        where = CandidateFilter(
            categories=tuple(parsed.categories),
            excluded_categories=tuple(parsed.excluded_categories),
            price_min=parsed.price_min,
            price_max=parsed.price_max,
            start_hours=_start_hours(parsed),
            city=parsed.city,
            neighborhood=parsed.neighborhood,
            keywords=_vibe_words(parsed.vibe_keywords),
        )
        if where.neighborhood and where.neighborhood not in self.index.snapshot().neighborhoods:
            # A place with no events of its own (Kips Bay, Inwood): around its centre.
            where = dataclasses.replace(where, neighborhood="", around_km=AROUND_PLACE_KM)
        return where

    def _rank_loosening(
        self,
        context: RankingContext,
        excluded: frozenset[str],
        window: tuple[datetime, datetime],
        where: CandidateFilter,
        limit: int,
    ) -> tuple[Ranking, list[str]]:
        """Rank what the filters let through; while the list is short, loosen them in
        RELAXATION_ORDER, each step filling only the empty slots. Returns the list and the
        steps taken."""
        items: list[RankedItem] = []
        relaxed: list[str] = []
        pending = [step for step in RELAXATION_ORDER if _active(step, where)]
        while True:
            shown = excluded | {item.event.event_id for item in items}
            candidates = self.index.select(
                context.lat, context.lng, context.radius_km, *window, shown, where
            )
            step_context = dataclasses.replace(context, feed_id=f"{context.feed_id}:{len(relaxed)}")
            ranking = self.ranker.rank(step_context, candidates, limit - len(items))
            items += ranking.items
            if len(items) >= limit or not pending:
                result = Ranking(
                    items, ranking.cold_start, ranking.model_version, ranking.shared_features
                )
                return result, relaxed
            step = pending.pop(0)
            relaxed.append(step)
            where = _relax(step, where)

    def _area(
        self,
        parsed: ParsedQuery,
        lat: float | None,
        lng: float | None,
        profile: UserProfile | None,
    ) -> tuple[tuple[float, float], float]:
        """Where to search from, and how far: a named place is the area; otherwise the
        user's coordinates, their home, or the city centre."""
        if parsed.neighborhood:
            hood = gazetteer().place(parsed.neighborhood)
            return (hood.lat, hood.lng), PLACE_RADIUS_KM
        radius = PLACE_RADIUS_KM if parsed.city else CITY_RADIUS_KM
        if lat is not None and lng is not None:
            return (lat, lng), radius
        if profile is not None and profile.home_lat is not None and profile.home_lng is not None:
            return (profile.home_lat, profile.home_lng), radius
        if parsed.city:
            return gazetteer().centre(parsed.city), radius
        return city_centre(), radius


def _start_hours(parsed: ParsedQuery) -> frozenset[int]:
    """A clock time's hours, else the named part of the day's (a slot that only restates
    the window, as "tonight" does, narrows nothing)."""
    if parsed.start_hour_from is not None and parsed.start_hour_to is not None:
        return hours_between(parsed.start_hour_from, parsed.start_hour_to)
    if parsed.time_slot and not parsed.slot_from_window:
        return slot_hours(parsed.time_slot)
    return frozenset()


def _active(step: str, where: CandidateFilter) -> bool:
    return {
        "vibe": bool(where.keywords),
        "time_slot": bool(where.start_hours),
        "neighborhood": bool(where.neighborhood or where.around_km),
        "price": where.price_max is not None,
    }[step]


def _relax(step: str, where: CandidateFilter) -> CandidateFilter:
    if step == "vibe":
        return dataclasses.replace(where, keywords=())
    if step == "time_slot":
        return dataclasses.replace(where, start_hours=frozenset())
    if step == "neighborhood":  # the borough stays
        return dataclasses.replace(where, neighborhood="", around_km=0.0)
    assert where.price_max is not None
    return dataclasses.replace(where, price_max=where.price_max * PRICE_WIDENING)
