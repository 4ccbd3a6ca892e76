"""A deterministic demo catalog of believable NYC events over the next 14 days.

Believable means: every venue stands in its own neighborhood, at one place (the venue
table below: real venues where they are, and a local venue named after its
neighborhood wherever none is listed for a kind of event); every title fits its kind and
its hour (a brunch before 2 pm on a weekend, "Sundays" on a Sunday, a midnight movie
around midnight); and the people in a title perform what the event is filed as (no
jazz singer headlining a techno night). tests/test_catalog_io.py checks these rules over
the whole seeded catalog.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from aura_server.domain.clock import NEW_YORK, utcnow
from aura_server.domain.models import Event
from aura_server.domain.taxonomy import CATEGORIES, NEIGHBORHOODS, NEIGHBORHOODS_BY_NAME

WEEKEND = (5, 6)


@dataclass(frozen=True)
class Title:
    text: str  # may hold {artist}, {artist2}, {play}, {film}, {hood}
    hours: tuple[int, ...]  # local start hours that fit it (0-3: after midnight)
    weekdays: tuple[int, ...] = ()  # 0 = Monday; empty: any day


@dataclass(frozen=True)
class CategoryStyle:
    titles: tuple[Title, ...]
    tags: tuple[str, ...]
    venue_kind: str  # what a local venue of this kind is called: "Bushwick Jazz Club"
    duration_hours: tuple[int, int]
    price: tuple[int, int]  # USD, low and high of price_min
    free_share: float  # share of free events


def _t(text: str, *hours: int, days: tuple[int, ...] = ()) -> Title:
    return Title(text, hours, days)


FRIDAY, SUNDAY = (4,), (6,)
STYLES: dict[str, CategoryStyle] = {
    "Techno": CategoryStyle(
        (
            _t("{artist} All Night Long", 22, 23),
            _t("Warehouse Techno: {artist}", 22, 23, 0),
            _t("{artist} b2b {artist2}", 23, 0, 1),
            _t("Dark Room presents {artist}", 23, 0),
            _t("Sunday Techno Marathon", 14, 16, days=SUNDAY),
        ),
        ("techno", "warehouse", "rave", "dj", "underground"),
        "Warehouse",
        (5, 8),
        (15, 45),
        0.03,
    ),
    "House": CategoryStyle(
        (
            _t("{artist} Deep House Session", 21, 22),
            _t("House Party with {artist}", 22, 23),
            _t("Disco & House with {artist}", 21, 22),
            _t("Soulful House Sunday", 16, 17, days=SUNDAY),
            _t("{artist}: Afro House Night", 22, 23),
        ),
        ("house", "deep house", "disco", "dj", "dance"),
        "Dance Hall",
        (4, 7),
        (10, 40),
        0.08,
    ),
    "Hip-Hop": CategoryStyle(
        (
            _t("{artist} Live", 20, 21),
            _t("Boom Bap Fridays", 22, days=FRIDAY),
            _t("{artist} Album Release Party", 21, 22),
            _t("{hood} Cypher Night", 20, 21),
            _t("Hip-Hop Karaoke with {artist}", 21, 22),
        ),
        ("hip hop", "rap", "live music", "cypher", "dj"),
        "Hip-Hop Lounge",
        (3, 5),
        (20, 60),
        0.05,
    ),
    "R&B": CategoryStyle(
        (
            _t("{artist}: Slow Jams Live", 20, 21),
            _t("R&B Brunch & Beats", 12, 13, days=WEEKEND),
            _t("Neo-Soul Night with {artist}", 21),
            _t("90s vs 2000s R&B Party", 22, 23),
        ),
        ("r&b", "soul", "neo soul", "live music"),
        "Supper Club",
        (3, 4),
        (20, 70),
        0.05,
    ),
    "Jazz": CategoryStyle(
        (
            _t("{artist} Trio", 19, 20, 21),
            _t("Late Set: {artist} Quartet", 22, 23),
            _t("Jazz Jam Session", 21, 22, 23),
            _t("Bebop & Beyond with {artist}", 19, 20),
            _t("Big Band Night", 19, 20),
        ),
        ("jazz", "live music", "jam session", "cocktails", "intimate"),
        "Jazz Club",
        (2, 3),
        (15, 55),
        0.07,
    ),
    "Indie Rock": CategoryStyle(
        (
            _t("{artist} with special guests", 19, 20, 21),
            _t("{artist} Record Release Show", 20, 21),
            _t("Indie Night: {artist}", 20, 21),
            _t("Three Bands, One Night", 19, 20),
        ),
        ("indie", "rock", "live music", "guitar", "all ages"),
        "Music Hall",
        (3, 4),
        (15, 40),
        0.06,
    ),
    "Pop": CategoryStyle(
        (
            _t("{artist} Live in Concert", 19, 20),
            _t("Pop Singalong Night", 20, 21),
            _t("Y2K Pop Party", 22, 23),
            _t("{artist}: The Tour", 19, 20),
        ),
        ("pop", "live music", "dance", "singalong", "concert"),
        "Concert Hall",
        (3, 4),
        (35, 120),
        0.02,
    ),
    "Latin": CategoryStyle(
        (
            _t("Salsa Night with {artist}", 21, 22),
            _t("Reggaeton Takeover", 22, 23),
            _t("Bachata & Salsa Social", 20, 21),
            _t("Cumbia Sundays", 16, 17, days=SUNDAY),
            _t("{artist} Latin Jazz Ensemble", 20),
        ),
        ("latin", "salsa", "reggaeton", "bachata", "dance", "cumbia"),
        "Salsa Club",
        (3, 5),
        (10, 45),
        0.08,
    ),
    "Afrobeats": CategoryStyle(
        (
            _t("Afrobeats Fridays: {artist}", 22, 23, days=FRIDAY),
            _t("Amapiano Sundays", 17, 18, days=SUNDAY),
            _t("Afro Nation NYC Warm-Up", 21, 22),
            _t("{artist} Live: Afrobeats & Highlife", 20, 21),
        ),
        ("afrobeats", "amapiano", "highlife", "dance", "dj"),
        "Lounge",
        (4, 6),
        (20, 55),
        0.04,
    ),
    "Classical": CategoryStyle(
        (
            _t("{artist} plays Chopin", 19, 20),
            _t("String Quartet: Beethoven Cycle", 19, 20),
            _t("Baroque by Candlelight", 19, 21),
            _t("Chamber Music Sundays", 14, 16, days=SUNDAY),
            _t("Opera Highlights with {artist}", 19),
        ),
        ("classical", "orchestra", "chamber music", "candlelight", "opera"),
        "Recital Hall",
        (2, 3),
        (20, 110),
        0.1,
    ),
    "Comedy": CategoryStyle(
        (
            _t("{artist}: Stand-Up Hour", 19, 20, 21),
            _t("Late Night Improv Jam", 22, 23),
            _t("New Material Night", 20, 21),
            _t("Comedy Showcase", 19, 21),
            _t("Roast Battle", 21, 22),
        ),
        ("comedy", "stand-up", "improv", "open mic"),
        "Comedy Club",
        (1, 2),
        (10, 35),
        0.15,
    ),
    "Theater": CategoryStyle(
        (
            _t("{play}", 14, 19, 20),
            _t("{play}: Off-Broadway", 19, 20),
            _t("Immersive: {play}", 19, 20, 21),
            _t("Staged Reading: {play}", 14, 19),
        ),
        ("theater", "off-broadway", "play", "drama"),
        "Playhouse",
        (2, 3),
        (35, 150),
        0.03,
    ),
    "Art": CategoryStyle(
        (
            _t("Opening Reception: {artist}", 18, 19),
            _t("Gallery Walk", 12, 14),
            _t("{artist}: New Works", 11, 14),
            _t("Late Night at the Museum", 19, 20, days=FRIDAY),
            _t("Street Art Tour", 11, 14),
        ),
        ("art", "gallery", "exhibition", "opening"),
        "Gallery",
        (2, 4),
        (0, 30),
        0.45,
    ),
    "Film": CategoryStyle(
        (
            _t("Midnight Movie: {film}", 23, 0),
            _t("Documentary Screening: {film}", 19),
            _t("{film} + Q&A", 19, 20),
            _t("Rooftop Cinema: {film}", 20, 21),
            _t("Short Film Night", 20),
        ),
        ("film", "screening", "documentary", "cinema", "q&a"),
        "Cinema",
        (2, 3),
        (12, 25),
        0.1,
    ),
    "Food & Drink": CategoryStyle(
        (
            _t("Natural Wine Tasting", 18, 19),
            _t("Bottomless Brunch", 11, 12, days=WEEKEND),
            _t("Night Market", 17, 18),
            _t("Mezcal Masterclass", 19),
            _t("Pop-Up Supper Club", 19, 20),
            _t("Happy Hour Crawl", 17, 18),
        ),
        ("food", "drinks", "wine tasting", "cocktails", "tasting menu"),
        "Food Hall",
        (2, 4),
        (0, 95),
        0.2,
    ),
    "Workshop": CategoryStyle(
        (
            _t("Pottery Wheel Basics", 10, 13, 18),
            _t("Intro to Screen Printing", 13, 18),
            _t("Creative Coding Workshop", 18, 19),
            _t("Ceramics Night", 19),
            _t("Figure Drawing Session", 18, 19),
            _t("Zine-Making Workshop", 13, 14),
        ),
        ("workshop", "pottery", "ceramics", "diy", "hands-on", "class"),
        "Craft Studio",
        (2, 3),
        (25, 90),
        0.1,
    ),
    "Networking": CategoryStyle(
        (
            _t("Startup Founders Mixer", 18, 19),
            _t("Freelancers Breakfast Meetup", 8),
            _t("Creative Professionals Happy Hour", 17, 18),
            _t("Tech Talk & Drinks", 18, 19),
            _t("Designers & Developers Night", 19),
        ),
        ("networking", "startup", "meetup", "tech", "freelance", "career"),
        "Coworking",
        (2, 3),
        (0, 30),
        0.4,
    ),
    "Wellness": CategoryStyle(
        (
            _t("Sunrise Yoga", 6, 7),
            _t("Sound Bath Meditation", 19, 20),
            _t("Breathwork Circle", 8, 18),
            _t("Run Club + Coffee", 7, 8),
            _t("Vinyasa Flow", 8, 18),
        ),
        ("yoga", "wellness", "meditation", "sound bath", "fitness"),
        "Yoga Studio",
        (1, 2),
        (0, 40),
        0.3,
    ),
    "Sports": CategoryStyle(
        (
            _t("Knicks Watch Party", 19, 20),
            _t("Pickup Soccer", 10, 18),
            _t("Ping-Pong Tournament", 18, 19),
            _t("Bowling League Night", 19, 20),
            _t("Climbing Meetup", 18, 19),
        ),
        ("sports", "watch party", "soccer", "basketball", "active"),
        "Sports Club",
        (2, 3),
        (0, 60),
        0.25,
    ),
    "Community": CategoryStyle(
        (
            _t("{hood} Clean-Up", 9, 10, days=WEEKEND),
            _t("Community Garden Day", 10, 11),
            _t("Open Mic & Potluck", 18, 19),
            _t("{hood} Block Party", 13, 14, days=WEEKEND),
            _t("Book Swap", 11, 14),
            _t("Food Bank Volunteer Night", 18, 19),
        ),
        ("community", "volunteer", "free", "family friendly", "meetup"),
        "Community Center",
        (2, 4),
        (0, 15),
        0.7,
    ),
}

# Who performs, by category (made-up names: no real artist is billed for a made-up show).
PERFORMERS: dict[str, tuple[str, ...]] = {
    "Techno": ("Kessler Vault", "Oona Drift", "Marek Sol", "DJ Tessellate", "Ilse Varga"),
    "House": ("Rico Sable", "Dana Velvet", "Jules Amari", "DJ Sunday Best", "Kofi Lumen"),
    "Hip-Hop": ("MC Halcyon", "Lil Marrow", "Queen Tafari", "Brick Theory", "Yung Atlas"),
    "R&B": ("Amara Lake", "Desmond Rae", "Sienna Gold", "Jalen Monroe"),
    "Jazz": ("Theo Marsh", "Hana Okafor", "Elijah Brooks", "Ruth Calloway", "Miles Ferrante"),
    "Indie Rock": ("The Paper Lanterns", "Violet Static", "Gowanus Tide", "Small Hours"),
    "Pop": ("Skye Lennox", "NOVA REY", "Cara Bright", "The Glitter Theory"),
    "Latin": ("Orquesta Sol", "Los Hermanos Rivera", "Marisol Cruz", "Combo Caribe"),
    "Afrobeats": ("Ayo Banks", "Kwame Deluxe", "Zola Adeyemi", "DJ Lagos Nights"),
    "Classical": ("Lena Hoffmann", "Tomasz Brel", "Aiko Nishimura", "Clara Voss"),
    "Comedy": ("Dana Ruiz", "Sam Okoye", "Priya Malhotra", "Big Lou Santiago"),
    "Art": ("Mira Castellanos", "Jonah Wexler", "Ifeoma Diallo", "Rosa Lindqvist"),
}
PLAYS = (
    "The Glass Menagerie",
    "A Doll's House",
    "Sweat",
    "Fefu and Her Friends",
    "The Flick",
    "Fairview",
    "Our Town",
    "Uncle Vanya",
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


@dataclass(frozen=True)
class Venue:
    name: str
    neighborhood: str
    categories: frozenset[str]
    lat: float
    lng: float


# Real venues, in the neighborhoods they stand in: (name, neighborhood, categories).
KNOWN_VENUES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Mercury Lounge", "Lower East Side", ("Indie Rock",)),
    ("Bowery Ballroom", "Lower East Side", ("Indie Rock", "Pop", "Hip-Hop")),
    ("Metrograph", "Lower East Side", ("Film",)),
    ("The Ten Bells", "Lower East Side", ("Food & Drink",)),
    ("Nublu", "East Village", ("Jazz", "R&B", "Latin")),
    ("Nuyorican Poets Cafe", "East Village", ("Community", "Comedy")),
    ("New York Theatre Workshop", "East Village", ("Theater",)),
    ("Webster Hall", "East Village", ("Pop", "Hip-Hop", "House")),
    ("Village Vanguard", "West Village", ("Jazz",)),
    ("Smalls Jazz Club", "West Village", ("Jazz",)),
    ("IFC Center", "West Village", ("Film",)),
    ("Comedy Cellar", "Greenwich Village", ("Comedy",)),
    ("Blue Note", "Greenwich Village", ("Jazz", "R&B")),
    ("Le Poisson Rouge", "Greenwich Village", ("Indie Rock", "Classical", "Afrobeats")),
    ("S.O.B.'s", "SoHo", ("Latin", "Hip-Hop", "Afrobeats", "R&B")),
    ("Film Forum", "SoHo", ("Film",)),
    ("The Flea Theater", "Tribeca", ("Theater",)),
    ("Chelsea Market", "Chelsea", ("Food & Drink",)),
    ("Le Bain", "Chelsea", ("House", "Techno")),
    ("Pace Gallery", "Chelsea", ("Art",)),
    ("David Zwirner", "Chelsea", ("Art",)),
    ("Chelsea Piers", "Chelsea", ("Sports", "Wellness")),
    ("Gotham Comedy Club", "Chelsea", ("Comedy",)),
    ("The Joyce Theater", "Chelsea", ("Theater",)),
    ("Birdland", "Hell's Kitchen", ("Jazz",)),
    ("Terminal 5", "Hell's Kitchen", ("Pop", "Indie Rock")),
    ("Signature Theatre", "Hell's Kitchen", ("Theater",)),
    ("Carnegie Hall", "Midtown", ("Classical",)),
    ("SPIN New York", "Midtown", ("Sports",)),
    ("Lincoln Center", "Upper West Side", ("Classical", "Theater")),
    ("Merkin Hall", "Upper West Side", ("Classical",)),
    ("Beacon Theatre", "Upper West Side", ("Pop", "Comedy")),
    ("The Met", "Upper East Side", ("Art",)),
    ("92NY", "Upper East Side", ("Classical", "Networking", "Community")),
    ("Apollo Theater", "Harlem", ("R&B", "Comedy", "Pop")),
    ("Minton's Playhouse", "Harlem", ("Jazz",)),
    ("Red Rooster", "Harlem", ("Food & Drink", "R&B")),
    ("Silvana", "Harlem", ("Latin", "Afrobeats")),
    ("United Palace", "Washington Heights", ("Pop", "Film")),
    ("Brooklyn Bowl", "Williamsburg", ("Sports", "Indie Rock", "Hip-Hop")),
    ("Baby's All Right", "Williamsburg", ("Indie Rock", "R&B")),
    ("Music Hall of Williamsburg", "Williamsburg", ("Indie Rock", "Pop")),
    ("Union Pool", "Williamsburg", ("Indie Rock",)),
    ("Nitehawk Cinema", "Williamsburg", ("Film",)),
    ("Brooklyn Brewery", "Williamsburg", ("Food & Drink",)),
    ("Good Room", "Greenpoint", ("House", "Techno")),
    ("Warsaw", "Greenpoint", ("Indie Rock", "Pop")),
    ("Elsewhere", "Bushwick", ("Techno", "House", "Indie Rock", "Afrobeats")),
    ("House of Yes", "Bushwick", ("House", "Pop", "Comedy")),
    ("Bossa Nova Civic Club", "Bushwick", ("Techno", "House")),
    ("Nowadays", "Ridgewood", ("Techno", "House")),
    ("Brooklyn Museum", "Prospect Heights", ("Art",)),
    ("Barclays Center", "Prospect Heights", ("Pop",)),
    ("Union Hall", "Park Slope", ("Comedy", "Indie Rock")),
    ("Public Records", "Park Slope", ("House", "Techno")),
    ("Threes Brewing", "Park Slope", ("Food & Drink",)),
    ("BAM", "Fort Greene", ("Theater", "Film", "Classical")),
    ("St. Ann's Warehouse", "DUMBO", ("Theater",)),
    ("Bargemusic", "DUMBO", ("Classical",)),
    ("Dumbo Heights Coworking", "DUMBO", ("Networking",)),
    ("Pioneer Works", "Red Hook", ("Art", "Workshop")),
    ("Industry City", "Sunset Park", ("Networking", "Food & Drink", "Workshop")),
    ("Museum of the Moving Image", "Astoria", ("Film",)),
    ("Bohemian Hall & Beer Garden", "Astoria", ("Food & Drink",)),
    ("MoMA PS1", "Long Island City", ("Art",)),
    ("Terraza 7", "Jackson Heights", ("Latin", "Jazz")),
    ("Queens Museum", "Flushing", ("Art",)),
    ("Flushing Town Hall", "Flushing", ("Classical", "Jazz")),
    ("The Bronx Brewery", "Mott Haven", ("Food & Drink",)),
    ("New York Botanical Garden", "Fordham", ("Wellness",)),
    ("St. George Theatre", "St. George", ("Pop", "Theater", "Comedy")),
    ("Snug Harbor", "St. George", ("Art", "Classical")),
)


def _near(neighborhood: str, name: str) -> tuple[float, float]:
    """A fixed point for a venue within about 500 m of its neighborhood's centre."""
    hood = NEIGHBORHOODS_BY_NAME[neighborhood]
    digest = hashlib.sha256(name.encode()).digest()
    north = (digest[0] / 255 - 0.5) * 0.009
    east = (digest[1] / 255 - 0.5) * 0.012
    return round(hood.lat + north, 6), round(hood.lng + east, 6)


