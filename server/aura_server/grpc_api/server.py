"""The gRPC server: Aura's services, health, reflection and the error interceptor."""

from __future__ import annotations

import logging
import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from aura_server.access.limits import RateLimiter
from aura_server.access.tokens import TokenVerifier
from aura_server.domain.dataplane import DataPlane
from aura_server.domain.errors import StoreUnavailable
from aura_server.grpc_api.interceptor import RequestInterceptor
from aura_server.grpc_api.servicers import SERVICES
from aura_server.grpc_api.telemetry import TracingInterceptor
from aura_server.telemetry.metrics import metrics
from aura_server.telemetry.tracing import Tracer

log = logging.getLogger(__name__)

SERVICE_NAMES: tuple[str, ...] = tuple(service.descriptor.full_name for service in SERVICES)


class GrpcServer:
    """Serves Aura on one port; health reports NOT_SERVING while the store is down."""

    def __init__(
        self,
        plane: DataPlane,
        host: str = "0.0.0.0",
        port: int = 50051,
        max_workers: int = 4,
        health_interval: float = 2.0,
        verifier: TokenVerifier | None = None,
        limiter: RateLimiter | None = None,
        worker: str = "0",
        reuse_port: bool = False,
        tracer: Tracer | None = None,
    ) -> None:
        self.plane = plane
        self.health_interval = health_interval
        interceptors: list[grpc.ServerInterceptor] = [
            RequestInterceptor(worker, verifier, limiter or RateLimiter(0, 1))
        ]
        if tracer is not None:  # outermost: the span covers everything the call does
            interceptors.insert(0, TracingInterceptor(tracer))
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="aura-rpc"),
            interceptors=interceptors,
            options=[
                ("grpc.max_receive_message_length", 4 * 1024 * 1024),
                # Workers share the port; a lone server must own it (a clash is an error).
                ("grpc.so_reuseport", int(reuse_port)),
            ],
        )
        for service in SERVICES:
            service.register(service.servicer(plane), self.server)
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), self.server
        )
        try:
            self.port = self.server.add_insecure_port(f"{host}:{port}")
        except RuntimeError as exc:  # grpc reports a failed bind this way
            raise OSError(f"cannot listen on {host}:{port} (is the port in use?)") from exc
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch_store, name="aura-health", daemon=True)

    def start(self) -> None:
        self.plane.warm_up()  # before anything answers, so SERVING means ready
        self._check_store()
        self.server.start()
        self._watcher.start()
        log.info("Aura gRPC listening on port %d (store: %s)", self.port, self.plane.store)

    def _check_store(self) -> None:
        try:
            self.plane.ping()
            status = health_pb2.HealthCheckResponse.SERVING
        except StoreUnavailable as exc:
            log.warning("store unreachable: %s", exc)
            status = health_pb2.HealthCheckResponse.NOT_SERVING
        metrics().store_up.set(int(status == health_pb2.HealthCheckResponse.SERVING))
        for name in ("", *SERVICE_NAMES):
            self.health.set(name, status)

    def _watch_store(self) -> None:
        while not self._stopping.wait(self.health_interval):
            self._check_store()

    def stop(self, grace: float = 5.0) -> None:
        self._stopping.set()
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()

    def wait(self) -> None:
        self.server.wait_for_termination()
