"""The `aura` command line: what each command is, and which module runs it."""

from __future__ import annotations

import argparse
import logging
import sys

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aura", description="Aura: real-time event recommendations over gRPC."
    )
    parser.add_argument("--version", action="version", version=f"aura {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="serve the gRPC API")
    serve_cmd.add_argument("--host", default="", help="bind address (default 0.0.0.0)")
    serve_cmd.add_argument("--port", type=int, default=None, help="gRPC port (default 50051)")
    serve_cmd.add_argument("--http-port", type=int, default=None, help="REST port (default 8000)")
    serve_cmd.add_argument("--no-http", action="store_true", help="serve gRPC only")
    serve_cmd.add_argument(
        "--admin-port", type=int, default=None, help="/metrics and /dashboard (default 9464)"
    )
    serve_cmd.add_argument(
        "--workers",
        type=int,
        default=0,
        help="processes sharing the ports (default AURA_WORKERS, else one per core)",
    )
    serve_cmd.set_defaults(run=serve)

    gateway_cmd = commands.add_parser(
        "gateway", help="serve only the REST door, forwarding to a running gRPC server"
    )
    gateway_cmd.add_argument("--grpc-target", required=True, help="HOST:PORT of the gRPC server")
    gateway_cmd.add_argument("--host", default="0.0.0.0", help="bind address (default 0.0.0.0)")
    gateway_cmd.add_argument("--port", type=int, default=8000, help="REST port (default 8000)")
    gateway_cmd.set_defaults(run=gateway)

    catalog = commands.add_parser("catalog", help="manage the event catalog")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True)
    seed = catalog_commands.add_parser("seed-demo", help="write the demo catalog")
    seed.add_argument("--count", type=int, default=5000, help="events to write (default 5000)")
    seed.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    seed.add_argument("--if-empty", action="store_true", help="only when the catalog is empty")
    seed.set_defaults(run=catalog_seed_demo)
    importer = catalog_commands.add_parser(
        "import", help="load events from JSON lines (aura.v1.Event in proto3 JSON)"
    )
    importer.add_argument("file", help="path to a .jsonl file")
    importer.set_defaults(run=catalog_import)

    health_cmd = commands.add_parser(
        "health", help="check a server through the gRPC health service (exit 0: SERVING)"
    )
    health_cmd.add_argument(
        "--target", default="", help="HOST:PORT (default 127.0.0.1 and AURA_PORT)"
    )
    health_cmd.add_argument("--service", default="", help="a service name (default: the server)")
    health_cmd.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    health_cmd.set_defaults(run=health)

    token_cmd = commands.add_parser("token", help="print a token signed with SECRET_KEY")
    token_cmd.add_argument("user_id", help="the token's subject")
    token_cmd.add_argument("--service", action="store_true", help="may act for any user")
    token_cmd.add_argument("--admin", action="store_true", help="may write the catalog")
    token_cmd.add_argument("--ttl", type=int, default=3600, help="seconds (default 3600)")
    token_cmd.set_defaults(run=token)

    export_cmd = commands.add_parser(
        "export", help="write the joined decision and reward log (VW DSJSON or JSON lines)"
    )
    export_cmd.add_argument("--format", choices=FORMATS, default="dsjson")
    export_cmd.add_argument("--since", type=since, default="30d", help="ISO time or 7d, 12h")
    export_cmd.add_argument("--out", default="-", help="file (default: standard output)")
    export_cmd.set_defaults(run=export_log)

    evaluate_cmd = commands.add_parser(
        "evaluate", help="estimate offline what other exploration settings would have earned"
    )
    evaluate_cmd.add_argument("--since", type=since, default="7d", help="ISO time or 7d, 12h")
    evaluate_cmd.add_argument(
        "--exploration", default="0.05,0.15,0.3", help="candidate exploration rates"
    )
    evaluate_cmd.add_argument(
        "--policy",
        choices=("current", "uniform", "popularity"),
        default="current",
        help="current: the slate policy at each --exploration rate (and greedy); uniform: "
        "exploration 1; popularity: refused (see the README)",
    )
    evaluate_cmd.add_argument(
        "--candidate",
        type=slate_config,
        action="append",
        default=[],
        help="a slate configuration replayed on the feeds logged with their candidate sets "
        "(AURA_CANDIDATE_LOG_SHARE), e.g. exploration=0.05,bandit_weight=0.3; repeatable",
    )
    evaluate_cmd.add_argument("--report", default="build/evaluation.json", help="JSON report")
    evaluate_cmd.set_defaults(run=evaluate_log)

    evaluation = commands.add_parser(
        "eval-parser", help="per-field and whole-query accuracy of the query parser"
    )
    evaluation.add_argument("file", help="labelled queries, JSON lines (see parser_eval.py)")
    evaluation.add_argument("--parser", choices=("rules", "llm"), default="rules")
    evaluation.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    evaluation.set_defaults(run=eval_parser)
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
