"""REST Feed against gRPC Feed at the same load: what the HTTP/JSON door adds.

It seeds the 5,000-event demo catalog into a fresh store, serves both doors in this process
(the REST door calls the gRPC server over a loopback channel, as in `aura serve`), then
alternates identical Feed requests through a gRPC channel and a keep-alive HTTP connection,
and prints median and p99 for each and the p99 difference; it writes a PNG.

    python scripts/bench_rest.py [--calls 1000]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aura_client import AuraClient
from benchlib import p99, pyplot, save

from aura_server.app import Aura
from aura_server.cli.commands.catalog import seed_demo
from aura_server.domain.taxonomy import NEIGHBORHOODS
from aura_server.grpc_api.server import GrpcServer
from aura_server.rest.gateway import RestGateway
from aura_server.store.sqlite import SQLiteRepository


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--plot", type=Path, default=Path("var/bench_rest.png"))
    args = parser.parse_args()

    repo = SQLiteRepository(Path(tempfile.mkdtemp(prefix="aura-bench-rest-")) / "aura.db")
    print("seeding the demo catalog", file=sys.stderr)
    seed_demo(repo, out=io.StringIO())
    aura = Aura.build(repo)
    server = GrpcServer(aura.plane, host="127.0.0.1", port=0)
    server.start()
    gateway = RestGateway(f"127.0.0.1:{server.port}", host="127.0.0.1", port=0)
    gateway.start()
    client = AuraClient(f"127.0.0.1:{server.port}")
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port)
    rng = random.Random(3)

    def over_grpc(user: str, lat: float, lng: float) -> None:
        client.feed(user_id=user, lat=lat, lng=lng, limit=30)

    def over_rest(user: str, lat: float, lng: float) -> None:
        body = json.dumps({"user_id": user, "lat": lat, "lng": lng, "limit": 30})
        connection.request("POST", "/v1/recommend/feed", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(payload.decode())

    doors = {"gRPC": over_grpc, "REST": over_rest}
    for call in doors.values():  # warm-up: connections, the catalog index
        call("warm-up", 40.71, -73.96)
    timings: dict[str, list[float]] = {name: [] for name in doors}
    for number in range(1, args.calls + 1):
        user, hood = f"bench-{rng.randrange(50)}", rng.choice(NEIGHBORHOODS)
        for name, call in doors.items():
            started = time.perf_counter()
            call(user, hood.lat, hood.lng)
            timings[name].append((time.perf_counter() - started) * 1000)
        if number % 100 == 0:
            print(f"\r{number}/{args.calls} pairs", end="", file=sys.stderr)
    print(file=sys.stderr)
    connection.close()
    gateway.stop()
    server.stop(grace=0)
    aura.close()

    for name, samples in timings.items():
        print(
            f"{name:>5} Feed: median {statistics.median(samples):.2f} ms, p99 {p99(samples):.2f} ms"
        )
    print(f"REST p99 - gRPC p99 = {p99(timings['REST']) - p99(timings['gRPC']):.2f} ms")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.boxplot(list(timings.values()), tick_labels=list(timings), showfliers=False)
    ax.set_ylabel("client-observed Feed latency (ms)")
    ax.set_title("Feed through each door, 5,000 events, limit 30")
    save(fig, args.plot)


if __name__ == "__main__":
    main()
