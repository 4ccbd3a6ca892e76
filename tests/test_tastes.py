"""What the learner makes of exposure and feedback (tastes.py), and how the feed uses it:
silence counts, nearness comes from where the user asks, price is a budget, tastes fade,
and a stated favourite leads the first feed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from statistics import median

import numpy as np
import pytest
from harness import NOW, copy_of, make_event

from aura_server.app import Aura
from aura_server.config import Settings
from aura_server.domain.geo import distance_km
from aura_server.domain.learning import tastes
from aura_server.domain.learning.profiles import learn_from
from aura_server.domain.learning.tastes import user_tastes
from aura_server.domain.models import Event, ImpressionItem, UserProfile
from aura_server.domain.taxonomy import CATEGORY_CODES, NEIGHBORHOODS_BY_NAME
from aura_server.store.documents import evidence_from_doc, evidence_to_doc
from aura_server.store.sqlite import SQLiteRepository

ORIGIN = (40.7081, -73.9571)  # Williamsburg
HALF_LIFE = 20.0


def at_km(km: float, event_id: str, **fields: object) -> Event:
    """An event `km` north of ORIGIN."""
    return make_event(event_id, lat=ORIGIN[0] + km / 111.2, lng=ORIGIN[1], **fields)


def mean_of(profile: UserProfile, category: str) -> float:
    return float(user_tastes(profile).mean[CATEGORY_CODES[category]])


def shown(events: list[Event], first: int = 0) -> list[ImpressionItem]:
    """A list of events as its impression records them, from ORIGIN."""
    return [
        ImpressionItem(
            event_id=event.event_id,
            position=first + position,
            score=0.0,
            reason="",
            explored=False,
            propensity=1.0,
            distance_km=distance_km(*ORIGIN, event.lat, event.lng),
            price_min=event.price_min,
            categories=tuple(event.categories),
        )
        for position, event in enumerate(events)
    ]


def show(profile: UserProfile, events: list[Event]) -> None:
    """Serve a list, as the feed does (starting over when the tastes changed)."""
    tastes.expose(
        profile.evidence,
        user_tastes(profile, serving=True),
        shown(events),
        HALF_LIFE,
        list_id=f"list-{profile.version}-{len(events)}-{events[0].event_id}",
    )


def take(profile: UserProfile, event: Event, position: int, action: str = "purchase") -> None:
    reward = {"purchase": 1.0, "click": 0.3, "skip": -1 / 3}[action]
    distance = distance_km(*ORIGIN, event.lat, event.lng)
    learn_from(
        profile,
        event,
        action,
        reward,
        HALF_LIFE,
        shown_at=position,
        distance_km=distance,
        feed_id=profile.evidence.list_id,  # it answers the last list shown
    )


def test_silence_counts_and_one_purchase_lifts_an_unknown_kind() -> None:
    profile = UserProfile(user_id="u")
    unseen = mean_of(profile, "Jazz")
    for round_ in range(6):
        show(profile, [at_km(0.3, f"t{round_}", categories=["Techno"])])
    assert mean_of(profile, "Techno") < unseen, "shown again and again, never taken"
    jazz = at_km(0.3, "j", categories=["Jazz"])
    show(profile, [jazz])
    take(profile, jazz, 0)
    assert mean_of(profile, "Jazz") > 2 * unseen
    assert mean_of(profile, "Jazz") > mean_of(profile, "Techno")


def test_a_purchase_credits_the_likely_reason_among_an_events_categories() -> None:
    profile = UserProfile(user_id="u", favorite_categories=["Community"])
    both = at_km(0.3, "b", categories=["Food & Drink", "Community"])
    show(profile, [both])
    take(profile, both, 0)
    liked = profile.evidence.liked
    assert liked["Community"] > 3 * liked["Food & Drink"]


def test_travel_distance_is_learned_from_where_the_user_asked() -> None:
    near_lover, tolerant = UserProfile(user_id="near"), UserProfile(user_id="far")
    for round_ in range(12):
        near = at_km(0.2, f"n{round_}", categories=["Jazz"])
        far = at_km(4.0, f"f{round_}", categories=["Jazz"])
        for profile in (near_lover, tolerant):
            show(profile, [near, far])
        take(near_lover, near, 0)
        take(tolerant, near, 0)
        take(tolerant, far, 1)
    # The data rules out "4 km is fine" for one and "only next door" for the other; the
    # prior (2.5 km) settles what it cannot tell apart.
    assert user_tastes(near_lover).travel_km < 1.5
    assert user_tastes(tolerant).travel_km > 4.0
    assert not near_lover.locations or all(
        hood == "Bushwick" for _, hood in near_lover.locations
    ), "places come from the events taken, distance from the request"


def test_a_far_favourite_left_alone_blames_the_distance_until_the_user_is_known_to_travel() -> None:
    """Jazz events 3 km away, shown and left alone: while nobody knows how far the user
    goes, the distance takes most of the blame and Jazz stays liked; once they have bought
    far before, leaving far Jazz alone says more against Jazz."""
    newcomer, traveller = UserProfile(user_id="new"), UserProfile(user_id="far")
    for profile in (newcomer, traveller):
        liked = at_km(0.2, f"{profile.user_id}-liked", categories=["Jazz"])
        show(profile, [liked])
        take(profile, liked, 0)
    for round_ in range(4):
        far = at_km(6.0, f"far{round_}", categories=["Comedy"])
        show(traveller, [far])
        take(traveller, far, 0)
    far_jazz = [at_km(3.0, f"jazz{n}", categories=["Jazz"]) for n in range(3)]
    losses = {}
    for profile in (newcomer, traveller):
        before = mean_of(profile, "Jazz")
        show(profile, far_jazz)
        losses[profile.user_id] = before - mean_of(profile, "Jazz")
    assert user_tastes(newcomer).cautious_travel_km < user_tastes(newcomer).travel_km
    assert user_tastes(traveller).cautious_travel_km > 2 * user_tastes(newcomer).cautious_travel_km
    assert losses["far"] > 1.5 * losses["new"] > 0


def test_price_is_learned_as_a_budget() -> None:
    big_spender, thrifty = UserProfile(user_id="big"), UserProfile(user_id="thrifty")
    for round_ in range(10):
        cheap = at_km(0.3, f"c{round_}", categories=["Jazz"], price_min=10.0, price_max=15.0)
        dear = at_km(0.3, f"d{round_}", categories=["Jazz"], price_min=65.0, price_max=80.0)
        for profile in (big_spender, thrifty):
            show(profile, [cheap, dear])
        take(thrifty, cheap, 0)
        take(big_spender, dear, 1)
    assert user_tastes(big_spender).budget >= 65.0, "what they buy bounds what they will pay"
    assert user_tastes(thrifty).budget < 40.0, "what they never take lowers it"
    assert thrifty.price_range is not None
    assert thrifty.price_range.sweet_spot_max == user_tastes(thrifty).budget
    assert thrifty.price_range.sweet_spot_max >= 15.0, "never below what they paid"


def test_the_fit_is_expected_over_what_is_known_of_the_budget() -> None:
    """Ranking weighs an event's price by every budget the user may have, not the single
    likeliest one: while little is known, a $70 night is not written off because the best
    guess is $40; once the user is known to be thrifty, it is."""
    newcomer, thrifty = UserProfile(user_id="new"), UserProfile(user_id="thrifty")
    for round_ in range(10):
        cheap = at_km(0.3, f"c{round_}", categories=["Jazz"], price_min=10.0)
        dear = at_km(0.3, f"d{round_}", categories=["Jazz"], price_min=70.0)
        show(thrifty, [cheap, dear])
        take(thrifty, cheap, 0)
    near, dear_price = np.array([0.3]), np.array([70.0])
    unsure, known = user_tastes(newcomer), user_tastes(thrifty)
    best_guess = float(tastes.price_fit(dear_price, unsure.budget)[0])
    assert float(unsure.fit(near, dear_price)[0]) > 1.2 * best_guess * float(
        unsure.fit(near, np.array([10.0]))[0]
    )
    assert float(known.fit(near, dear_price)[0]) < 0.5 * float(unsure.fit(near, dear_price)[0])


def change_of_taste(half_life: float) -> int:
    """Feedback actions after a Techno regular turns to Jazz until Jazz leads, by fading
    alone (lists served without the check for a change of tastes)."""
    profile = UserProfile(user_id="u")

    def act(event: Event, action: str) -> None:
        tastes.expose(profile.evidence, user_tastes(profile), shown([event]), half_life)
        distance = distance_km(*ORIGIN, event.lat, event.lng)
        reward = {"purchase": 1.0, "skip": -1 / 3}[action]
        learn_from(profile, event, action, reward, half_life, shown_at=0, distance_km=distance)

    for n in range(30):
        act(at_km(0.3, f"t{n}", categories=["Techno"]), "purchase")
    for n in range(1, 200):
        act(at_km(0.3, f"tt{n}", categories=["Techno"]), "skip")
        act(at_km(0.3, f"j{n}", categories=["Jazz"]), "purchase")
        if mean_of(profile, "Jazz") > mean_of(profile, "Techno"):
            return 2 * n
    return 400


def test_tastes_that_change_are_followed_within_a_few_sessions() -> None:
    followed = change_of_taste(HALF_LIFE)
    assert followed <= 12  # two or three sessions of feedback
    assert change_of_taste(0) > followed, "without fading, old evidence holds on longer"


def test_a_skip_never_moves_places_so_home_keeps_its_score(aura: Aura) -> None:
    harlem = NEIGHBORHOODS_BY_NAME["Harlem"]
    brunch = make_event(
        "brunch",
        categories=["Food & Drink"],
        city="Manhattan",
        neighborhood="Harlem",
        lat=harlem.lat,
        lng=harlem.lng,
    )
    aura.repo.upsert_events([brunch])
    aura.profiles.onboard("h", "explore", 40, "", neighborhood="Harlem")
    for n in range(5):
        aura.behaviors.log("h", "skip", event_id="brunch", behavior_id=f"skip-{n}")
    profile = aura.profiles.get("h")
    assert profile.locations[("Manhattan", "Harlem")] == pytest.approx(0.5)
    assert profile.category_preferences()["Food & Drink"] < 0


@pytest.fixture
def demo(catalog_file: Path, tmp_path: Path) -> Aura:
    return Aura.build(SQLiteRepository(copy_of(catalog_file, tmp_path / "aura.db")), Settings())


def test_a_stated_favourite_leads_the_first_feed(demo: Aura) -> None:
    bushwick = NEIGHBORHOODS_BY_NAME["Bushwick"]
    for draw in range(8):  # whatever the exploration draws, every first feed
        user = f"ana-{draw}"
        demo.profiles.onboard(
            user, "explore", 27, "female", neighborhood="Bushwick", favorite_categories=["Techno"]
        )
        feed = demo.recommender.feed(user, bushwick.lat, bushwick.lng, limit=10, now=NOW)
        techno = [item for item in feed.items if "Techno" in item.event.categories]
        assert len(techno) >= 4, [item.event.categories for item in feed.items]
        assert "Techno" in feed.items[0].event.categories
        assert {item.reason for item in techno if not item.explored} == {"favorite_category"}


def test_nearness_carries_a_first_feed_with_no_trends_and_no_tastes(demo: Aura) -> None:
    demo.profiles.onboard("quiet", "explore", 30, "")  # intent and age only, no home
    feed = demo.recommender.feed("quiet", *ORIGIN, limit=10, now=NOW)
    distances = [distance_km(*ORIGIN, i.event.lat, i.event.lng) for i in feed.items]
    snapshot = demo.index.snapshot()
    everything = [distance_km(*ORIGIN, e.lat, e.lng) for e in snapshot.events]
    assert median(distances) < 2.0 < median(everything)


def test_a_near_jazz_lover_who_states_nothing_is_served_near_jazz(demo: Aura) -> None:
    """Buys the first Jazz night within 1.5 km of where they ask (one a session, so the
    nearby ones last) and skips what they look at before it."""
    demo.profiles.onboard("j", "explore", 30, "")
    now = NOW
    bought: set[str] = set()
    for session in range(6):
        feed = demo.recommender.feed("j", *ORIGIN, limit=10, now=now, feed_id=f"j-{session}")
        for item in feed.items[:6]:
            distance = distance_km(*ORIGIN, item.event.lat, item.event.lng)
            wanted = "Jazz" in item.event.categories and distance < 1.5
            action = "purchase" if wanted else "skip"
            demo.behaviors.log("j", action, event_id=item.event.event_id, feed_id=feed.feed_id)
            if wanted:
                bought.update(item.event.categories)
                break
        now += timedelta(minutes=1)
    feed = demo.recommender.feed("j", *ORIGIN, limit=10, now=now, feed_id="j-last")
    learned = [item for item in feed.items if not item.explored]
    described = [(i.event.categories, i.reason) for i in feed.items]
    # What they bought leads, near: Jazz, or Classical where the Jazz nights they bought
    # were Jazz + Classical ones (the evidence cannot tell those two apart until a
    # Classical night without Jazz is shown and passed).
    for item in learned[:3]:
        assert bought.intersection(item.event.categories), described
        assert distance_km(*ORIGIN, item.event.lat, item.event.lng) < 1.5, described
    jazz = [item for item in learned if "Jazz" in item.event.categories]
    assert len(jazz) >= 2, described
    snapshot = demo.index.snapshot()
    all_jazz = [
        distance_km(*ORIGIN, e.lat, e.lng) for e in snapshot.events if "Jazz" in e.categories
    ]
    served = [distance_km(*ORIGIN, i.event.lat, i.event.lng) for i in jazz[:2]]
    assert max(served) < np.percentile(all_jazz, 5), "the nearest Jazz first, not just any"


def test_evidence_round_trips_through_the_store(aura: Aura) -> None:
    aura.repo.upsert_events([make_event("e1")])
    aura.profiles.onboard("u1", "explore", 30, "")
    aura.behaviors.log("u1", "purchase", event_id="e1")
    stored = aura.profiles.get("u1").evidence
    assert stored.liked["Techno"] > 0
    assert evidence_from_doc(evidence_to_doc(stored)) == stored


def test_a_regular_of_one_kind_still_remembers_the_kinds_they_skipped() -> None:
    profile = UserProfile(user_id="u")
    for n in range(3):
        techno = at_km(0.3, f"t{n}", categories=["Techno"])
        show(profile, [techno])
        take(profile, techno, 0, "skip")
    skipped = mean_of(profile, "Techno")
    for n in range(30):  # a month of Jazz, every night bought
        jazz = at_km(0.3, f"j{n}", categories=["Jazz"])
        show(profile, [jazz])
        take(profile, jazz, 0)
    unseen = mean_of(profile, "Comedy")
    # Evidence about Jazz ages Techno's only a quarter as fast as Techno's own would: the
    # skips keep more than half of what they said against Techno.
    kept = (unseen - mean_of(profile, "Techno")) / (unseen - skipped)
    assert kept > 0.5, kept


def regular_of_techno() -> UserProfile:
    """A user who bought the Techno night they were shown, thirty nights running."""
    profile = UserProfile(user_id="u")
    for n in range(30):
        techno = at_km(0.3, f"t{n}", categories=["Techno"])
        show(profile, [techno])
        take(profile, techno, 0)
    return profile


def test_a_favourite_left_alone_for_a_session_falls_at_once_and_comes_back_when_taken() -> None:
    profile = regular_of_techno()
    regular = mean_of(profile, "Techno")
    show(profile, [at_km(0.3, f"dry{n}", categories=["Techno"]) for n in range(5)])
    dry = mean_of(profile, "Techno")
    # Recent evidence weighs more than the long memory: one session of five Techno nights
    # left alone takes away more than a quarter (the long memory alone: about an eighth).
    assert dry < 0.75 * regular, (regular, dry)
    again = at_km(0.3, "again", categories=["Techno"])
    show(profile, [again])
    take(profile, again, 0)
    assert mean_of(profile, "Techno") > dry + 0.05
    assert mean_of(profile, "Techno") > 3 * mean_of(profile, "Comedy")


def a_feed_of_techno(profile: UserProfile, name: str, taken: set[int], skipped: set[int]) -> None:
    feed = [at_km(0.3, f"{name}{n}", categories=["Techno"]) for n in range(6)]
    show(profile, feed)
    for position in sorted(taken | skipped):
        take(profile, feed[position], position, "purchase" if position in taken else "skip")


def test_a_regular_whose_tastes_changed_is_served_afresh_after_one_feed() -> None:
    profile = regular_of_techno()
    assert not user_tastes(profile, serving=True).restarted
    a_feed_of_techno(profile, "dry", taken=set(), skipped={0, 1, 3, 4})
    served = user_tastes(profile, serving=True)
    assert served.restarted, tastes.total_surprise(profile.evidence)
    assert served.travel_km == user_tastes(profile).travel_km, "distance is kept"
    techno, unknown = (served.mean[CATEGORY_CODES[c]] for c in ("Techno", "Comedy"))
    assert techno < unknown, "the kind they just left is not served first again"
    # Feedback on the dry feed was learned against what was known when it was shown.
    assert not user_tastes(profile).restarted and mean_of(profile, "Techno") > unknown
    jazz = at_km(0.3, "jazz", categories=["Jazz"])
    show(profile, [jazz])  # serving the next list starts over, in the store too
    assert profile.evidence.restarts == 1 and "Techno" not in profile.evidence.liked
    take(profile, jazz, 0)
    assert mean_of(profile, "Jazz") > 2 * mean_of(profile, "Techno")


def test_an_ordinary_session_of_a_regular_is_no_change_of_tastes() -> None:
    profile = regular_of_techno()
    a_feed_of_techno(profile, "usual", taken={0, 2}, skipped={1, 5})
    assert not user_tastes(profile, serving=True).restarted
    assert tastes.total_surprise(profile.evidence) < tastes.CHANGE_EVIDENCE


def test_only_kinds_known_to_be_liked_say_whether_tastes_changed() -> None:
    view = user_tastes(regular_of_techno())
    # A Techno regular leaving Comedy alone, or taking it, is no news either way.
    for taken in (False, True):
        assert tastes.change_evidence(view, ["Comedy"], 0.8, taken) == 0.0
    # Leaving their sure favourite alone says "changed", taking it says "not", and a
    # purchase weighs more than a pass: one taken answers two left alone.
    left_alone = tastes.change_evidence(view, ["Techno"], 0.8, taken=False)
    taken = tastes.change_evidence(view, ["Techno"], 0.8, taken=True)
    assert left_alone > 0 > taken and -taken > 2 * left_alone, (left_alone, taken)


def test_a_list_nobody_answered_yet_is_no_change_of_tastes() -> None:
    profile = regular_of_techno()
    a_feed_of_techno(profile, "unread", taken=set(), skipped=set())
    a_feed_of_techno(profile, "unread-too", taken=set(), skipped=set())
    assert tastes.total_surprise(profile.evidence) >= tastes.CHANGE_EVIDENCE, "looks dry"
    assert not user_tastes(profile, serving=True).restarted


def test_a_stated_favourite_no_longer_counts_after_a_change() -> None:
    profile = regular_of_techno()
    profile.favorite_categories = ["Techno"]
    a_feed_of_techno(profile, "dry", taken=set(), skipped={0, 1, 2, 3})
    served = user_tastes(profile, serving=True)
    assert served.restarted and served.stated == frozenset()


def test_a_regular_who_turns_away_is_served_afresh_through_the_feed(aura: Aura) -> None:
    """Through the feed and the store: a Jazz regular (buys every Jazz night among the
    first six items of a feed) one day skips them instead; a feed soon starts over."""
    kinds = ("Jazz", "Comedy", "Techno", "Film", "Theater")
    aura.repo.upsert_events(
        [
            at_km(0.1 + 0.01 * n, f"{kind}-{n}", categories=[kind], price_min=15.0)
            for kind in kinds
            for n in range(60)
        ]
    )
    aura.profiles.onboard("r", "explore", 30, "")
    now = NOW

    def session(name: str, buys_jazz: bool) -> list[list[str]]:
        nonlocal now
        feed = aura.recommender.feed("r", *ORIGIN, limit=10, now=now, feed_id=name)
        for item in feed.items[:6]:
            if "Jazz" in item.event.categories:
                action = "purchase" if buys_jazz else "skip"
                aura.behaviors.log("r", action, event_id=item.event.event_id, feed_id=feed.feed_id)
        now += timedelta(minutes=1)
        assert aura.recommender.impressions.flush()  # its impression is written behind it
        return [item.event.categories for item in feed.items if not item.explored]

    def leads_with_jazz(feed: list[list[str]]) -> bool:
        return sum("Jazz" in kinds for kinds in feed[:5]) >= 4

    for n in range(8):
        regular = session(f"jazz-{n}", buys_jazz=True)
    assert leads_with_jazz(regular), regular
    assert aura.profiles.get("r").evidence.restarts == 0
    feeds_after = [session("turned-away-0", buys_jazz=False)]
    while sum("Jazz" in kinds for kinds in feeds_after[-1][:5]) > 1 and len(feeds_after) < 4:
        feeds_after.append(session(f"turned-away-{len(feeds_after)}", buys_jazz=False))
    # A feed answered with skips or two, then one starts over.
    assert len(feeds_after) <= 3, feeds_after
    assert leads_with_jazz(feeds_after[0]), "not before"
    # The profile takes in the list that started over at the user's next write.
    last = f"turned-away-{len(feeds_after) - 1}"
    aura.behaviors.log("r", "view", event_id="Comedy-0", feed_id=last, position=0)
    assert aura.profiles.get("r").evidence.restarts == 1


def test_an_event_left_again_and_again_tires_and_gives_way() -> None:
    """Item fatigue: the same Jazz night at the top of ten lists, never taken, keeps its
    weight for the first few and then gives way, while Jazz stays the user's kind; taking
    it clears it; a skip is one more look."""
    lover = [at_km(0.3, f"bought-{i}", categories=["Jazz"]) for i in range(3)]
    stubborn = at_km(0.3, "stubborn", categories=["Jazz"])
    fresh = [at_km(0.3, f"fresh-{i}", categories=["Jazz"]) for i in range(10)]
    repeated, varied = UserProfile(user_id="r"), UserProfile(user_id="v")
    for profile in (repeated, varied):
        for event in lover:
            show(profile, [event])
            take(profile, event, 0)
    weights = []
    for i in range(10):
        show(repeated, [stubborn])
        show(varied, [fresh[i]])
        weights.append(user_tastes(repeated).fatigue.get("stubborn", 1.0))
    assert weights[:3] == [1.0, 1.0, 1.0]  # the first few showings keep their place
    assert weights[-1] < 0.5 and weights == sorted(weights, reverse=True)
    assert not user_tastes(varied).fatigue  # no one event was left again and again
    means = user_tastes(repeated).mean
    assert int(np.argmax(means)) == CATEGORY_CODES["Jazz"]
    take(repeated, stubborn, 0, "click")
    assert "stubborn" not in repeated.evidence.item_passes
    skipped = UserProfile(user_id="s")
    show(skipped, [stubborn])
    take(skipped, stubborn, 0, "skip")
    assert skipped.evidence.item_passes["stubborn"] == pytest.approx(2.0, rel=0.05)


def test_a_take_softens_what_the_rest_of_its_list_says_against_their_kinds() -> None:
    """Someone who took one thing from a list was busy with it: the first take gives back
    half the passes the list's other items counted, once per list."""
    jazz = at_km(0.3, "jazz", categories=["Jazz"])
    techno = at_km(0.3, "techno", categories=["Techno"])
    house = at_km(0.3, "house", categories=["House"])
    profile = UserProfile(user_id="busy")
    show(profile, [jazz, techno, house])
    before = profile.evidence.passed["Techno"]
    take(profile, jazz, 0)
    after = profile.evidence.passed["Techno"]
    assert 0.45 * before < after < 0.55 * before
    take(profile, house, 2, "click")  # a second take from the same list gives back no more
    assert profile.evidence.passed["Techno"] == pytest.approx(after, rel=0.02)
