"""Log a short session (views, a click) and reward the purchase that ended it.

AURA_TARGET=localhost:50051 AURA_TOKEN=... python session_and_reward.py
"""

import os

from aura_client import AuraClient

with AuraClient(
    os.environ.get("AURA_TARGET", "localhost:50051"), token=os.environ.get("AURA_TOKEN")
) as aura:
    aura.onboard(user_id="example-ben", intent="explore", age=34, neighborhood="Bushwick")
    feed = aura.feed(user_id="example-ben", limit=5)
    for position, item in enumerate(feed.items[:3]):
        aura.log_behavior(
            user_id="example-ben",
            action="view",
            event_id=item.event.event_id,
            feed_id=feed.feed_id,
            position=position,
        )
    chosen = feed.items[0].event
    aura.log_behavior(
        user_id="example-ben", action="click", event_id=chosen.event_id, feed_id=feed.feed_id
    )
    reward = aura.submit_reward(
        user_id="example-ben", event_id=chosen.event_id, action="purchase", feed_id=feed.feed_id
    )
    print(f"bought {chosen.title}: reward {reward.reward:+.2f}, applied: {reward.applied}")
    for category in reward.profile.preferred_categories[:3]:
        print(f"  {category.name}: {category.score:.2f}")