def _venue_table() -> dict[tuple[str, str], list[Venue]]:
    """(neighborhood, category) -> the venues there that host it: the known ones, else a
    local one of the category's kind named after the neighborhood."""
    table: dict[tuple[str, str], list[Venue]] = {}
    for name, where, categories in KNOWN_VENUES:
        venue = Venue(name, where, frozenset(categories), *_near(where, name))
        for category in categories:
            table.setdefault((where, category), []).append(venue)
    for hood in NEIGHBORHOODS:
        for category, style in STYLES.items():
            if (hood.name, category) not in table:
                name = f"{hood.name} {style.venue_kind}"
                local = Venue(name, hood.name, frozenset({category}), *_near(hood.name, name))
                table[(hood.name, category)] = [local]
    return table


VENUES = _venue_table()

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


def _title(title: Title, category: str, hood: str, rng: random.Random) -> str:
    performers = PERFORMERS.get(category, ("",))
    artist, artist2 = rng.sample(performers, 2) if len(performers) > 1 else (performers[0],) * 2
    return title.text.format(
        artist=artist, artist2=artist2, play=rng.choice(PLAYS), film=rng.choice(FILMS), hood=hood
    )


def _day_for(title: Title, start: date, rng: random.Random) -> date:
    days = [start + timedelta(days=n) for n in range(14)]
    if title.weekdays:
        # A Sunday-only title's after-midnight start belongs to the night before.
        days = [d for d in days if d.weekday() in title.weekdays]
    return rng.choice(days)


