"""The `aura` command line."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

from aura_server import __version__, offline
from aura_server.app import Aura
from aura_server.catalog_io import import_jsonl, seed_demo
from aura_server.config import Settings
from aura_server.domain.decision_log import decisions
from aura_server.domain.evaluation import evaluate as run_evaluation
from aura_server.domain.evaluation import logged_slots
from aura_server.domain.limits import RateLimiter
from aura_server.grpc_api.server import GrpcServer
from aura_server.rest.gateway import RestGateway
from aura_server.security import TokenVerifier, issue_token
from aura_server.store import Repository, open_repository
from aura_server.telemetry import logs
from aura_server.telemetry.metrics import cleanup, share_between_processes, worker_exited
from aura_server.telemetry.tracing import Tracer

PR_SET_PDEATHSIG = 1  # linux/prctl.h
WORKER_RESTART_AFTER_SECONDS = 5.0
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def serve(args: argparse.Namespace, settings: Settings) -> int:
    try:
        verifier = TokenVerifier.from_settings(settings)
    except (ValueError, OSError) as exc:
        print(f"aura: refusing to start: {exc}", file=sys.stderr)
        return 2
    workers = args.workers or settings.workers or len(os.sched_getaffinity(0))
    if args.port == 0 and args.http_port is None:
        args.http_port = 0  # "any free port" for one door means it for both
    # One limiter for all workers: made before they fork, its buckets are shared.
    limiter = RateLimiter(settings.rate_limit, settings.rate_burst)
    if workers <= 1:
        return serve_worker(args, settings, verifier, limiter, worker="0", reuse_port=False)
    return supervise(args, settings, verifier, limiter, workers)


def supervise(
    args: argparse.Namespace,
    settings: Settings,
    verifier: TokenVerifier | None,
    limiter: RateLimiter,
    workers: int,
) -> int:
    """Fork the workers before any gRPC object exists (grpc's multiprocessing pattern);
    they share the ports through SO_REUSEPORT. SIGTERM/SIGINT stop them all gracefully."""
    host = args.host or settings.host
    # The parent binds each port first and holds it (bound, never listening, so it takes
    # no connections) while the workers run: port 0 (any free port) then means one port
    # for all of them, and a port another server already serves is refused here, since
    # SO_REUSEPORT would otherwise let the workers quietly share it with that server.
    reserved = []
    for name, fallback in (("port", settings.port), ("http_port", settings.http_port)):
        if getattr(args, name) is None:
            setattr(args, name, fallback)
        if name == "http_port" and args.no_http:
            continue
        try:
            holder = _reserve_port(host, getattr(args, name))
        except OSError as exc:
            print(f"aura: cannot listen on {host}:{getattr(args, name)} ({exc})", file=sys.stderr)
            return 2
        reserved.append(holder)
        setattr(args, name, holder.getsockname()[1])
    parent = os.getpid()
    metrics_folder = share_between_processes()  # before any metric exists or a worker forks

    def fork_worker(number: int) -> int:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for signum in (signal.SIGTERM, signal.SIGINT):  # not the supervisor's
                    signal.signal(signum, signal.SIG_DFL)
                for holder in reserved:
                    holder.close()
                _stop_when_orphaned(parent)
                code = serve_worker(
                    args, settings, verifier, limiter, worker=str(number), reuse_port=True
                )
            finally:
                os._exit(code)
        return pid

    started = {fork_worker(number): (number, time.monotonic()) for number in range(workers)}
    stopping = False

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    worst = 0
    while started:
        pid, status = os.wait()
        number, since = started.pop(pid)
        worker_exited(pid)
        code = os.waitstatus_to_exitcode(status)
        worst = max(worst, abs(code))
        if stopping or code == 0:
            continue
        if time.monotonic() - since < WORKER_RESTART_AFTER_SECONDS:
            # It died at start (a port taken, a bad store path): restarting would spin.
            print(f"aura: worker {number} failed at start (exit {code})", file=sys.stderr)
            forward(signal.SIGTERM, None)
            continue
        print(f"aura: worker {number} died (exit {code}); starting it again", file=sys.stderr)
        started[fork_worker(number)] = (number, time.monotonic())
    for holder in reserved:
        holder.close()
    cleanup(metrics_folder)
    return worst


def _stop_when_orphaned(parent: int) -> None:
    """A worker whose supervisor died (even by SIGKILL) gets SIGTERM and stops
    gracefully, rather than serving on unsupervised."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _reserve_port(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    address = (host or "0.0.0.0", port)
    if port:
        # Without SO_REUSEPORT this bind fails while anyone listens on the port.
        with socket.socket(family) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is fine
            probe.bind(address)
    holder = socket.socket(family)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind(address)
    return holder


def serve_worker(
    args: argparse.Namespace,
    settings: Settings,
    verifier: TokenVerifier | None,
    limiter: RateLimiter,
    worker: str,
    reuse_port: bool,
) -> int:
    # The stop signals are taken by sigwait below, in the main thread and outside any
    # lock: a handler that stopped the server itself could run a second time inside the
    # first (SIGTERM twice) and deadlock on gRPC's locks. Blocked before any thread
    # starts, so every thread inherits the mask.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    aura = Aura.from_settings(settings)
    tracer = Tracer(settings.otlp_endpoint, worker) if settings.otlp_endpoint else None
    host = args.host or settings.host
    try:
        server = GrpcServer(
            aura,
            host=host,
            port=settings.port if args.port is None else args.port,
            max_workers=settings.grpc_threads,
            health_interval=settings.health_interval_seconds,
            verifier=verifier,
            limiter=limiter,
            worker=worker,
            reuse_port=reuse_port,
            tracer=tracer,
        )
        gateway = None
        if not args.no_http:
            http_port = settings.http_port if args.http_port is None else args.http_port
            # The REST door calls the gRPC server over a real channel, like any client.
            gateway = RestGateway(
                f"127.0.0.1:{server.port}",
                host=host,
                port=http_port,
                reuse_port=reuse_port,
                worker=worker,
            )
    except OSError as exc:
        print(f"aura: {exc}", file=sys.stderr)
        aura.close()
        return 2
    server.start()
    aura.start()
    doors = f"gRPC on port {server.port}"
    if gateway is not None:
        gateway.start()
        address = f"http://{_display(host)}:{gateway.port}"
        doors += f", REST on {address} (Swagger UI: {address}/docs)"
    auth = (
        f"auth: jwt {verifier.algorithm}"
        if verifier is not None
        else "auth DISABLED (development mode: anyone may act as anyone)"
    )
    # One write per line: workers share stderr, and print's separate newline let two
    # workers' lines run together.
    sys.stderr.write(
        f"Aura {__version__} worker {worker} serving {doors} "
        f"(store: {aura.repo.backend}, {aura.repo.count_events()} events; {auth})\n"
    )
    sys.stderr.flush()

    signal.sigwait(STOP_SIGNALS)
    if gateway is not None:
        gateway.stop()
    server.stop(grace=5.0)
    aura.close()
    if tracer is not None:
        tracer.close()  # exports the spans still queued
    return 0


def _display(host: str) -> str:
    return "localhost" if host in ("0.0.0.0", "") else host


def gateway(args: argparse.Namespace, settings: Settings) -> int:
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # taken by sigwait, as in serve
    try:
        door = RestGateway(args.grpc_target, host=args.host, port=args.port)
    except OSError as exc:
        print(f"aura: {exc}", file=sys.stderr)
        return 2
    door.start()
    print(
        f"Aura REST door on http://{_display(args.host)}:{door.port} "
        f"(Swagger UI: http://{_display(args.host)}:{door.port}/docs), "
        f"forwarding to gRPC at {args.grpc_target}",
        file=sys.stderr,
        flush=True,
    )
    signal.sigwait(STOP_SIGNALS)
    door.stop()
    return 0


def health(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the gRPC health service answers SERVING (the container HEALTHCHECK)."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    target = args.target or f"127.0.0.1:{settings.port}"
    with grpc.insecure_channel(target) as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
            )
        except grpc.RpcError as error:
            print(f"{target}: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    print(f"{target}: {status}")
    return 0 if answer.status == health_pb2.HealthCheckResponse.SERVING else 1


def _open_store(settings: Settings) -> Repository:
    return open_repository(
        settings.mongodb_url,
        settings.mongodb_db,
        settings.db_path,
        settings.mongodb_write_concern,
    )


def catalog_seed_demo(args: argparse.Namespace, settings: Settings) -> int:
    repo = _open_store(settings)
    try:
        existing = repo.count_events()
        if args.if_empty and existing:
            print(f"catalog has {existing} events; not seeding", file=sys.stderr)
            return 0
        written = seed_demo(repo, count=args.count, seed=args.seed)
        print(f"seeded {written} demo events", file=sys.stderr)
        return 0
    finally:
        repo.close()


def catalog_import(args: argparse.Namespace, settings: Settings) -> int:
    if not Path(args.file).is_file():
        print(f"aura: no such file: {args.file}", file=sys.stderr)
        return 1
    repo = _open_store(settings)
    try:
        _, errors = import_jsonl(repo, Path(args.file))
    finally:
        repo.close()
    if errors:
        for error in errors:
            print(error, file=sys.stderr)
        print(f"{len(errors)} bad line(s); nothing was imported", file=sys.stderr)
        return 1
    return 0


def _since(text: str) -> datetime:
    """--since: an ISO time (UTC when it names no zone) or a span back from now (7d, 12h)."""
    text = text.strip()
    units = {"d": "days", "h": "hours", "m": "minutes"}
    if text and text[-1] in units and text[:-1].replace(".", "", 1).isdigit():
        return datetime.now(UTC) - timedelta(**{units[text[-1]]: float(text[:-1])})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: an ISO time or a span like 7d") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def export_log(args: argparse.Namespace, settings: Settings) -> int:
    repo = _open_store(settings)
    window = timedelta(hours=settings.reward_window_hours)
    log = decisions(repo, args.since, datetime.now(UTC), window)
    try:
        if args.out == "-":
            offline.export(log, args.format, sys.stdout, sys.stderr)
        else:
            with open(args.out, "w") as out:
                offline.export(log, args.format, out, sys.stderr)
    finally:
        repo.close()
    return 0


def evaluate(args: argparse.Namespace, settings: Settings) -> int:
    try:
        rates = [float(rate) for rate in args.exploration.split(",") if rate.strip()]
    except ValueError:
        print("aura: --exploration takes rates like 0.05,0.15,0.3", file=sys.stderr)
        return 2
    if any(not 0 <= rate <= 1 for rate in rates):
        print("aura: --exploration rates must be between 0 and 1", file=sys.stderr)
        return 2
    if args.policy == "popularity":
        print(
            "aura: a popularity policy cannot be evaluated from these logs: it would show "
            "items the serving policy gave no chance (it explores by category among its "
            "scored candidates), and impressions do not record the candidates each slot "
            "was chosen from; see README, Offline evaluation",
            file=sys.stderr,
        )
        return 2
    if args.policy == "uniform":
        rates = [1.0]
    repo = _open_store(settings)
    try:
        window = timedelta(hours=settings.reward_window_hours)
        slots = logged_slots(
            decisions(repo, args.since, datetime.now(UTC), window), settings.exploration
        )
    finally:
        repo.close()
    if len(slots) == 0:
        print("no logged feed slots in that window", file=sys.stderr)
        return 1
    results = run_evaluation(slots, rates)
    print(offline.report_table(results, len(slots), args.since))
    report = Path(args.report)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(offline.report_json(results, len(slots), args.since), indent=2))
    print(f"report: {report}", file=sys.stderr)
    if offline.plot(results, report.with_suffix(".png")):
        print(f"plot: {report.with_suffix('.png')}", file=sys.stderr)
    return 0


def eval_parser(args: argparse.Namespace, settings: Settings) -> int:
    from aura_server.domain.query import QueryParser
    from aura_server.domain.rules_parser import RulesParser
    from aura_server.parser_eval import evaluate

    rules = RulesParser()
    parser: QueryParser = rules
    if args.parser == "llm":
        from aura_server.domain.llm_parser import LLMParser

        if not settings.openai_api_key:
            print("aura: --parser llm needs OPENAI_API_KEY", file=sys.stderr)
            return 2
        parser = LLMParser.from_settings(settings, rules=rules)
    with open(args.file, encoding="utf-8") as handle:
        report = evaluate(parser, handle)
    for miss in report.misses if args.verbose else []:
        print(f"MISS {miss.query!r}: {miss.field} expected {miss.expected!r}, got {miss.got!r}")
    print("\n".join(report.lines()))
    return 0


def token(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.secret_key:
        print("aura: SECRET_KEY is not set", file=sys.stderr)
        return 2
    print(
        issue_token(
            settings.secret_key,
            args.user_id,
            service=args.service,
            admin=args.admin,
            ttl_seconds=args.ttl,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    )
    return 0


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
    export_cmd.add_argument("--format", choices=offline.FORMATS, default="dsjson")
    export_cmd.add_argument("--since", type=_since, default="30d", help="ISO time or 7d, 12h")
    export_cmd.add_argument("--out", default="-", help="file (default: standard output)")
    export_cmd.set_defaults(run=export_log)

    evaluate_cmd = commands.add_parser(
        "evaluate", help="estimate offline what other exploration settings would have earned"
    )
    evaluate_cmd.add_argument("--since", type=_since, default="7d", help="ISO time or 7d, 12h")
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
    evaluate_cmd.add_argument("--report", default="build/evaluation.json", help="JSON report")
    evaluate_cmd.set_defaults(run=evaluate)

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
