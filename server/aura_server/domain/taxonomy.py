"""The fixed vocabularies of the service: event categories, NYC places and intents."""

from __future__ import annotations

from dataclasses import dataclass

from aura_server.domain.gazetteer import Place, gazetteer

MUSIC: tuple[str, ...] = (
    "Techno",
    "House",
    "Hip-Hop",
    "R&B",
    "Jazz",
    "Indie Rock",
    "Pop",
    "Latin",
    "Afrobeats",
    "Classical",
)
# The order is part of the learner's features (category codes): add new ones at the end.
CATEGORIES: tuple[str, ...] = (
    *MUSIC,
    "Comedy",
    "Theater",
    "Art",
    "Film",
    "Food & Drink",
    "Workshop",
    "Networking",
    "Wellness",
    "Sports",
    "Community",
)
CATEGORY_CODES: dict[str, int] = {name: code for code, name in enumerate(CATEGORIES)}

BOROUGHS: tuple[str, ...] = ("Manhattan", "Brooklyn", "Queens", "Bronx", "Staten Island")

INTENTS: tuple[str, ...] = ("explore", "create", "freelance")


@dataclass(frozen=True)
class Neighborhood:
    name: str
    city: str
    lat: float
    lng: float


# The demo catalog's nightlife neighbourhoods (every place of the city: gazetteer.py, where
# these names are canonical).
NEIGHBORHOODS: tuple[Neighborhood, ...] = (
    Neighborhood("Lower East Side", "Manhattan", 40.7150, -73.9843),
    Neighborhood("East Village", "Manhattan", 40.7265, -73.9815),
    Neighborhood("West Village", "Manhattan", 40.7358, -74.0036),
    Neighborhood("Greenwich Village", "Manhattan", 40.7336, -73.9990),
    Neighborhood("SoHo", "Manhattan", 40.7233, -74.0030),
    Neighborhood("Tribeca", "Manhattan", 40.7163, -74.0086),
    Neighborhood("Chelsea", "Manhattan", 40.7465, -74.0014),
    Neighborhood("Hell's Kitchen", "Manhattan", 40.7638, -73.9918),
    Neighborhood("Midtown", "Manhattan", 40.7549, -73.9840),
    Neighborhood("Upper West Side", "Manhattan", 40.7870, -73.9754),
    Neighborhood("Upper East Side", "Manhattan", 40.7736, -73.9566),
    Neighborhood("Harlem", "Manhattan", 40.8116, -73.9465),
    Neighborhood("Washington Heights", "Manhattan", 40.8417, -73.9394),
    Neighborhood("Williamsburg", "Brooklyn", 40.7081, -73.9571),
    Neighborhood("Greenpoint", "Brooklyn", 40.7304, -73.9515),
    Neighborhood("Bushwick", "Brooklyn", 40.6944, -73.9213),
    Neighborhood("Bed-Stuy", "Brooklyn", 40.6872, -73.9418),
    Neighborhood("Crown Heights", "Brooklyn", 40.6694, -73.9422),
    Neighborhood("Prospect Heights", "Brooklyn", 40.6775, -73.9692),
    Neighborhood("Park Slope", "Brooklyn", 40.6710, -73.9814),
    Neighborhood("Fort Greene", "Brooklyn", 40.6892, -73.9742),
    Neighborhood("DUMBO", "Brooklyn", 40.7033, -73.9881),
    Neighborhood("Red Hook", "Brooklyn", 40.6734, -74.0080),
    Neighborhood("Sunset Park", "Brooklyn", 40.6455, -74.0124),
    Neighborhood("Astoria", "Queens", 40.7644, -73.9235),
    Neighborhood("Long Island City", "Queens", 40.7447, -73.9485),
    Neighborhood("Ridgewood", "Queens", 40.7043, -73.9018),
    Neighborhood("Jackson Heights", "Queens", 40.7557, -73.8831),
    Neighborhood("Flushing", "Queens", 40.7675, -73.8331),
    Neighborhood("Mott Haven", "Bronx", 40.8091, -73.9229),
    Neighborhood("Fordham", "Bronx", 40.8615, -73.8904),
    Neighborhood("St. George", "Staten Island", 40.6437, -74.0736),
)
NEIGHBORHOODS_BY_NAME: dict[str, Neighborhood] = {n.name: n for n in NEIGHBORHOODS}

# Lower-cased lookups so clients may send "bushwick" or "brooklyn".
_CATEGORY_BY_LOWER = {name.lower(): name for name in CATEGORIES}
_BOROUGH_BY_LOWER = {name.lower(): name for name in BOROUGHS}


def canonical_category(name: str) -> str | None:
    return _CATEGORY_BY_LOWER.get(name.strip().lower())


def canonical_borough(name: str) -> str | None:
    return _BOROUGH_BY_LOWER.get(name.strip().lower())


def find_neighborhood(name: str) -> Place | None:
    """Any neighbourhood of the city, by its name or an alias (gazetteer.py)."""
    return gazetteer().find(name)


AGE_BRACKETS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45+")


def age_bracket(age: int) -> str:
    """The bracket whose trends a user shares; teens count with 18-24, unknown ages ("")
    with nobody."""
    if age <= 0:
        return ""
    if age < 25:
        return "18-24"
    if age < 35:
        return "25-34"
    if age < 45:
        return "35-44"
    return "45+"


@dataclass(frozen=True)
class IntentMatch:
    categories: frozenset[str]  # a full match
    tags: frozenset[str]  # a half match, for events outside those categories


# What each onboarding intent is looking for (the cold-start blend's intent signal).
INTENT_MAP: dict[str, IntentMatch] = {
    # A night out: any music but the concert hall's, comedy, film, food and drink.
    "explore": IntentMatch(
        frozenset(MUSIC) - {"Classical"} | {"Comedy", "Film", "Food & Drink"},
        frozenset(
            {
                "live music",
                "dj",
                "rooftop",
                "late night",
                "dance",
                "cocktails",
                "screening",
                "festival",
            }
        ),
    ),
    "create": IntentMatch(
        frozenset({"Workshop", "Art", "Film", "Theater"}),
        frozenset(
            {
                "workshop",
                "pottery",
                "ceramics",
                "diy",
                "hands-on",
                "class",
                "gallery",
                "exhibition",
                "open mic",
                "zine",
            }
        ),
    ),
    "freelance": IntentMatch(
        frozenset({"Networking", "Workshop", "Community"}),
        frozenset(
            {
                "networking",
                "startup",
                "meetup",
                "tech",
                "freelance",
                "career",
                "happy hour",
                "coworking",
            }
        ),
    ),
}