def demo_events(count: int = 5000, seed: int = 7, start: date | None = None) -> Iterator[Event]:
    """`count` events spread over the 14 days from `start` (today in New York), every
    category and every known neighborhood represented; the same seed and start give the
    same catalog."""
    rng = random.Random(seed)
    start = start or utcnow().astimezone(NEW_YORK).date()
    for number in range(count):
        category = CATEGORIES[number % len(CATEGORIES)]
        hood = NEIGHBORHOODS[(number // len(CATEGORIES) + number) % len(NEIGHBORHOODS)]
        style = STYLES[category]
        title = rng.choice(style.titles)
        venue = rng.choice(VENUES[(hood.name, category)])
        hour = rng.choice(title.hours)
        day = _day_for(title, start, rng)
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
        if hour >= 22 or hour < 4:
            tags.append("late night")
        yield Event(
            event_id=f"demo-{number:05d}",
            title=_title(title, category, hood.name, rng),
            description=f"{category} in {hood.name}: {', '.join(tags)}. At {venue.name}.",
            categories=categories,
            tags=tags,
            venue=venue.name,
            city=hood.city,
            neighborhood=hood.name,
            lat=venue.lat,
            lng=venue.lng,
            starts_at=local_start.astimezone(UTC),
            ends_at=(local_start + timedelta(hours=rng.randint(*style.duration_hours))).astimezone(
                UTC
            ),
            price_min=price_min,
            price_max=price_max,
            popularity=float(int(rng.paretovariate(1.6) * 10)),
        )
