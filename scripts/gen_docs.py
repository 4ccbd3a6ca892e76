"""Rewrite the README's configuration table from the Settings fields (`make docs`)."""

from __future__ import annotations

import sys
from pathlib import Path

from aura_server.config import configuration_table

README = Path(__file__).resolve().parent.parent / "README.md"
START = "<!-- configuration table: generated from server/aura_server/config.py by `make docs` -->\n"
END = "<!-- end of configuration table -->\n"


def with_table(text: str) -> str:
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return head + START + configuration_table() + END + tail


def main() -> None:
    text = README.read_text()
    updated = with_table(text)
    if updated != text:
        README.write_text(updated)
        print("README.md: configuration table updated", file=sys.stderr)


if __name__ == "__main__":
    main()
