"""One serving process: the service wired over its store, the gRPC server and the REST
door in front of it (`aura serve`'s workers, and `aura gateway` for the REST door alone)."""

from __future__ import annotations

import argparse
import signal
import sys
from dataclasses import dataclass

from aura_server import __version__
from aura_server.access.limits import RateLimiter
from aura_server.access.tokens import TokenVerifier
from aura_server.app import Aura
from aura_server.cli.tuning import collect_garbage_for_serving, schedule_for_throughput
from aura_server.config import Settings
from aura_server.grpc_api.server import GrpcServer
from aura_server.rest.admin import AdminDoor
from aura_server.rest.gateway import RestGateway
from aura_server.telemetry.tracing import Tracer

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


@dataclass
class Doors:
    """A worker's three doors: gRPC, REST (unless --no-http) and the operators' pages."""

    server: GrpcServer
    gateway: RestGateway | None
    admin: AdminDoor

    def start(self) -> None:
        self.server.start()
        if self.gateway is not None:
            self.gateway.start()
        self.admin.start()

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
        self.admin.stop()
        self.server.stop(grace=5.0)

    def describe(self, host: str, admin_host: str) -> str:
        doors = f"gRPC on port {self.server.port}"
        if self.gateway is not None:
            address = f"http://{_display(host)}:{self.gateway.port}"
            doors += f", REST on {address} (Swagger UI: {address}/docs)"
        pages = f"http://{_display(admin_host)}:{self.admin.port}"
        return doors + f", operators' pages on {pages}/dashboard"


def open_doors(
    args: argparse.Namespace,
    settings: Settings,
    aura: Aura,
    access: tuple[TokenVerifier | None, RateLimiter],
    worker: str,
    reuse_port: bool,
    tracer: Tracer | None,
) -> Doors:
    """Bind every door (OSError when a port is taken); nothing serves until `start`."""
    host = args.host or settings.host
    verifier, limiter = access
    server = GrpcServer(
        aura.plane,
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
            f"127.0.0.1:{server.port}", host=host, port=http_port, reuse_port=reuse_port
        )
    admin = AdminDoor(
        host=settings.admin_host,
        port=settings.admin_port if args.admin_port is None else args.admin_port,
        reuse_port=reuse_port,
        worker=worker,
    )
    return Doors(server, gateway, admin)


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
    schedule_for_throughput()  # before any thread starts: they inherit it
    aura = Aura.from_settings(settings)
    tracer = Tracer(settings.otlp_endpoint, worker) if settings.otlp_endpoint else None
    try:
        doors = open_doors(args, settings, aura, (verifier, limiter), worker, reuse_port, tracer)
    except OSError as exc:
        print(f"aura: {exc}", file=sys.stderr)
        aura.close()
        return 2
    doors.start()
    aura.start()
    auth = (
        f"auth: jwt {verifier.algorithm}"
        if verifier is not None
        else "auth DISABLED (development mode: anyone may act as anyone)"
    )
    # One write per line: workers share stderr, and print's separate newline let two
    # workers' lines run together.
    status = aura.plane.status()
    sys.stderr.write(
        f"Aura {__version__} worker {worker} serving "
        f"{doors.describe(args.host or settings.host, settings.admin_host)} "
        f"(store: {status.store}, {status.catalog_size} events; {auth})\n"
    )
    sys.stderr.flush()
    collect_garbage_for_serving()

    signal.sigwait(STOP_SIGNALS)
    doors.stop()
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
