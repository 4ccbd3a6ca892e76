"""The `aura` command line: what each command is, and which module runs it."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aura_server import __version__
from aura_server.cli.commands.admin import health, token
from aura_server.cli.commands.catalog import catalog_import, catalog_seed_demo
from aura_server.cli.commands.offline import (
    FORMATS,
    evaluate_log,
    export_log,
    since,
    slate_config,
)
from aura_server.cli.commands.parser_eval import eval_parser
from aura_server.cli.supervisor import serve
from aura_server.cli.worker import gateway
from aura_server.config import Settings
from aura_server.telemetry import logs


@dataclass(frozen=True)
class Argument:
    flags: tuple[str, ...]
    settings: dict[str, Any]


def arg(*flags: str, **settings: Any) -> Argument:
    """An argument as `ArgumentParser.add_argument` takes it."""
    return Argument(flags, settings)


@dataclass(frozen=True)
class Command:
    words: str  # "catalog seed-demo": a command and its subcommand
    meaning: str
    run: Callable[[argparse.Namespace, Settings], int]
    arguments: tuple[Argument, ...] = ()


# Every command, as `aura --help` and the CLI reference (`make docs`) list them.
COMMANDS: tuple[Command, ...] = (
    Command(
        "serve",
        "serve the gRPC API",
        serve,
        (
            arg("--host", default="", help="bind address (default 0.0.0.0)"),
            arg("--port", type=int, default=None, help="gRPC port (default 50051)"),
            arg("--http-port", type=int, default=None, help="REST port (default 8000)"),
            arg("--no-http", action="store_true", help="serve gRPC only"),
            arg(
                "--admin-port",
                type=int,
                default=None,
                help="/metrics and /dashboard (default 9464)",
            ),
            arg(
                "--workers",
                type=int,
                default=0,
                help="processes sharing the ports (default AURA_WORKERS, else one per core)",
            ),
        ),
    ),
    Command(
        "gateway",
        "serve only the REST door, forwarding to a running gRPC server",
        gateway,
        (
            arg("--grpc-target", required=True, help="HOST:PORT of the gRPC server"),
            arg("--host", default="0.0.0.0", help="bind address (default 0.0.0.0)"),
            arg("--port", type=int, default=8000, help="REST port (default 8000)"),
        ),
    ),
    Command(
        "catalog seed-demo",
        "write the demo catalog",
        catalog_seed_demo,
        (
            arg("--count", type=int, default=5000, help="events to write (default 5000)"),
            arg("--seed", type=int, default=7, help="random seed (default 7)"),
            arg("--if-empty", action="store_true", help="only when the catalog is empty"),
        ),
    ),
    Command(
        "catalog import",
        "load events from JSON lines (aura.v1.Event in proto3 JSON)",
        catalog_import,
        (arg("file", help="path to a .jsonl file"),),
    ),
    Command(
        "health",
        "check a server through the gRPC health service (exit 0: SERVING)",
        health,
        (
            arg("--target", default="", help="HOST:PORT (default 127.0.0.1 and AURA_PORT)"),
            arg("--service", default="", help="a service name (default: the server)"),
            arg("--timeout", type=float, default=3.0, help="seconds (default 3)"),
        ),
    ),
    Command(
        "token",
        "print a token signed with SECRET_KEY",
        token,
        (
            arg("user_id", help="the token's subject"),
            arg("--service", action="store_true", help="may act for any user"),
            arg("--admin", action="store_true", help="may write the catalog"),
            arg("--ttl", type=int, default=3600, help="seconds (default 3600)"),
        ),
    ),
    Command(
        "export",
        "write the joined decision and reward log (VW DSJSON or JSON lines)",
        export_log,
        (
            arg("--format", choices=FORMATS, default="dsjson", help="dsjson or jsonl"),
            arg("--since", type=since, default="30d", help="ISO time or 7d, 12h"),
            arg("--out", default="-", help="file (default: standard output)"),
        ),
    ),
    Command(
        "evaluate",
        "estimate offline what other exploration settings would have earned",
        evaluate_log,
        (
            arg("--since", type=since, default="7d", help="ISO time or 7d, 12h"),
            arg("--exploration", default="0.05,0.15,0.3", help="candidate exploration rates"),
            arg(
                "--policy",
                choices=("current", "uniform", "popularity"),
                default="current",
                help="current: the slate policy at each --exploration rate (and greedy); uniform: "
                "exploration 1; popularity: refused (see the offline evaluation page)",
            ),
            arg(
                "--candidate",
                type=slate_config,
                action="append",
                default=[],
                help="a slate configuration replayed on the feeds logged with their candidate "
                "sets (AURA_CANDIDATE_LOG_SHARE), e.g. exploration=0.05,bandit_weight=0.3; "
                "repeatable",
            ),
            arg("--report", default="build/evaluation.json", help="JSON report"),
        ),
    ),
    Command(
        "eval-parser",
        "per-field and whole-query accuracy of the query parser",
        eval_parser,
        (
            arg("file", help="labelled queries, JSON lines (see parser_eval.py)"),
            arg("--parser", choices=("rules", "llm"), default="rules", help="rules or llm"),
            arg("-v", "--verbose", action="store_true", help="list every miss"),
        ),
    ),
)

GROUPS = {"catalog": "manage the event catalog"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aura", description="Aura: real-time event recommendations over gRPC."
    )
    parser.add_argument("--version", action="version", version=f"aura {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    groups: dict[str, Any] = {}  # "catalog" -> its subcommands
    for command in COMMANDS:
        words = command.words.split()
        if len(words) == 1:
            sub = commands.add_parser(words[0], help=command.meaning)
        else:
            if words[0] not in groups:
                group = commands.add_parser(words[0], help=GROUPS[words[0]])
                groups[words[0]] = group.add_subparsers(dest=f"{words[0]}_command", required=True)
            sub = groups[words[0]].add_parser(words[1], help=command.meaning)
        for argument in command.arguments:
            sub.add_argument(*argument.flags, **argument.settings)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    if args.command in ("serve", "gateway"):
        logs.configure(settings.log_level)  # a JSON line per record, one per request
    else:
        logging.basicConfig(
            level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    return int(args.run(args, settings))


if __name__ == "__main__":
    sys.exit(main())
