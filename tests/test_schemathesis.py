"""schemathesis against `aura serve`'s REST door: every check, the examples, coverage,
fuzzing and stateful phases, a fixed seed and a bounded budget. The document must match
the server (tests/schemathesis.toml lists the refusals it cannot describe). Another seed:
AURA_SCHEMATHESIS_SEED=N."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from harness import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SEED = int(os.environ.get("AURA_SCHEMATHESIS_SEED", "1"))
BUDGET_S = 45


def test_the_rest_door_matches_its_openapi_document(tmp_path: Path) -> None:
    if not (BIN / "st").exists():
        pytest.skip("schemathesis is not installed (make test installs it)")
    env = {**os.environ, "AURA_DB_PATH": str(tmp_path / "aura.db"), "AURA_AUTH": "disabled"}
    env.pop("MONGODB_URL", None)
    seeded = subprocess.run(
        [BIN / "aura", "catalog", "seed-demo", "--count", "300"], env=env, capture_output=True
    )
    assert seeded.returncode == 0, seeded.stderr
    http_port = free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(free_port()), "--admin-port", "0"]
    server = subprocess.Popen(
        [BIN / "aura", *args, "--http-port", str(http_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{http_port}/openapi.json"
    try:
        _wait_for(url)
        run = subprocess.run(
            [
                *(BIN / "st", "--config-file", ROOT / "tests" / "schemathesis.toml", "run", url),
                *("--checks", "all", "--seed", str(SEED), "--max-time", str(BUDGET_S)),
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=BUDGET_S * 4,
        )
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert run.returncode == 0, run.stdout[-6000:]


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)
