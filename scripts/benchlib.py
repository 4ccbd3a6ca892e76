"""Helpers the benchmark scripts share."""

from __future__ import annotations

import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any


def percentile(samples: list[float], q: int) -> float:
    """The q-th percentile (1..99); the sample itself when there is one, NaN for none."""
    if len(samples) < 2:
        return samples[0] if samples else float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def p99(samples: list[float]) -> float:
    return percentile(samples, 99)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_aura(
    db_path: Path,
    workers: int,
    port: int,
    http_port: int | None = None,
    stderr: IO[str] | int = subprocess.DEVNULL,
    admin_port: int = 0,
) -> subprocess.Popen[bytes]:
    """`aura serve` as a benchmark runs it: auth and rate limits off, warnings only, the
    REST door only when an HTTP port is given, the operators' door (/metrics) on
    `admin_port` (0: any free port)."""
    env = {
        **os.environ,
        "AURA_DB_PATH": str(db_path),
        "AURA_AUTH": "disabled",
        "AURA_RATE_LIMIT": "0",
        "AURA_LOG_LEVEL": "WARNING",
    }
    aura = str(Path(sys.executable).with_name("aura"))
    command = [aura, "serve", "--workers", str(workers), "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    command += ["--http-port", str(http_port)] if http_port is not None else ["--no-http"]
    command += ["--admin-port", str(admin_port)]
    return subprocess.Popen(command, env=env, stderr=stderr)


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's memory in MB from /proc/PID/status: VmRSS (resident now) or VmHWM (its
    peak); 0 when the field is absent."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pyplot() -> Any:
    """matplotlib's pyplot, drawing to files only (no display on build machines)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


INTENTS = ("explore", "create", "freelance")


def onboard_random(
    aura: Any,
    user_id: str,
    rng: random.Random,
    intents: tuple[str, ...] = INTENTS,
    oldest: int = 65,
) -> None:
    """Onboard a user with a random intent, age, home neighborhood and two favourites."""
    from aura_server.domain.taxonomy import CATEGORIES, NEIGHBORHOODS

    aura.profiles.onboard(
        user_id,
        rng.choice(intents),
        rng.randint(18, oldest),
        "",
        neighborhood=rng.choice(NEIGHBORHOODS).name,
        favorite_categories=rng.sample(CATEGORIES, 2),
    )


# The load generator (scripts/loadgen.c, on Debian's libnghttp2), built on first use.
BUILD = Path(__file__).resolve().parent.parent / "build"
LOADGEN_SOURCE = Path(__file__).with_name("loadgen.c")


def loadgen_binary() -> Path:
    binary = BUILD / "loadgen"
    if not binary.exists() or binary.stat().st_mtime < LOADGEN_SOURCE.stat().st_mtime:
        BUILD.mkdir(exist_ok=True)
        subprocess.run(
            ["gcc", "-O2", "-Wall", "-o", str(binary), str(LOADGEN_SOURCE), "-lnghttp2"],
            check=True,
        )
    return binary


def frame(message: Any) -> bytes:
    """A gRPC length-prefixed message: uncompressed flag, 4-byte length, the bytes."""
    data = message.SerializeToString()
    return b"\x00" + len(data).to_bytes(4, "big") + data


@dataclass
class Load:
    """Calls to one gRPC method, each with the next of `frames` (one per user, say):
    `inflight` at once (closed loop), or `rate` per second offered (open loop)."""

    name: str
    path: str
    frames: list[bytes]
    inflight: int = 16
    rate: float = 0.0


@dataclass
class LoadResult:
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)  # of OK answers
    outcomes: dict[str, int] = field(default_factory=dict)  # "grpc 0", "grpc 14", "HTTP 503"

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds

    @property
    def errors(self) -> dict[str, int]:
        return {name: n for name, n in self.outcomes.items() if name != "grpc 0"}

    def percentile(self, q: int) -> float:
        return percentile(self.latencies_ms, q)

    @classmethod
    def merged(cls, results: list[LoadResult]) -> LoadResult:
        total = cls(results[0].seconds if results else 1.0)
        for result in results:
            total.latencies_ms += result.latencies_ms
            for name, count in result.outcomes.items():
                total.outcomes[name] = total.outcomes.get(name, 0) + count
        return total


def drive(
    port: int, loads: list[Load], seconds: float, folder: Path, warmup: float = 2.0
) -> dict[str, LoadResult]:
    """Run every load at once against 127.0.0.1:port for `seconds` after a warm-up; each
    answer's grpc-status is read (scripts/loadgen.c)."""
    specs = []
    for number, load in enumerate(loads):
        frames = folder / f"frames-{number}.bin"
        frames.write_bytes(b"".join(load.frames))
        specs.append(f"{load.name},{load.path},{frames},{load.inflight},{load.rate:g}")
    command = [str(loadgen_binary()), "127.0.0.1", str(port), f"{seconds:g}", f"{warmup:g}"]
    done = subprocess.run(
        command + specs, capture_output=True, text=True, timeout=seconds + warmup + 60
    )
    if done.returncode != 0:
        raise RuntimeError(f"loadgen failed ({done.returncode}): {done.stderr.strip()}")
    report = json.loads(done.stdout)
    return {
        name: LoadResult(
            seconds,
            [micros / 1000 for micros in result["latencies_us"]],
            dict(result["outcomes"]),
        )
        for name, result in report["loads"].items()
    }


def wait_for_grpc(port: int, timeout: float = 60.0) -> None:
    """Until a health Check on 127.0.0.1:port answers."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                stub.Check(health_pb2.HealthCheckRequest(), timeout=2)
                return
            except grpc.RpcError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
