"""The places of New York City Aura knows: every neighbourhood with its borough and centre,
the names people type for them, and landmarks and venues mapped to their neighbourhood.

The data is one file, gazetteer.json (its `source` says where the centres come from):
the Neighborhood Tabulation Areas of the city, each NTA's named parts as their own
entries ("Carroll Gardens-Cobble Hill-Gowanus-Red Hook" is four places at the NTA's
centre), neighbourhoods people name that no NTA does (NoHo, Koreatown, Meatpacking
District), aliases ("uws", "billyburg", "prospect hts") and landmarks ("msg" is Madison
Square Garden, in Midtown; a venue known for one kind of event, such as the Comedy Cellar,
says so). The names the demo catalog uses (taxonomy.NEIGHBORHOODS) are
the canonical names of their places. A test checks every centre lies in its borough.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("gazetteer.json")


@dataclass(frozen=True)
class Place:
    name: str
    city: str  # the borough
    lat: float
    lng: float
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Landmark:
    name: str
    aliases: tuple[str, ...]
    neighborhood: str  # a Place's name
    # The kind of event a venue is known for ("Comedy Cellar": Comedy); () for places of
    # every kind (Madison Square Garden, Barclays Center).
    categories: tuple[str, ...] = ()


class Gazetteer:
    def __init__(self, places: tuple[Place, ...], landmarks: tuple[Landmark, ...]) -> None:
        self.places = places
        self.landmarks = landmarks
        self._by_name = {place.name: place for place in places}
        self._lookup: dict[str, Place] = {}
        for place in places:  # canonical names first: an alias never hides one
            self._lookup.setdefault(place.name.lower(), place)
        for place in places:
            for alias in place.aliases:
                self._lookup.setdefault(alias.lower(), place)

    def place(self, name: str) -> Place:
        """The place of this canonical name (KeyError for none)."""
        return self._by_name[name]

    def centre(self, city: str) -> tuple[float, float]:
        """The mean centre of a borough's places (ValueError for an unknown borough)."""
        places = [place for place in self.places if place.city == city]
        if not places:
            raise ValueError(f"unknown borough {city!r}")
        return (
            sum(place.lat for place in places) / len(places),
            sum(place.lng for place in places) / len(places),
        )

    def find(self, name: str) -> Place | None:
        """The place a name or alias stands for, in any case ("bushwick", "UWS")."""
        return self._lookup.get(name.strip().lower())


def city_centre() -> tuple[float, float]:
    """Where a search or feed with no place, coordinates or home is centred: Midtown."""
    midtown = gazetteer().place("Midtown")
    return midtown.lat, midtown.lng


@cache
def gazetteer() -> Gazetteer:
    """The gazetteer, read once."""
    doc = json.loads(DATA.read_text())
    places = tuple(
        Place(p["name"], p["borough"], float(p["lat"]), float(p["lng"]), tuple(p["aliases"]))
        for p in doc["neighborhoods"]
    )
    landmarks = tuple(
        Landmark(m["name"], tuple(m["aliases"]), m["neighborhood"], tuple(m["categories"]))
        for m in doc["landmarks"]
    )
    return Gazetteer(places, landmarks)
