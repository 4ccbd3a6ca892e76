"""Helpers the benchmark scripts share."""

from __future__ import annotations

import os
import random
import socket
import statistics
import subprocess
import sys
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
) -> subprocess.Popen[bytes]:
    """`aura serve` as a benchmark runs it: auth and rate limits off, warnings only, the
    REST door only when an HTTP port is given."""
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
    return subprocess.Popen(command, env=env, stderr=stderr)


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
