"""Search the way people talk.

AURA_TARGET=localhost:50051 AURA_TOKEN=... python natural_search.py "jazz tonight under $40"
"""

import os
import sys

from aura_client import AuraClient

query = " ".join(sys.argv[1:]) or "jazz in brooklyn tonight under $40"
with AuraClient(
    os.environ.get("AURA_TARGET", "localhost:50051"), token=os.environ.get("AURA_TOKEN")
) as aura:
    aura.onboard(user_id="example-cam", intent="explore", age=25, neighborhood="Chelsea")
    answer = aura.natural(user_id="example-cam", query=query, limit=5)
    parsed = answer.parsed
    price = f"${parsed.price_max:.0f}" if parsed.HasField("price_max") else "any price"
    print(f"{query!r} ({answer.parser} parser): {list(parsed.categories)}, {price}")
    for item in answer.items:
        print(f"  {item.event.title} ({item.event.neighborhood}, ${item.event.price_min:.0f})")
