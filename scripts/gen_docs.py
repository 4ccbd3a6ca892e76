"""Rewrite the docs' generated parts from their sources (`make docs`).

Each part sits in a page between `<!-- generated: NAME -->` and `<!-- end generated -->`;
`tests/test_docs.py` fails when a committed part differs from a fresh generation.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from aura_server.cli.main import COMMANDS
from aura_server.config import configuration_table
from aura_server.domain.learning.actions import ACTION_VALUES, REWARD_ACTIONS
from aura_server.domain.learning.profiles import CATEGORY_STEP, LOCATION_STEP
from aura_server.rest.routes import build_routes, source_comments
from aura_server.telemetry.metrics import SERIES

DOCS = Path(__file__).resolve().parent.parent / "docs"
END = "<!-- end generated -->\n"


def api_table() -> str:
    comments = source_comments()
    lines = ["| service | rpc | REST | what it does |", "|---|---|---|---|"]
    for route in build_routes():
        method = route.method
        meaning = _first_sentence(comments.get(method.full_name, ""))
        lines.append(
            f"| {method.containing_service.name} | {method.name} "
            f"| {route.http_method} {route.template} | {meaning} |"
        )
    return "\n".join(lines) + "\n"


def rewards_table() -> str:
    lines = [
        "| action | reward | category score | location score | engagement (trends) |",
        "|---|---|---|---|---|",
    ]
    for action, value in ACTION_VALUES.items():
        reward = value.reward
        moves_place = reward is not None and reward > 0 and action in REWARD_ACTIONS
        cells = (
            "none" if reward is None else f"{reward:+.3g}",
            "none" if reward is None else f"{CATEGORY_STEP * reward:+.3g}",
            f"{LOCATION_STEP * reward:+.3g}" if moves_place and reward else "none",
            f"{value.engagement:g}",
        )
        lines.append(f"| {action} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def metrics_table() -> str:
    lines = ["| series | type | labels | meaning |", "|---|---|---|---|"]
    for series in SERIES:
        labels = ", ".join(f"`{label}`" for label in series.labels)
        lines.append(f"| `{series.name}` | {series.kind} | {labels} | {series.meaning} |")
    return "\n".join(lines) + "\n"


def cli_reference() -> str:
    out: list[str] = []
    for command in COMMANDS:
        usage = argparse.ArgumentParser(prog=f"aura {command.words}", add_help=False)
        for argument in command.arguments:
            usage.add_argument(*argument.flags, **argument.settings)
        line = " ".join(usage.format_usage().removeprefix("usage: ").split())
        out += [
            f"### `aura {command.words}`",
            "",
            command.meaning[0].upper() + command.meaning[1:] + ".",
            "",
        ]
        out += ["```", line, "```", "", "| argument | meaning |", "|---|---|"]
        out += [
            f"| `{', '.join(argument.flags)}` | {_escape(argument.settings.get('help', ''))} |"
            for argument in command.arguments
        ]
        out.append("")
    return "\n".join(out)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("%%", "%")


def _first_sentence(comment: str) -> str:
    text = " ".join(comment.split())
    end = text.find(". ")
    return _escape(text if end < 0 else text[: end + 1])


# page, part name, generator
PARTS: tuple[tuple[str, str, Callable[[], str]], ...] = (
    ("reference/configuration.md", "configuration", configuration_table),
    ("reference/api.md", "api", api_table),
    ("concepts/learning.md", "rewards", rewards_table),
    ("reference/metrics.md", "metrics", metrics_table),
    ("reference/cli.md", "cli", cli_reference),
)


def with_part(text: str, name: str, content: str) -> str:
    start = f"<!-- generated: {name} (`make docs`) -->\n"
    head, rest = text.split(start, 1)
    _, tail = rest.split(END, 1)
    return head + start + content + END + tail


def regenerated(page: str) -> str:
    text = (DOCS / page).read_text()
    for part_page, name, generate in PARTS:
        if part_page == page:
            text = with_part(text, name, generate())
    return text


def main() -> None:
    for page in dict.fromkeys(page for page, _, _ in PARTS):
        text = (DOCS / page).read_text()
        updated = regenerated(page)
        if updated != text:
            (DOCS / page).write_text(updated)
            print(f"docs/{page}: updated", file=sys.stderr)


if __name__ == "__main__":
    main()
