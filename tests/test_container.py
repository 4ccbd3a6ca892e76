"""The container files, checked without a Docker engine (none runs on the build machines):
the image's command and health check run, as written in the Dockerfile, against a server
started the same way outside a container."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml
from harness import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def final_stage(dockerfile: str) -> str:
    return dockerfile.split("\nFROM ")[-1]


def instruction(stage: str, name: str) -> str:
    """An instruction's arguments, continuation lines joined."""
    joined = stage.replace("\\\n", " ")
    found = re.findall(rf"^{name}\s+(.*)$", joined, flags=re.MULTILINE)
    assert found, f"no {name} in the final stage"
    return str(found[-1])


def exec_form(text: str) -> list[str]:
    command = json.loads(text[text.index("[") :])
    assert isinstance(command, list)
    return [str(part) for part in command]


def test_the_image_is_multi_stage_slim_and_runs_as_a_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("\nFROM ") + dockerfile.startswith("FROM ") >= 2
    stage = final_stage(dockerfile)
    assert stage.startswith("python:3.11-slim")
    assert "COPY --from=build /wheels" in stage
    assert not re.search(r"gcc|build-essential|apt-get install", stage), "no compilers"
    assert instruction(stage, "USER") not in ("root", "0")
    assert {"50051", "8000"} <= set(instruction(stage, "EXPOSE").split())
    assert "AURA_AUTH=jwt" in stage
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var"} <= set(ignored)


def test_compose_runs_aura_on_a_mongodb_replica_set() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mongo, aura = compose["services"]["mongo"], compose["services"]["aura"]
    assert "--replSet" in mongo["command"]
    assert "rs.initiate" in " ".join(mongo["healthcheck"]["test"])
    assert "replicaSet=" in aura["environment"]["MONGODB_URL"]
    assert aura["depends_on"]["mongo"]["condition"] == "service_healthy"
    assert "SECRET_KEY" in aura["environment"]


def test_the_image_command_and_health_check_pass(tmp_path: Path) -> None:
    stage = final_stage((ROOT / "Dockerfile").read_text())
    command = exec_form(instruction(stage, "CMD"))
    check = exec_form(instruction(stage, "HEALTHCHECK").split("CMD", 1)[1])
    assert command[0] == "aura" and check[0] == "aura"
    env = {
        **os.environ,
        "AURA_DB_PATH": str(tmp_path / "aura.db"),
        "AURA_AUTH": "jwt",  # as the image sets it
        "SECRET_KEY": "a-container-test-secret-long-enough-for-hs256",
        "AURA_PORT": str(free_port()),  # the image's defaults may be taken on this machine
        "AURA_HTTP_PORT": str(free_port()),
    }
    env.pop("MONGODB_URL", None)
    seeded = subprocess.run(
        [str(BIN / "aura"), "catalog", "seed-demo", "--count", "200"],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert seeded.returncode == 0
    before = subprocess.run(
        [str(BIN / check[0]), *check[1:]], env=env, capture_output=True, text=True, timeout=30
    )
    assert before.returncode != 0, "nothing serves yet: the check fails"
    server = subprocess.Popen(
        [str(BIN / command[0]), *command[1:]],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            result = subprocess.run(
                [str(BIN / check[0]), *check[1:]],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )
            if result.returncode == 0:
                break
            assert time.monotonic() < deadline, result.stderr
            time.sleep(0.5)
        assert "SERVING" in result.stdout
    finally:
        server.terminate()
        assert server.wait(timeout=30) == 0
