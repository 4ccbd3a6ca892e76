"""The README's walkthrough, run as written: every grpcurl, buf curl and curl line of it,
in order, against a server like `make run`'s (auth off, the demo catalog seeded for
today), with only the ports changed to free ones."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_ranking import Served

from aura_server.cli.commands.catalog import seed_demo
from aura_server.rest.gateway import RestGateway
from aura_server.store.sqlite import SQLiteRepository

ROOT = Path(__file__).resolve().parent.parent
TOOLS = {
    ".venv/bin/grpcurl": (ROOT / ".venv" / "bin" / "grpcurl").exists(),
    "npx": shutil.which("npx") is not None,
    "curl": shutil.which("curl") is not None,
}


def walkthrough_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Walkthrough\n") : text.index("\n## API\n")]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    folder = tmp_path_factory.mktemp("walkthrough")
    repo = SQLiteRepository(folder / "aura.db")
    seed_demo(repo, out=io.StringIO())
    repo.close()
    stack = Served(folder / "aura.db")
    gateway = RestGateway(f"127.0.0.1:{stack.server.port}", host="127.0.0.1", port=0)
    gateway.start()
    yield stack.server.port, gateway.port
    gateway.stop()
    stack.close()


def test_the_walkthrough_has_every_step_in_each_form() -> None:
    commands = walkthrough_commands()
    for rpc in ("Onboard", "Feed", "LogBehavior", "SubmitReward", "GetProfile", "Natural"):
        forms = [c for c in commands if rpc in c or _rest_path(rpc) in c]
        tools = {c.split()[0] for c in forms}
        assert {".venv/bin/grpcurl", "npx", "curl"} <= tools, (rpc, forms)
    assert all("npx --yes" in c for c in commands if c.startswith("npx"))


def _rest_path(rpc: str) -> str:
    return {
        "Onboard": "/v1/user/onboarding",
        "Feed": "/v1/recommend/feed",
        "LogBehavior": "/v1/behavior/log",
        "SubmitReward": "/v1/feedback/reward",
        "GetProfile": "/v1/user/profile",
        "Natural": "/v1/recommend/natural",
    }[rpc]


def test_every_walkthrough_line_runs_as_written(make_run: tuple[int, int]) -> None:
    grpc_port, http_port = make_run
    missing = [tool for tool, found in TOOLS.items() if not found]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (make test installs them)")
    for command in walkthrough_commands():
        line = command.replace("localhost:50051", f"localhost:{grpc_port}").replace(
            "localhost:8000", f"localhost:{http_port}"
        )
        done = subprocess.run(
            ["bash", "-c", line], cwd=ROOT, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        if "-d '" in command:  # a call: its answer is JSON
            json.loads(done.stdout)
    onboarded = subprocess.run(
        ["bash", "-c", f"curl -fsS 'localhost:{http_port}/v1/user/profile?user_id=ana'"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    profile = json.loads(onboarded.stdout)
    assert profile["total_events_attended"] == 3  # the three purchases, one per tool
    assert profile["preferred_categories"][0]["name"]


def test_every_link_to_the_code_names_a_file_that_exists() -> None:
    """Files move (domain/ was split into flows); the README's links must move with them."""
    page = ROOT / "README.md"
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text())
    local = [t for t in targets if not t.startswith(("http://", "https://"))]
    assert local, "the README links to no file: the pattern is wrong"
    missing = [t for t in local if not (page.parent / t).exists()]
    assert missing == []


def test_the_development_tree_lists_every_package() -> None:
    text = (ROOT / "README.md").read_text()
    tree = text[text.index("## Development\n") :]
    package = ROOT / "server" / "aura_server"
    folders = {
        path.parent.name
        for path in package.rglob("__init__.py")
        if path.parent != package and "__pycache__" not in path.parts
    }
    assert {name for name in folders if f"{name}/" not in tree} == set()
