"""The supervisor of `aura serve`: it binds the ports, forks one worker per core, restarts
a worker that dies, and stops them all on SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import socket
import sys
import time
from types import FrameType
from typing import NoReturn

from aura_server.access.limits import RateLimiter
from aura_server.access.tokens import TokenVerifier
from aura_server.cli.worker import serve_worker
from aura_server.config import Settings
from aura_server.telemetry.metrics import cleanup, share_between_processes, worker_exited

PR_SET_PDEATHSIG = 1  # linux/prctl.h
WORKER_RESTART_AFTER_SECONDS = 5.0


def serve(args: argparse.Namespace, settings: Settings) -> int:
    try:
        verifier = TokenVerifier.from_settings(settings)
    except (ValueError, OSError) as exc:
        print(f"aura: refusing to start: {exc}", file=sys.stderr)
        return 2
    workers = args.workers or settings.workers or len(os.sched_getaffinity(0))
    # "Any free port" for one door means it for the doors not given a port.
    if args.port == 0 and args.http_port is None:
        args.http_port = 0
    if 0 in (args.port, args.http_port) and args.admin_port is None:
        args.admin_port = 0
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
    try:
        reserved = _reserve_doors(args, settings)
    except OSError as exc:
        print(f"aura: {exc}", file=sys.stderr)
        return 2
    parent = os.getpid()
    metrics_folder = share_between_processes()  # before any metric exists or a worker forks

    def fork_worker(number: int) -> int:
        pid = os.fork()
        if pid == 0:
            _run_worker(number, parent, reserved, args, settings, (verifier, limiter))
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


def _reserve_doors(args: argparse.Namespace, settings: Settings) -> list[socket.socket]:
    """The parent binds each port first and holds it (bound, never listening, so it takes
    no connections) while the workers run: port 0 (any free port) then means one port for
    all of them, and a port another server already serves is refused here, since
    SO_REUSEPORT would otherwise let the workers quietly share it with that server. The
    ports bound are written back into `args`."""
    host = args.host or settings.host
    reserved: list[socket.socket] = []
    doors = (
        ("port", host, settings.port),
        ("http_port", host, settings.http_port),
        ("admin_port", settings.admin_host, settings.admin_port),
    )
    for name, door_host, fallback in doors:
        if getattr(args, name) is None:
            setattr(args, name, fallback)
        if name == "http_port" and args.no_http:
            continue
        try:
            holder = _reserve_port(door_host, getattr(args, name))
        except OSError as exc:
            for held in reserved:
                held.close()
            where = f"{door_host}:{getattr(args, name)}"
            raise OSError(f"cannot listen on {where} ({exc})") from exc
        reserved.append(holder)
        setattr(args, name, holder.getsockname()[1])
    return reserved


def _run_worker(
    number: int,
    parent: int,
    reserved: list[socket.socket],
    args: argparse.Namespace,
    settings: Settings,
    access: tuple[TokenVerifier | None, RateLimiter],
) -> NoReturn:
    """The forked child: serve as worker `number`, then exit with its code."""
    code = 1
    try:
        for signum in (signal.SIGTERM, signal.SIGINT):  # not the supervisor's
            signal.signal(signum, signal.SIG_DFL)
        for holder in reserved:
            holder.close()
        _stop_when_orphaned(parent)
        code = serve_worker(args, settings, *access, worker=str(number), reuse_port=True)
    finally:
        os._exit(code)


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
