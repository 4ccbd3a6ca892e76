"""A working example for every request of the REST door, shown pre-filled by Swagger UI's
"Try it out".

Taken in the walkthrough's order on a server holding the demo catalog (`make run` seeds
it), each one succeeds as it is: the onboarding example creates the user the others name,
the events named come from the demo catalog, and the catalog example writes the event
the delete example removes.
"""

from __future__ import annotations

from typing import Any

USER = "ana"
BUSHWICK = {"lat": 40.6944, "lng": -73.9213}
DEMO_EVENT = "demo-00001"
NEW_EVENT = "swagger-example-1"

# By request message: the JSON body.
BODIES: dict[str, dict[str, Any]] = {
    "aura.v1.OnboardRequest": {
        "user_id": USER,
        "intent": "explore",
        "age": 27,
        "gender": "female",
        "neighborhood": "Bushwick",
        "favorite_categories": ["Techno"],
    },
    "aura.v1.ResetProfileRequest": {"user_id": USER},
    "aura.v1.LogBehaviorRequest": {"user_id": USER, "action": "click", "event_id": DEMO_EVENT},
    "aura.v1.SubmitRewardRequest": {
        "user_id": USER,
        "event_id": DEMO_EVENT,
        "action": "purchase",
    },
    "aura.v1.FeedRequest": {"user_id": USER, **BUSHWICK, "limit": 10},
    "aura.v1.HighlightsRequest": {"user_id": USER, **BUSHWICK},
    "aura.v1.NaturalRequest": {
        "user_id": USER,
        "query": "techno in bushwick tonight under $40",
    },
    "aura.v1.UpsertEventsRequest": {
        "events": [
            {
                "event_id": NEW_EVENT,
                "title": "Sunset Techno on the Roof",
                "categories": ["Techno"],
                "tags": ["rooftop", "dj"],
                "venue": "Elsewhere Rooftop",
                "city": "Brooklyn",
                "neighborhood": "Bushwick",
                "starts_at": "2030-06-01T23:00:00Z",
                "price_min": 25,
                "price_max": 35,
            }
        ]
    },
}

# By (request message, field): a path or query parameter.
PARAMETERS: dict[tuple[str, str], Any] = {
    ("aura.v1.GetProfileRequest", "user_id"): USER,
    ("aura.v1.GetEventRequest", "event_id"): DEMO_EVENT,
    ("aura.v1.DeleteEventRequest", "event_id"): NEW_EVENT,
    ("aura.v1.ListEventsRequest", "page_size"): 10,
    ("aura.v1.ListEventsRequest", "city"): "Brooklyn",
}
