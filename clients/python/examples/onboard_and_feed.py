"""Onboard a user and fetch their first feed.

AURA_TARGET=localhost:50051 AURA_TOKEN=... python onboard_and_feed.py
"""

import os

from aura_client import AuraClient

with AuraClient(
    os.environ.get("AURA_TARGET", "localhost:50051"), token=os.environ.get("AURA_TOKEN")
) as aura:
    aura.onboard(
        user_id="example-ana",
        intent="explore",
        age=28,
        neighborhood="Williamsburg",
        favorite_categories=["Jazz", "Art"],
    )
    feed = aura.feed(user_id="example-ana", limit=5)
    print(f"feed {feed.feed_id} (cold start: {feed.cold_start})")
    for item in feed.items:
        print(f"  {item.event.title} [{', '.join(item.event.categories)}] because {item.reason}")
