"""The rules parser: fast, offline, always available.

Order of work: normalise the text; take out clock times, prices and day/time phrases with
regular expressions (so "9pm" is no price and "$40" no date); then match the remaining
words, longest phrase first, against the lexicon (categories, places, vibes, fillers);
words still unknown get one fuzzy try against the lexicon (misspellings); what is left is
free_text. Relative days are read in America/New_York from `now`.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache, partial

from aura_server.domain.clock import NEW_YORK
from aura_server.domain.gazetteer import gazetteer
from aura_server.domain.search.lexicon import (
    BOROUGH_ALIASES,
    CATEGORY_SYNONYMS,
    FILLERS,
    MULTI_CATEGORY,
    NOT_PLACE_WORDS,
    VIBES,
)
from aura_server.domain.search.query import ParsedQuery, slot_of_hour

MAX_PHRASE_WORDS = 4
# "cheap" and its kin mean a price cap, unless the query names one.
CHEAP_WORDS = (
    r"\b(?:cheap(?:est|ish)?|inexpensive|affordable|(?:on a )?budget|low ?cost|wallet friendly"
    r"|not (?:too |very |that |super )?(?:expensive|pricey|spendy)|reasonably priced)\b"
)
CHEAP_PRICE = 20.0
# Start hours that open-ended clock phrases run to or from ("after 11pm": until 4am).
EARLIEST_START = 6
LATEST_START = 4
# Start hours from this one on ("after 11pm") belong to a night that runs past midnight.
LATE_START = 21
FUZZY_CUTOFF = 0.8
# Words that rule out the category named within the next few words ("anything but techno",
# "no comedy please"), unless followed by one of NOT_NEGATING ("but also jazz"); "but" rules
# out only a category ("anything but techno", not "jazz, but in brooklyn").
NEGATIONS = frozenset(
    (
        *("no", "not", "nothing", "never", "dont", "but", "except", "excluding", "without"),
        *("besides", "minus", "skip", "avoid"),
    )
)
# Longer ways of saying no, read as one negation word ("not a fan of techno").
NEGATING_PHRASES = re.compile(
    r"\b(?:other than|not (?:a |the )?(?:big |huge )?fan of|not big on|not into|not feeling"
    r"|isnt|is not|not in the mood for|(?:i )?(?:dont|do not) want|(?:id )?rather not"
    r"|(?:i )?(?:hate|dislike|cant stand|am tired of|tired of|sick of) (?=\w))"
)
NOT_NEGATING = frozenset(("also", "maybe", "ideally", "preferably", "mostly", "especially"))
NEGATION_REACH = 3
PHRASE_FUZZY_CUTOFF = 0.9
# How many words' corrections (or lack of one) each parser keeps.
CORRECTIONS_KEPT = 50_000

WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tue": 1,
    "tues": 1,
    "wednesday": 2,
    "wed": 2,
    "thursday": 3,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "friday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
MONTHS = {
    "jan": 1,
    "january": 1,
    "feb": 2,
    "february": 2,
    "mar": 3,
    "march": 3,
    "apr": 4,
    "april": 4,
    "may": 5,
    "jun": 6,
    "june": 6,
    "jul": 7,
    "july": 7,
    "aug": 8,
    "august": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "oct": 10,
    "october": 10,
    "nov": 11,
    "november": 11,
    "dec": 12,
    "december": 12,
}
DAY_PARTS = {
    "morning": "morning",
    "afternoon": "afternoon",
    "evening": "evening",
    "night": "evening",
    "tonight": "evening",
}

TIME_WORDS = (
    "tonight",
    "today",
    "tomorrow",
    "weekend",
    "morning",
    "afternoon",
    "evening",
    "midnight",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)

SECOND = timedelta(seconds=1)
# "right now": what starts within the next few hours.
NOW_WINDOW = timedelta(hours=3)
THANKSGIVING = "thanksgiving"
# Holidays people plan nights around: phrase -> (month, day, part of the day). Apostrophes
# are gone by now ("new year's eve" reads "new years eve").
HOLIDAYS: dict[str, tuple[int, int, str | None]] = {
    r"new years eve|new year eve|nye|ny eve": (12, 31, "night"),
    r"new years day|new years": (1, 1, None),
    r"christmas eve|xmas eve": (12, 24, None),
    r"christmas day|christmas|xmas": (12, 25, None),
    r"halloween": (10, 31, None),
    r"valentines day|valentines|valentine day": (2, 14, None),
    r"st patricks day|saint patricks day|st paddys day|st pattys day|st patricks": (3, 17, None),
    r"(?:4th|fourth) of july|independence day": (7, 4, None),
    THANKSGIVING: (11, 0, None),  # the fourth Thursday: computed
}

_HOLIDAY = re.compile(r"\b(?:" + "|".join(HOLIDAYS) + r")\b")
_MONEY = r"\$?\s*(\d+(?:\.\d+)?)\s*(?:\$|dollars?|bucks|usd)?"
_WEEKDAY = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_MONTH_BEFORE = rf"\b(?:{_MONTH})\.?\s*$"  # "dec 24-26" is a day range


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime  # inclusive
    slot: str = ""  # the part of the day the phrase implies
    slot_explicit: bool = False  # the phrase names the part of the day outright


def _local(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, time(hour)).replace(tzinfo=NEW_YORK)


def _day(day: date) -> tuple[datetime, datetime]:
    return _local(day), _local(day + timedelta(days=1)) - SECOND


def _night(day: date) -> tuple[datetime, datetime]:
    return _local(day, 17), _local(day + timedelta(days=1), 4) - SECOND


def _next_weekday(today: date, weekday: int, skip_today: bool = False) -> date:
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and skip_today:
        ahead = 7
    return today + timedelta(days=ahead)


def _weekend(today: date, weeks_ahead: int) -> tuple[datetime, datetime]:
    """Friday 17:00 to Sunday night; on a weekend day, the weekend under way."""
    friday = (
        today - timedelta(days=today.weekday() - 4)
        if today.weekday() >= 4
        else (_next_weekday(today, 4))
    )
    friday += timedelta(weeks=weeks_ahead)
    return _local(friday, 17), _local(friday + timedelta(days=3)) - SECOND


def _first_of_next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def _holiday_weekend(holiday: date) -> tuple[datetime, datetime]:
    """What "thanksgiving weekend" means: the holiday to the Sunday after it, or from the
    Friday before when it falls on a weekend or a Monday."""
    weekday = holiday.weekday()
    if weekday >= 5:  # Saturday or Sunday: that weekend
        first, last = holiday - timedelta(days=weekday - 4), holiday + timedelta(days=6 - weekday)
    elif weekday == 0:  # a Monday holiday closes the long weekend before it
        first, last = holiday - timedelta(days=3), holiday
    else:
        first, last = holiday, holiday + timedelta(days=6 - weekday)
    return _local(first), _day(last)[1]


def _into_the_small_hours(parsed: ParsedQuery) -> None:
    """Late start hours that run past midnight ("Saturday after 11pm") take the day's window
    into the small hours after it, as "tonight" does; "from 2pm on Sunday" stays Sunday."""
    start, end = parsed.start_hour_from, parsed.start_hour_to
    if parsed.date_to is None or start is None or end is None or end > LATEST_START:
        return
    local_end = parsed.date_to.astimezone(NEW_YORK)
    if (start >= LATE_START or start < LATEST_START) and local_end.hour == 23:
        parsed.date_to = local_end + timedelta(hours=LATEST_START)


def _exclude(categories: str, parsed: ParsedQuery) -> None:
    for category in categories.split("|"):
        if category not in parsed.excluded_categories:
            parsed.excluded_categories.append(category)


NEAR_WORDS = frozenset({"near", "nearby", "by", "around", "close", "next"})


def _inside(inner: Window, outer: Window) -> bool:
    """Whether `inner` lies within `outer` and is smaller."""
    smaller = (inner.start, inner.end) != (outer.start, outer.end)
    return smaller and outer.start <= inner.start and inner.end <= outer.end


def _days_ahead(match: re.Match[str]) -> int:
    """Days after today that "the next 3 days" (two) or "the next few days" (three) reach."""
    count = next(group for group in match.groups() if group)
    return max(int(count), 1) - 1 if count.isdigit() else 3


def _thanksgiving(today: date) -> date:
    """The fourth Thursday of November: this year's, or next year's once it has passed."""
    for year in (today.year, today.year + 1):
        november = date(year, 11, 1)
        day = november + timedelta(days=(3 - november.weekday()) % 7 + 21)
        if day >= today - timedelta(days=1):
            return day
    raise AssertionError("unreachable: next year's Thanksgiving is ahead")


def _with_part(day: date, part: str | None) -> Window:
    """A day, narrowed by "night" (an evening window into the small hours) or carrying an
    explicit part of the day ("saturday morning")."""
    if part in ("night", "tonight"):
        start, end = _night(day)
        return Window(start, end, "evening")
    start, end = _day(day)
    if part:
        return Window(start, end, DAY_PARTS[part], slot_explicit=True)
    return Window(start, end)


NUMBER_WORDS = {
    "five": 5,
    "ten": 10,
    "fifteen": 15,
    "twenty": 20,
    "twenty five": 25,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "a hundred": 100,
    "one hundred": 100,
}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")\b")


def normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    # Accents go: "café", "forró" and "Nuñez" are read as typed without them.
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    # "$20-40" is a range: keep it one before hyphens become spaces.
    text = re.sub(r"\$\s*(\d+)\s*-\s*\$?\s*(\d+)", r"$\1 to $\2", text)
    text = re.sub(r"(\d)\s*-\s*(\d)", r"\1 to \2", text)  # "20-40", "dec 24-26"
    text = text.replace("'", "").replace("-", " ").replace("_", " ")
    text = _NUMBER_WORD.sub(lambda m: str(NUMBER_WORDS[m.group(1)]), text)
    text = re.sub(r"\bnite\b", "night", text)
    # "20ish", "$20ish", "8ish": said around a number.
    text = re.sub(r"(?:\b(?:around|about) )?(\$?\d+) ?ish\b", r"around \1", text)
    return re.sub(r"\s+", " ", text).strip()


PriceRead = Callable[[re.Match[str], ParsedQuery], bool]  # True: the words were a price


def _read_price(read: PriceRead, parsed: ParsedQuery, match: re.Match[str]) -> str:
    return " " if read(match, parsed) else match.group(0)


def _amounts(match: re.Match[str]) -> list[float]:
    return [float(v) for v in match.groups() if v is not None]


def _price_range(match: re.Match[str], parsed: ParsedQuery) -> bool:
    values = _amounts(match)
    parsed.price_min, parsed.price_max = min(values), max(values)
    return True


def _price_floor(match: re.Match[str], parsed: ParsedQuery) -> bool:
    parsed.price_min = _amounts(match)[0]
    return True


def _price_cap(match: re.Match[str], parsed: ParsedQuery) -> bool:
    parsed.price_max = _amounts(match)[0]
    return True


def _bare_range(match: re.Match[str], parsed: ParsedQuery) -> bool:
    """ "15 to 35", "20-40": a price range when it cannot be hours (clock times were read
    before) and is not a day range ("dec 24-26", read after)."""
    low, high = float(match.group(1)), float(match.group(2))
    if high <= max(low, 12.0) or re.search(_MONTH_BEFORE, match.string[: match.start()]):
        return False
    parsed.price_min, parsed.price_max = low, high
    return True


def _around(match: re.Match[str], parsed: ParsedQuery) -> bool:
    """ "around 30", "around $20", "20ish bucks": a price, unless it could be an hour
    (a number of 24 or less said without a dollar sign or word)."""
    dollar, amount, currency = match.groups()
    value = float(amount)
    if value <= 24 and not (dollar or currency):
        return False
    parsed.price_max = value
    return True


# Read in this order: ranges before single amounts, caps said with a negation before "over".
PRICE_RULES: tuple[tuple[re.Pattern[str], PriceRead], ...] = tuple(
    (re.compile(pattern), read)
    for pattern, read in (
        (rf"\b(?:between|from)\s+{_MONEY}\s*(?:and|to)\s+{_MONEY}", _price_range),
        (r"\$\s*(\d+(?:\.\d+)?)\s*(?:to|\s)\s*\$\s*(\d+(?:\.\d+)?)", _price_range),
        (
            r"\b(\d+(?:\.\d+)?)\s*(?:to|\s)\s*(\d+(?:\.\d+)?)\s*(?:dollars|bucks|usd)\b",
            _price_range,
        ),
        (
            r"\b(\d{1,3})\s*(?:to|-)\s*(\d{1,3})\b(?!\s*(?:am|pm|days|weeks|th|st|nd|rd))",
            _bare_range,
        ),
        (
            r"\b(?:around|about|roughly|approximately|approx)\s+(\$)?\s*(\d+(?:\.\d+)?)"
            r"\s*(dollars?|bucks|usd)?\b(?!\s*(?:am|pm|:))",
            _around,
        ),
        (
            r"(?:\b(?:nothing|not|none) (?:over|above|more than)|\bno (?:higher|more) than"
            r"|\b(?:dont|not) (?:want to )?(?:spend|pay) (?:more than|over|above)"
            r"|\bunder|\bbelow|\bless than|\bcheaper than|\bup to|\bmax(?:imum)?|\bat most"
            r"|\bwithin|<=?)\s*" + _MONEY,
            _price_cap,
        ),
        (rf"{_MONEY}\s*(?:or less|or under|or below|or cheaper|max|tops|at most)\b", _price_cap),
        (r"(?:\bover|\babove|\bmore than|\bat least|\bmin(?:imum)?|>=?)\s*" + _MONEY, _price_floor),
        (r"\$\s*(\d+(?:\.\d+)?)\s*(?:\+|or more|and up|plus)", _price_floor),
        (r"\$\s*(\d+(?:\.\d+)?)|\b(\d+(?:\.\d+)?)\s*(?:dollars?|bucks|usd)\b", _price_cap),
    )
)


_PART = r"(?:\s+(morning|afternoon|evening|night))?"
_TOMORROW = r"(?:tomorrow|tmrw|tmrrw|tmr|tmw|tomorow|tomoz|2morrow|2moro)"
_ORDINAL = r"(?:st|nd|rd|th)?"
PARTS_OF_THE_DAY = (
    ("morning", "morning"),
    ("afternoon", "afternoon"),
    ("evening", "evening"),
    ("brunch", "morning"),
)


WindowOf = Callable[["DateReader", re.Match[str]], Window | None]


class DateReader:
    """The days a query names, read in order by DATE_RULES: each rule's matches are replaced
    by a space and their windows collected in `found`. One reader per parse."""

    def __init__(self, today: date, now: datetime) -> None:
        self.today = today
        self.now = now
        self.found: list[Window] = []

    def read(self, text: str) -> str:
        text = self._holidays(text)  # first: "thanksgiving weekend" is not this weekend
        text = re.sub(r"\bnight (tomorrow|tonight)\b", r"\1 night", text)  # "latin night tomorrow"
        for pattern, window_of in DATE_RULES:
            text = pattern.sub(partial(self._read_one, window_of), text)
        return text

    def _read_one(self, window_of: WindowOf, match: re.Match[str]) -> str:
        return self._take(window_of(self, match), match)

    def _take(self, window: Window | None, match: re.Match[str]) -> str:
        if window is None:
            return match.group(0)  # not a date after all ("feb 30"): the words stay
        self.found.append(window)
        return " "

    def _holidays(self, text: str) -> str:
        if not _HOLIDAY.search(text):
            return text
        for phrase, (month, day_of_month, day_part) in HOLIDAYS.items():
            holiday = (
                self.calendar(month, day_of_month)
                if phrase != THANKSGIVING
                else _thanksgiving(self.today)
            )
            if holiday is None:
                continue
            weekend = Window(*_holiday_weekend(holiday))
            text = re.sub(rf"\b(?:{phrase}) (?:weekend|wknd)\b", partial(self._take, weekend), text)
            day = _with_part(holiday, day_part)
            text = re.sub(rf"\b(?:{phrase})\b", partial(self._take, day), text)
        return text

    def calendar(self, month: int, day_of_month: int) -> date | None:
        """The next such date from yesterday on, this year or the next."""
        for year in (self.today.year, self.today.year + 1):
            try:
                candidate = date(year, month, day_of_month)
            except ValueError:
                return None
            if candidate >= self.today - timedelta(days=1):
                return candidate
        return None

    def after(self, days: int, part: str | None = None) -> Window:
        return _with_part(self.today + timedelta(days=days), part)

    def next_days(self, match: re.Match[str]) -> Window:
        return Window(_local(self.today), _day(self.today + timedelta(days=_days_ahead(match)))[1])

    def weekend(self, weeks_ahead: int) -> Window:
        start, end = _weekend(self.today, weeks_ahead)
        return Window(max(start, self.now), end)

    def week(self, weeks_ahead: int) -> Window:
        monday = self.today - timedelta(days=self.today.weekday())
        first = monday + timedelta(days=7 * weeks_ahead)
        start = _local(first) if weeks_ahead else _local(self.today)
        return Window(start, _day(first + timedelta(days=6))[1])

    def month(self, months_ahead: int) -> Window:
        first = self.today.replace(day=1)
        for _ in range(months_ahead):
            first = _first_of_next_month(first)
        start = _local(first) if months_ahead else _local(self.today)
        return Window(start, _local(_first_of_next_month(first)) - SECOND)

    def weekday(self, match: re.Match[str]) -> Window:
        skip_today = match.group(1) == "next"
        day = _next_weekday(self.today, WEEKDAYS[match.group(2)], skip_today=skip_today)
        return _with_part(day, match.group(3))

    def month_days(self, match: re.Match[str]) -> Window | None:
        month = MONTHS[match.group(1)]
        first = self.calendar(month, int(match.group(2)))
        last = self.calendar(month, int(match.group(3)))
        if first is None or last is None or last <= first:
            return None
        return Window(_local(first), _day(last)[1])

    def month_day(self, match: re.Match[str]) -> Window | None:
        groups = [g for g in match.groups() if g]
        month_name = next(g for g in groups if not g.isdigit())
        on = self.calendar(MONTHS[month_name], int(next(g for g in groups if g.isdigit())))
        return None if on is None else _with_part(on, None)

    def numeric(self, match: re.Match[str]) -> Window | None:
        month, day_of_month = int(match.group(1)), int(match.group(2))
        on = self.calendar(month, day_of_month) if month <= 12 else None
        return None if on is None else _with_part(on, None)

    def nth_of_the_month(self, match: re.Match[str]) -> Window | None:
        month_start = self.today.replace(day=1)
        for first in (month_start, _first_of_next_month(month_start)):
            try:
                on = first.replace(day=int(match.group(1)))
            except ValueError:
                continue
            if on >= self.today:
                return _with_part(on, None)
        return None


DateRule = tuple[re.Pattern[str], WindowOf]

# Read in this order: longer phrases before the words inside them.
DATE_RULES: tuple[DateRule, ...] = (
    (
        re.compile(rf"\b(?:the )?day after {_TOMORROW}{_PART}\b"),
        lambda r, m: r.after(2, m.group(1)),
    ),
    (re.compile(r"\bin (\d{1,2}) days?\b"), lambda r, m: r.after(int(m.group(1)))),
    (
        re.compile(
            r"\b(?:(?:in|over) )?the (?:next|coming) (\d{1,2}|few|couple of|couple) days\b"
            r"|\bnext (\d{1,2}|few|couple of|couple) days\b"
        ),
        DateReader.next_days,
    ),
    (re.compile(r"\b(?:tonight|tonite|2nite|this evening)\b"), lambda r, m: r.after(0, "tonight")),
    (re.compile(rf"\b{_TOMORROW}{_PART}\b"), lambda r, m: r.after(1, m.group(1))),
    (re.compile(rf"\btoday{_PART}\b"), lambda r, m: r.after(0, m.group(1))),
    (re.compile(r"\bthis (morning|afternoon)\b"), lambda r, m: r.after(0, m.group(1))),
    (re.compile(r"\bnext weekend\b"), lambda r, m: r.weekend(1)),
    (re.compile(r"\b(?:(?:this )?weekend|this wknd|wknd)\b"), lambda r, m: r.weekend(0)),
    (re.compile(r"\bnext week\b"), lambda r, m: r.week(1)),
    (re.compile(r"\bthis week\b"), lambda r, m: r.week(0)),
    (re.compile(r"\bthis month\b"), lambda r, m: r.month(0)),
    (re.compile(r"\bnext month\b"), lambda r, m: r.month(1)),
    (
        re.compile(r"\b(?:right now|happening now|(?:on|open) now|at the moment|now)\b"),
        lambda r, m: Window(r.now, r.now + NOW_WINDOW),
    ),
    (re.compile(rf"\b(?:(this|next|on)\s+)?({_WEEKDAY})s?{_PART}\b"), DateReader.weekday),
    # "dec 24-26" (the hyphen is a space by now), "dec 24 to 26"
    (
        re.compile(
            rf"\b({_MONTH})\.?\s+(\d{{1,2}}){_ORDINAL}\s+(?:to\s+|through\s+|thru\s+)?"
            rf"(\d{{1,2}}){_ORDINAL}\b"
        ),
        DateReader.month_days,
    ),
    (
        re.compile(
            rf"\b(?:({_MONTH})\.?\s+(\d{{1,2}}){_ORDINAL}|(\d{{1,2}}){_ORDINAL}"
            rf"\s+(?:of\s+)?({_MONTH}))\b"
        ),
        DateReader.month_day,
    ),
    (re.compile(r"\b(\d{1,2})/(\d{1,2})\b"), DateReader.numeric),
    # "on the 12th": the next 12th (after "the 1st of december" is read).
    (re.compile(r"\b(?:on\s+)?the\s+(\d{1,2})(?:st|nd|rd|th)\b"), DateReader.nth_of_the_month),
)


def _parts_of_the_day(text: str, parsed: ParsedQuery) -> str:
    """A part of the day said outright sets the slot (brunch: the morning)."""
    for word, slot in PARTS_OF_THE_DAY:
        if re.search(rf"\b{word}\b", text):
            parsed.time_slot = parsed.time_slot or slot
            if word != "brunch":  # brunch is also food: the word stays for the lexicon
                text = re.sub(rf"\b{word}\b", " ", text)
    return text


class RulesParser:
    name = "rules"

    def __init__(self) -> None:
        self.phrases: dict[tuple[str, ...], tuple[str, str]] = {}
        for category, words in CATEGORY_SYNONYMS.items():
            for word in words:
                self._add(word, "category", category)
        for phrase, categories in MULTI_CATEGORY.items():
            self._add(phrase, "categories", "|".join(categories))
        places = gazetteer()
        for place in places.places:
            for name in (place.name, *place.aliases):
                if normalise(name) not in NOT_PLACE_WORDS:
                    self._add(name, "neighborhood", place.name)
        for landmark in places.landmarks:
            for name in (landmark.name, *landmark.aliases):
                value = "|".join((landmark.neighborhood, *landmark.categories))
                self._add(name, "landmark", value)
        for borough, aliases in BOROUGH_ALIASES.items():
            for alias in aliases:
                self._add(alias, "borough", borough)
        for vibe, words in VIBES.items():
            for word in words:
                self._add(word, "vibe", vibe)
        # One-word keys for fuzzy matching (the lexicon's words and phrases written solid),
        # by first letter: misspellings rarely get the first letter wrong, and comparing
        # against a few dozen keys instead of all keeps a parse well under a millisecond.
        self.fuzzy_keys: dict[str, dict[str, tuple[str, str]]] = {}
        for key, entry in self.phrases.items():
            solid = "".join(key)
            if len(solid) >= 4:
                self.fuzzy_keys.setdefault(solid[0], {})[solid] = entry
        # A word's correction depends on the word alone: each is worked out once (people
        # type the same words again and again), within a bound against floods of new ones.
        self._fuzzy = lru_cache(maxsize=CORRECTIONS_KEPT)(self._closest_entry)
        self._time_word = lru_cache(maxsize=CORRECTIONS_KEPT)(self._closest_time_word)

    def _add(self, phrase: str, kind: str, value: str) -> None:
        words = tuple(normalise(phrase).split())
        self.phrases.setdefault(words, (kind, value))
        if len(words) > 1:  # "parkslope", "bedstuy"
            self.phrases.setdefault(("".join(words),), (kind, value))

    def parse(self, query: str, now: datetime) -> ParsedQuery:
        parsed = ParsedQuery()
        text = " " + self._correct_time_words(normalise(query)) + " "
        today = now.astimezone(NEW_YORK).date()
        text = self._times(text, parsed)
        text = self._prices(text, parsed)
        text = self._days(text, today, now, parsed)
        _into_the_small_hours(parsed)
        self._words(text, parsed)
        return parsed

    def _correct_time_words(self, text: str) -> str:
        """Fix misspelled day and time words ("tonite" aside, "wekend", "tomorow") before
        the date rules read them; words the lexicon knows are left alone."""
        return " ".join(self._time_word(word) for word in text.split(" "))

    def _closest_time_word(self, word: str) -> str:
        if len(word) < 4 or word in TIME_WORDS or word in FILLERS or (word,) in self.phrases:
            return word
        close = difflib.get_close_matches(word, TIME_WORDS, n=1, cutoff=FUZZY_CUTOFF)
        return close[0] if close else word

    # Clock times: "at 8pm" (starting 8:00-8:59), "around 8" (7 to 9), "after 11pm" (11pm
    # to the small hours), "before 9pm" / "by 9pm" (from the morning until then), "after
    # midnight" (midnight to 4am).
    def _times(self, text: str, parsed: ParsedQuery) -> str:
        def clock(word: str | None, hour: int, minutes: str | None) -> str:
            word = word or "at"
            start, end = {
                "at": (hour, hour + 1),
                "around": (hour - 1, hour + 2),
                "after": (hour + (1 if minutes not in (None, "00") else 0), LATEST_START),
                "from": (hour, LATEST_START),
                "before": (EARLIEST_START, hour),
                "by": (EARLIEST_START, hour),
            }[word]
            parsed.start_hour_from, parsed.start_hour_to = start % 24, end % 24
            # The part of the day the hours point at: their end for "before 10pm".
            parsed.time_slot = slot_of_hour(
                (end - 1) % 24 if word in ("before", "by") else start % 24
            )
            return " "

        # An end time says how long the night runs, not when things start: "til 4am" is a
        # late night, "until 10pm" nothing.
        text = re.sub(
            r"\b(?:til|till|until|untill)\s+(\d{1,2})(?::\d{2})?\s*(am|pm)?\b",
            lambda m: " late night " if m.group(2) == "am" and int(m.group(1)) < 6 else " ",
            text,
        )
        text = re.sub(r"\bafter work\b", "after 5pm", text)
        text = re.sub(r"\b(?:early|late) (morning|afternoon|evening)\b", r"\1", text)
        text = re.sub(
            r"\b(at|around|by|from|before)\s+(noon|midnight)\b",
            lambda m: clock(m.group(1), 12 if m.group(2) == "noon" else 0, None),
            text,
        )
        text = re.sub(
            r"\b(at|after|around|by|from|before)?\s*(\d{1,2})(?::(\d{2}))?\s*(am|pm)\b",
            lambda m: clock(
                m.group(1), int(m.group(2)) % 12 + (12 if m.group(4) == "pm" else 0), m.group(3)
            ),
            text,
        )
        # A bare hour ("jazz at 7", "around 9") is an evening one, unless the query is about
        # the morning ("brunch at 11"); 12 to 4 stay unread (noon or the small hours?), and
        # "at 7 bucks" or "from 5 to 10" are prices.
        morning = re.search(r"\b(?:brunch|breakfast|morning|lunch)\b", text) is not None

        text = re.sub(
            r"\b(at|after|around|by|from|before)\s+([5-9]|1[01])(?::(\d{2}))?\b"
            r"(?!\s*(?:\$|dollars?|bucks|usd|to\b|and\b|or\b|%|people|guests|of\b|min|hours?))",
            lambda m: clock(m.group(1), int(m.group(2)) + (0 if morning else 12), m.group(3)),
            text,
        )
        if re.search(r"\bafter midnight\b|\bpast midnight\b", text):
            parsed.start_hour_from, parsed.start_hour_to = 0, LATEST_START
            parsed.time_slot = "late_night"
            text = re.sub(r"\bafter midnight\b|\bpast midnight\b", " ", text)
        if re.search(r"\blate ?night\b|\blate\b|\bwee hours\b", text):
            parsed.time_slot = "late_night"
            text = re.sub(r"\blate ?night\b|\blate\b|\bwee hours\b", " ", text)
        return text

    def _prices(self, text: str, parsed: ParsedQuery) -> str:
        text = re.sub(r"\b(18|21)\s?\+", lambda m: f" {m.group(1)}plus ", text)  # ages
        for pattern, read in PRICE_RULES:
            text = pattern.sub(partial(_read_price, read, parsed), text)
        free = r"\bfree\b|\bno cover\b|\bno charge\b|\bfree entry\b|\bfree admission\b"
        if re.search(free, text):
            parsed.price_min, parsed.price_max = None, 0.0
            text = re.sub(free, " ", text)
        if re.search(CHEAP_WORDS, text):
            if parsed.price_max is None:
                parsed.price_max = CHEAP_PRICE
            text = re.sub(CHEAP_WORDS, " ", text)
        return text

    def _days(self, text: str, today: date, now: datetime, parsed: ParsedQuery) -> str:
        reader = DateReader(today, now)
        text = reader.read(text)
        text = _parts_of_the_day(text, parsed)
        if reader.found:
            # "this week, ideally sunday": a window inside another narrows it.
            found = [w for w in reader.found if not any(_inside(o, w) for o in reader.found)]
            parsed.date_from = min(w.start for w in found)
            parsed.date_to = max(w.end for w in found)
            slots = [w for w in found if w.slot]
            if slots and not parsed.time_slot:
                parsed.time_slot = slots[0].slot
                parsed.slot_from_window = not slots[0].slot_explicit
        return text

    def _words(self, text: str, parsed: ParsedQuery) -> None:
        words = re.findall(r"[a-z0-9&.]+", NEGATING_PHRASES.sub(" except ", text))
        words = [w.strip(".") for w in words if w.strip(".")]
        unknown: list[str] = []
        negated_until = -1  # a category phrase starting at or before this word is ruled out
        negated_by = ""

        def take(entry: tuple[str, str], at: int, size: int) -> None:
            nonlocal negated_until, negated_by
            if entry[0] == "landmark" and at > 0 and words[at - 1] in NEAR_WORDS:
                # "near the Met" names a place to be near, not an evening of art.
                entry = ("landmark", entry[1].split("|")[0])
            if at > negated_until:
                self._apply(entry, parsed)
                return
            if entry[0] in ("category", "categories"):
                _exclude(entry[1], parsed)
                after = at + size
                # "no techno or house": the list goes on.
                listing = after < len(words) and words[after] in ("or", "and", "nor")
                negated_until = after + 1 if listing else -1
            elif negated_by == "but":  # "jazz, but in brooklyn" rules nothing out
                self._apply(entry, parsed)
                negated_until = -1
            else:
                # A place or a mood ruled out ("not in midtown", "avoid clubs") is not
                # something to filter for: it stays unexplained, so the app can say so.
                unknown.extend(words[at : at + size])
                negated_until = -1

        i = 0
        while i < len(words):
            word = words[i]
            found = self._phrase_at(words, i)
            if found is None and word in NEGATIONS:
                # "but also jazz" adds; "anything but jazz", "no jazz" rule out.
                softened = i + 1 < len(words) and words[i + 1] in NOT_NEGATING
                negated_until = -1 if softened else i + NEGATION_REACH
                negated_by = word
                i += 1
                continue
            found = found or self._guess_at(words, i)
            if found is not None:
                take(found[0], i, found[1])
                i += found[1]
                continue
            if word not in FILLERS and not word.isdigit():
                unknown.append(word)
            i += 1
        parsed.categories = [c for c in parsed.categories if c not in parsed.excluded_categories]
        parsed.free_text = " ".join(unknown)

    def _phrase_at(self, words: list[str], i: int) -> tuple[tuple[str, str], int] | None:
        """The longest phrase of the lexicon starting at word i, and its length."""
        for size in range(min(MAX_PHRASE_WORDS, len(words) - i), 0, -1):
            entry = self.phrases.get(tuple(words[i : i + size]))
            if entry is not None:
                return entry, size
        return None

    def _guess_at(self, words: list[str], i: int) -> tuple[tuple[str, str], int] | None:
        """A misspelled phrase starting at word i, else the word itself misspelled."""
        misspelled = self._misspelled_phrase(words, i)
        if misspelled is not None:
            return misspelled
        word = words[i]
        if word in FILLERS or word.isdigit():
            return None
        entry = self._fuzzy(word)
        return None if entry is None else (entry, 1)

    def _misspelled_phrase(self, words: list[str], i: int) -> tuple[tuple[str, str], int] | None:
        """A phrase of two or three words with a typo ("west vilage"), matched written solid
        against the solid phrases, more strictly than one word; (entry, words used)."""
        if words[i] in FILLERS:
            return None
        for size in (3, 2):
            solid = "".join(words[i : i + size])
            if i + size <= len(words) and len(solid) >= 8:
                entry = self._fuzzy(solid, cutoff=PHRASE_FUZZY_CUTOFF)
                if entry is not None:
                    return entry, size
        return None

    def _closest_entry(self, word: str, cutoff: float | None = None) -> tuple[str, str] | None:
        """The lexicon's entry whose word is closest to `word` (a misspelling), if any is
        close enough; RulesParser._fuzzy keeps the answers."""
        if len(word) < 3:
            return None
        keys = self.fuzzy_keys.get(word[0], {})
        near = [k for k in keys if abs(len(k) - len(word)) <= 2]
        if cutoff is None:
            cutoff = FUZZY_CUTOFF if len(word) >= 5 else 0.85
        close = difflib.get_close_matches(word, near, n=1, cutoff=cutoff)
        return keys[close[0]] if close else None

    @staticmethod
    def _apply(entry: tuple[str, str], parsed: ParsedQuery) -> None:
        kind, value = entry
        if kind in ("category", "categories"):
            for category in value.split("|"):
                if category not in parsed.categories:
                    parsed.categories.append(category)
        elif kind in ("neighborhood", "landmark"):
            # A landmark: its neighbourhood, and the kind of event it is known for.
            hood, *categories = value.split("|")
            if not parsed.neighborhood:
                parsed.neighborhood = hood
                parsed.city = gazetteer().place(hood).city
            for category in categories:
                if category not in parsed.categories:
                    parsed.categories.append(category)
        elif kind == "borough":
            if not parsed.city:
                parsed.city = value
        elif kind == "vibe" and value not in parsed.vibe_keywords:
            parsed.vibe_keywords.append(value)
