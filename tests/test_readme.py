"""The README's calls and the getting-started walkthrough, run as written: every grpcurl,
buf curl, curl and Node.js line, in order, against a server like `make run`'s (auth off,
the demo catalog seeded for today), with only the ports changed to free ones."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import Served

from aura_server.cli.commands.catalog import seed_demo
from aura_server.rest.gateway import RestGateway
from aura_server.store.sqlite import SQLiteRepository

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / ".venv" / "node" / "node_modules"
TOOLS = {
    ".venv/bin/grpcurl": (ROOT / ".venv" / "bin" / "grpcurl").exists(),
    "npx": shutil.which("npx") is not None,
    "curl": shutil.which("curl") is not None,
}


def walkthrough_commands() -> list[str]:
    text = (ROOT / "docs" / "getting-started.md").read_text()
    return _bash_lines(text[text.index("## Walkthrough\n") :])


def readme_commands() -> list[str]:
    return _bash_lines((ROOT / "README.md").read_text())


def _bash_lines(text: str) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", text, re.DOTALL)
    lines = [line for block in blocks for line in block.splitlines() if line.strip()]
    return [line for line in lines if not line.startswith(("make ", "  "))]


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


def _run_as_written(command: str, ports: tuple[int, int]) -> str:
    grpc_port, http_port = ports
    line = command.replace("localhost:50051", f"localhost:{grpc_port}").replace(
        "localhost:8000", f"localhost:{http_port}"
    )
    done = subprocess.run(
        ["bash", "-c", line], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, (command, done.stdout, done.stderr)
    return done.stdout


def _skip_without_tools() -> None:
    missing = [tool for tool, found in TOOLS.items() if not found]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (make test installs them)")


def test_the_readme_calls_run_as_written(make_run: tuple[int, int]) -> None:
    _skip_without_tools()
    commands = readme_commands()
    assert {c.split()[0] for c in commands} == {".venv/bin/grpcurl", "npx", "curl"}
    for command in commands:
        json.loads(_run_as_written(command, make_run))


def test_the_readme_node_client_runs_as_written(make_run: tuple[int, int]) -> None:
    if shutil.which("node") is None or not NODE_MODULES.exists():
        pytest.skip("node or .venv/node missing (make test installs them)")
    text = (ROOT / "README.md").read_text()
    (script,) = re.findall(r"```js\n(.*?)```", text, re.DOTALL)
    script = script.replace("localhost:50051", f"localhost:{make_run[0]}")
    done = subprocess.run(
        ["node", "-e", script],
        cwd=ROOT,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    feed = json.loads(done.stdout)
    assert len(feed["items"]) == 5 and feed["feed_id"]


def test_every_walkthrough_line_runs_as_written(make_run: tuple[int, int]) -> None:
    _skip_without_tools()
    for command in walkthrough_commands():
        answer = _run_as_written(command, make_run)
        if "-d '" in command:  # a call: its answer is JSON
            json.loads(answer)
    profile = json.loads(
        _run_as_written("curl -fsS 'localhost:8000/v1/user/profile?user_id=ana'", make_run)
    )
    assert profile["total_events_attended"] == 3  # the three purchases, one per tool
    assert profile["preferred_categories"][0]["name"]


def test_every_link_of_the_readme_names_a_file_that_exists() -> None:
    """The docs site checks its own links (mkdocs --strict); the README is outside it."""
    page = ROOT / "README.md"
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text())
    local = [t for t in targets if not t.startswith(("http://", "https://"))]
    assert local, "the README links to no file: the pattern is wrong"
    missing = [t for t in local if not (page.parent / t).exists()]
    assert missing == []


def test_the_development_tree_lists_every_package() -> None:
    tree = (ROOT / "docs" / "development.md").read_text()
    package = ROOT / "server" / "aura_server"
    folders = {
        path.parent.name
        for path in package.rglob("__init__.py")
        if path.parent != package and "__pycache__" not in path.parts
    }
    assert {name for name in folders if f"{name}/" not in tree} == set()
