"""Add events to the catalog from a JSON lines file (one aura.v1.Event per line, as
`aura catalog import` reads), then read one back. Needs a token with the aura:admin
scope (`aura token --admin`).

    AURA_TARGET=localhost:50051 AURA_TOKEN=... python catalog_import.py events.jsonl
"""

import json
import os
import sys

from aura_client import AuraClient, InvalidArgumentError

with open(sys.argv[1]) as lines:
    events = [json.loads(line) for line in lines if line.strip()]
with AuraClient(
    os.environ.get("AURA_TARGET", "localhost:50051"), token=os.environ.get("AURA_TOKEN")
) as aura:
    upserted = 0
    try:
        for start in range(0, len(events), 500):
            answer = aura.upsert_events(events=events[start : start + 500])
            upserted += answer.upserted
    except InvalidArgumentError as error:  # a batch with a refused event is refused whole
        for violation in error.violations:
            print(f"{violation.field}: {violation.description}", file=sys.stderr)
        sys.exit(1)
    first = aura.get_event(event_id=events[0]["event_id"]).event
    print(f"imported {upserted} of {len(events)} events; {first.event_id} is {first.title!r}")
