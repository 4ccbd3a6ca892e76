"""A deterministic demo catalog of realistic NYC events over the next 14 days."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aura_server.domain.models import Event
from aura_server.domain.taxonomy import CATEGORIES, NEIGHBORHOODS

NEW_YORK = ZoneInfo("America/New_York")


@dataclass(frozen=True)
class CategoryStyle:
    titles: tuple[str, ...]
    tags: tuple[str, ...]
    venues: tuple[str, ...]
    hours: tuple[int, ...]  # local start hours
    duration_hours: tuple[int, int]
    price: tuple[int, int]  # USD, low and high of price_min
    free_share: float  # share of free events


STYLES: dict[str, CategoryStyle] = {
    "Techno": CategoryStyle(
        (
            "{artist} All Night Long",
            "Warehouse Techno: {artist}",
            "{artist} b2b {artist2}",
            "Dark Room presents {artist}",
            "Sunday Techno Marathon",
        ),
        ("techno", "warehouse", "rave", "dj", "late night", "underground"),
        ("Basement", "Nowadays", "Elsewhere Rooftop", "The Warehouse", "Signal"),
        (22, 23, 0, 1),
        (5, 8),
        (15, 45),
        0.03,
    ),
    "House": CategoryStyle(
        (
            "{artist} Deep House Session",
            "House of {artist}",
            "Disco & House with {artist}",
            "Soulful House Sunday",
            "{artist}: Afro House Night",
        ),
        ("house", "deep house", "disco", "dj", "dance", "rooftop"),
        ("Good Room", "Public Records", "Le Bain", "Output Lounge", "The Loft"),
        (21, 22, 23, 16),
        (4, 7),
        (10, 40),
        0.08,
    ),
    "Hip-Hop": CategoryStyle(
        (
            "{artist} Live",
            "Boom Bap Fridays",
            "{artist} Album Release Party",
            "Bronx Cypher Night",
            "Hip-Hop Karaoke with {artist}",
        ),
        ("hip hop", "rap", "live music", "cypher", "dj"),
        (
            "S.O.B.'s",
            "Baby's All Right",
            "Brooklyn Bowl",
            "Gramercy Theatre",
            "The Bowery Ballroom",
        ),
        (20, 21, 22),
        (3, 5),
        (20, 60),
        0.05,
    ),
    "R&B": CategoryStyle(
        (
            "{artist}: Slow Jams Live",
            "R&B Brunch & Beats",
            "Neo-Soul Night with {artist}",
            "90s vs 2000s R&B Party",
        ),
        ("r&b", "soul", "neo soul", "live music", "brunch"),
        ("Blue Note Lounge", "City Winery", "Sultan Room", "Nublu"),
        (20, 21, 13),
        (3, 4),
        (20, 70),
        0.05,
    ),
    "Jazz": CategoryStyle(
        (
            "{artist} Trio",
            "Late Set: {artist} Quartet",
            "Jazz Jam Session",
            "Bebop & Beyond with {artist}",
            "Big Band Night",
        ),
        ("jazz", "live music", "jam session", "cocktails", "intimate"),
        ("Village Vanguard", "Smalls", "Birdland", "Mezzrow", "Dizzy's Club", "Minton's"),
        (19, 20, 21, 22),
        (2, 3),
        (15, 55),
        0.07,
    ),
    "Indie Rock": CategoryStyle(
        (
            "{artist} with special guests",
            "{artist} Record Release Show",
            "Indie Night: {artist}",
            "Three Bands, One Night",
        ),
        ("indie", "rock", "live music", "guitar", "all ages"),
        (
            "Mercury Lounge",
            "Bowery Ballroom",
            "Music Hall of Williamsburg",
            "Union Pool",
            "Baby's All Right",
        ),
        (19, 20, 21),
        (3, 4),
        (15, 40),
        0.06,
    ),
    "Pop": CategoryStyle(
        ("{artist} Live in Concert", "Pop Singalong Night", "Y2K Pop Party", "{artist}: The Tour"),
        ("pop", "live music", "dance", "singalong", "concert"),
        ("Terminal 5", "Irving Plaza", "Webster Hall", "Brooklyn Steel", "Pier 17"),
        (19, 20),
        (3, 4),
        (35, 120),
        0.02,
    ),
    "Latin": CategoryStyle(
        (
            "Salsa Night with {artist}",
            "Reggaeton Takeover",
            "Bachata & Salsa Social",
            "Cumbia Sundays",
            "{artist} Latin Jazz Ensemble",
        ),
        ("latin", "salsa", "reggaeton", "bachata", "dance", "cumbia"),
        ("SOB's", "Gonzalez y Gonzalez", "Copacabana", "La Boom", "Barbès"),
        (20, 21, 22),
        (3, 5),
        (10, 45),
        0.08,
    ),
    "Afrobeats": CategoryStyle(
        (
            "Afrobeats Fridays: {artist}",
            "Amapiano Sundays",
            "Afro Nation NYC Warm-Up",
            "{artist} Live: Afrobeats & Highlife",
        ),
        ("afrobeats", "amapiano", "highlife", "dance", "dj"),
        ("Le Poisson Rouge", "Brooklyn Mirage Lounge", "Elsewhere", "Knockdown Center"),
        (21, 22, 23),
        (4, 6),
        (20, 55),
        0.04,
    ),
    "Classical": CategoryStyle(
        (
            "{artist} plays Chopin",
            "String Quartet: Beethoven Cycle",
            "Baroque by Candlelight",
            "Chamber Music Sundays",
            "Opera Highlights with {artist}",
        ),
        ("classical", "orchestra", "chamber music", "candlelight", "opera"),
        ("Carnegie Hall", "Merkin Hall", "Bargemusic", "St. Bart's Church", "Lincoln Center"),
        (19, 20, 14, 16),
        (2, 3),
        (20, 110),
        0.1,
    ),
    "Comedy": CategoryStyle(
        (
            "{artist}: Stand-Up Hour",
            "Late Night Improv Jam",
            "New Material Night",
            "Comedy Showcase",
            "Roast Battle",
        ),
        ("comedy", "stand-up", "improv", "open mic", "late night"),
        ("Comedy Cellar", "The Stand", "Gotham Comedy Club", "Union Hall", "The PIT"),
        (19, 20, 21, 22),
        (1, 2),
        (10, 35),
        0.15,
    ),
    "Theater": CategoryStyle(
        ("{play}", "{play}: Off-Broadway", "Immersive: {play}", "Staged Reading: {play}"),
        ("theater", "broadway", "off-broadway", "musical", "play"),
        (
            "Public Theater",
            "New York Theatre Workshop",
            "Signature Theatre",
            "The Flea",
            "St. Ann's Warehouse",
        ),
        (14, 19, 20),
        (2, 3),
        (35, 150),
        0.03,
    ),
    "Art": CategoryStyle(
        (
            "Opening Reception: {artist}",
            "Gallery Walk",
            "{artist}: New Works",
            "Late Night at the Museum",
            "Street Art Tour",
        ),
        ("art", "gallery", "museum", "exhibition", "opening"),
        ("Pace Gallery", "MoMA PS1", "The Whitney", "David Zwirner", "Brooklyn Museum"),
        (11, 14, 18),
        (2, 4),
        (0, 30),
        0.45,
    ),
    "Film": CategoryStyle(
        (
            "Midnight Movie: {film}",
            "Documentary Screening: {film}",
            "{film} + Q&A",
            "Rooftop Cinema: {film}",
            "Short Film Night",
        ),
        ("film", "screening", "documentary", "cinema", "q&a"),
        ("Film Forum", "Metrograph", "IFC Center", "Nitehawk Cinema", "Rooftop Films"),
        (13, 19, 21, 23),
        (2, 3),
        (12, 25),
        0.1,
    ),
    "Food & Drink": CategoryStyle(
        (
            "Natural Wine Tasting",
            "Bottomless Brunch",
            "Night Market",
            "Mezcal Masterclass",
            "Pop-Up Supper Club",
            "Happy Hour Crawl",
        ),
        ("food", "drinks", "wine tasting", "brunch", "happy hour", "cocktails"),
        ("Smorgasburg", "Chelsea Market", "Threes Brewing", "The Ten Bells", "Dekalb Market"),
        (11, 12, 17, 18, 19),
        (2, 4),
        (0, 95),
        0.2,
    ),
    "Workshop": CategoryStyle(
        (
            "Pottery Wheel Basics",
            "Intro to Screen Printing",
            "Creative Coding Workshop",
            "Ceramics Night",
            "Figure Drawing Session",
            "Zine-Making Workshop",
        ),
        ("workshop", "pottery", "ceramics", "diy", "hands-on", "class"),
        (
            "BKLYN Clay",
            "Choplet Ceramic Studio",
            "Textile Arts Center",
            "Pioneer Works",
            "The Brooklyn Brainery",
        ),
        (10, 13, 18, 19),
        (2, 3),
        (25, 90),
        0.1,
    ),
    "Networking": CategoryStyle(
        (
            "Startup Founders Mixer",
            "Freelancers Meetup",
            "Creative Professionals Happy Hour",
            "Tech Talk & Drinks",
            "Designers & Developers Night",
        ),
        ("networking", "startup", "meetup", "tech", "freelance", "career"),
        (
            "WeWork Dumbo Heights",
            "Civic Hall",
            "Brooklyn Navy Yard",
            "The Assemblage",
            "Industry City",
        ),
        (18, 19, 8),
        (2, 3),
        (0, 30),
        0.4,
    ),
    "Wellness": CategoryStyle(
        (
            "Sunrise Yoga in the Park",
            "Sound Bath Meditation",
            "Breathwork Circle",
            "Run Club + Coffee",
            "Vinyasa Flow on the Roof",
        ),
        ("yoga", "wellness", "meditation", "sound bath", "fitness", "outdoors"),
        ("Prospect Park", "The Well", "Brooklyn Bridge Park", "Modo Yoga", "Hudson River Park"),
        (7, 8, 9, 18),
        (1, 2),
        (0, 40),
        0.3,
    ),
    "Sports": CategoryStyle(
        (
            "Knicks Watch Party",
            "Pickup Soccer",
            "Rooftop Ping-Pong Tournament",
            "Bowling League Night",
            "Climbing Meetup",
        ),
        ("sports", "watch party", "soccer", "basketball", "active"),
        ("Brooklyn Bowl", "Chelsea Piers", "SPIN New York", "Brooklyn Boulders", "Pier 40 Fields"),
        (10, 13, 18, 19, 20),
        (2, 3),
        (0, 60),
        0.25,
    ),
    "Community": CategoryStyle(
        (
            "Neighborhood Clean-Up",
            "Community Garden Day",
            "Open Mic & Potluck",
            "Block Party",
            "Book Swap",
            "Volunteer Night at the Food Bank",
        ),
        ("community", "volunteer", "free", "outdoors", "family friendly", "meetup"),
        (
            "Community Center",
            "Public Library",
            "Neighborhood Park",
            "Local Church Hall",
            "Community Garden",
        ),
        (10, 11, 14, 18),
        (2, 4),
        (0, 15),
        0.7,
    ),
}

ARTISTS = (
    "Nina Kraviz",
    "Honey Dijon",
    "DJ Python",
    "Kaytranada",
    "Ama Lou",
    "The Marías",
    "Yaeji",
    "Eli Escobar",
    "Joey Alexander",
    "Cécile McLorin Salvant",
    "Snail Mail",
    "Bad Gyal",
    "Rema",
    "Burna Boy Tribute",
    "Yuja Wang",
    "Jerrod Carmichael",
    "Sudan Archives",
    "Bklyn Boyz",
    "Luna Park Collective",
    "The Gowanus Five",
    "Maya Jane Coles",
    "Sam Gellaitry",
)
PLAYS = (
    "The Glass Menagerie",
    "Hadestown Revisited",
    "A Doll's House",
    "Sweat",
    "Fefu and Her Friends",
    "The Flick",
    "Fairview",
    "Sleep No More",
)
FILMS = (
    "Paris Is Burning",
    "Do the Right Thing",
    "Wild Style",
    "Taxi Driver",
    "Style Wars",
    "Frances Ha",
    "Mean Streets",
    "Moonlight",
)

# Some events fit a second category too (a techno night is often a house night).
SECONDARY_CATEGORY: dict[str, tuple[str, ...]] = {
    "Techno": ("House",),
    "House": ("Techno", "Afrobeats"),
    "Hip-Hop": ("R&B",),
    "R&B": ("Hip-Hop", "Pop"),
    "Jazz": ("Classical", "R&B"),
    "Latin": ("Pop",),
    "Afrobeats": ("Hip-Hop", "House"),
    "Food & Drink": ("Community", "Networking"),
    "Workshop": ("Art", "Community"),
    "Networking": ("Workshop", "Food & Drink"),
    "Wellness": ("Community", "Sports"),
    "Film": ("Art",),
    "Art": ("Workshop",),
}


def _title(style: CategoryStyle, rng: random.Random) -> str:
    artist, artist2 = rng.sample(ARTISTS, 2)
    return rng.choice(style.titles).format(
        artist=artist, artist2=artist2, play=rng.choice(PLAYS), film=rng.choice(FILMS)
    )


def demo_events(count: int = 5000, seed: int = 7, start: date | None = None) -> Iterator[Event]:
    """`count` events spread over the 14 days from `start` (today in New York), every
    category and every known neighborhood represented; the same seed and start give the
    same catalog."""
    rng = random.Random(seed)
    start = start or datetime.now(NEW_YORK).date()
    for number in range(count):
        category = CATEGORIES[number % len(CATEGORIES)]
        hood = NEIGHBORHOODS[(number // len(CATEGORIES) + number) % len(NEIGHBORHOODS)]
        style = STYLES[category]
        day = start + timedelta(days=rng.randrange(14))
        hour = rng.choice(style.hours)
        local_start = datetime.combine(day, time(hour, rng.choice((0, 0, 30)))).replace(
            tzinfo=NEW_YORK
        )
        if hour < 5:  # an "after midnight" start belongs to the night before's listing
            local_start += timedelta(days=1)
        categories = [category]
        extra = SECONDARY_CATEGORY.get(category)
        if extra and rng.random() < 0.3:
            categories.append(rng.choice(extra))
        if rng.random() < style.free_share:
            price_min = price_max = 0.0
        else:
            price_min = float(rng.randint(*style.price) // 5 * 5 or 5)
            price_max = price_min + float(rng.choice((0, 0, 10, 20, 40)))
        tags = rng.sample(style.tags, k=min(3, len(style.tags)))
        venue = rng.choice(style.venues)
        yield Event(
            event_id=f"demo-{number:05d}",
            title=_title(style, rng),
            description=f"{category} in {hood.name}: {', '.join(tags)}. At {venue}.",
            categories=categories,
            tags=tags,
            venue=venue,
            city=hood.city,
            neighborhood=hood.name,
            # Scatter venues around the neighborhood's centre (about +-600 m).
            lat=round(hood.lat + rng.uniform(-0.0055, 0.0055), 6),
            lng=round(hood.lng + rng.uniform(-0.007, 0.007), 6),
            starts_at=local_start.astimezone(ZoneInfo("UTC")),
            ends_at=(local_start + timedelta(hours=rng.randint(*style.duration_hours))).astimezone(
                ZoneInfo("UTC")
            ),
            price_min=price_min,
            price_max=price_max,
            popularity=float(int(rng.paretovariate(1.6) * 10)),
        )
