"""Exposure folded in from impressions.

Every list shown counts each item as probably looked at and passed over (tastes.expose).
A Feed does not write the profile for it: it writes its impression, which carries what
exposure needs per item (position, categories, lowest price, distance from where the user
asked). The lists a profile has not taken in yet are folded into it, oldest first, at the
user's next write (a behavior, a reward, onboarding), inside that write's transaction and
before its own change; and, for users who only look, by a background sweep once their
newest list has waited `idle` seconds. So feedback always finds the exposure of the list
it answers in place, as if the profile had been written when the list was shown, and a
Feed costs one row. A Natural search's list also carries the categories it named, taken
in at the same moment (profiles.take_searches), so a search costs one row too.

A list the profile never took in stays in the store: `exposure_folded` marks the newest
list folded, and a new profile starts after the lists shown before it existed.
"""

from __future__ import annotations

from collections.abc import Sequence

from aura_server.domain.learning import tastes
from aura_server.domain.models import ShownList, UserProfile


def fold(profile: UserProfile, lists: Sequence[ShownList], half_life: float) -> None:
    """Take in the exposure of `lists` (the lists shown after the profile's mark, oldest
    first), each against the tastes the list was served with."""
    for shown in lists:
        if shown.items:
            view = tastes.user_tastes(profile, serving=True)
            tastes.expose(profile.evidence, view, shown.items, half_life, shown.mark.feed_id)
        profile.exposure_folded = shown.mark
