"""The gRPC server: Aura's services, health, reflection and the error interceptor."""

from __future__ import annotations

import logging
import threading
from concurrent import futures

import grpc
from aura.v1 import (
    behavior_pb2,
    behavior_pb2_grpc,
    catalog_pb2,
    catalog_pb2_grpc,
    feedback_pb2,
    feedback_pb2_grpc,
    onboarding_pb2,
    onboarding_pb2_grpc,
    recommend_pb2,
    recommend_pb2_grpc,
    status_pb2,
    status_pb2_grpc,
)
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from aura_server.access.limits import RateLimiter
from aura_server.access.tokens import TokenVerifier
from aura_server.app import Aura
from aura_server.domain.errors import StoreUnavailable
from aura_server.grpc_api.interceptor import RequestInterceptor
from aura_server.grpc_api.servicers import (
    BehaviorServicer,
    CatalogServicer,
    FeedbackServicer,
    OnboardingServicer,
    RecommendServicer,
    StatusServicer,
)
from aura_server.grpc_api.telemetry import TracingInterceptor
from aura_server.telemetry.metrics import metrics
from aura_server.telemetry.tracing import Tracer

log = logging.getLogger(__name__)

SERVICE_NAMES: tuple[str, ...] = tuple(
    module.DESCRIPTOR.services_by_name[name].full_name
    for module, name in (
        (onboarding_pb2, "OnboardingService"),
        (behavior_pb2, "BehaviorService"),
        (feedback_pb2, "FeedbackService"),
        (recommend_pb2, "RecommendService"),
        (catalog_pb2, "CatalogService"),
        (status_pb2, "StatusService"),
    )
)


class GrpcServer:
    """Serves Aura on one port; health reports NOT_SERVING while the store is down."""

    def __init__(
        self,
        aura: Aura,
        host: str = "0.0.0.0",
        port: int = 50051,
        max_workers: int = 16,
        health_interval: float = 2.0,
        verifier: TokenVerifier | None = None,
        limiter: RateLimiter | None = None,
        worker: str = "0",
        reuse_port: bool = False,
        tracer: Tracer | None = None,
    ) -> None:
        self.aura = aura
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
        onboarding_pb2_grpc.add_OnboardingServiceServicer_to_server(
            OnboardingServicer(aura), self.server
        )
        behavior_pb2_grpc.add_BehaviorServiceServicer_to_server(BehaviorServicer(aura), self.server)
        feedback_pb2_grpc.add_FeedbackServiceServicer_to_server(FeedbackServicer(aura), self.server)
        recommend_pb2_grpc.add_RecommendServiceServicer_to_server(
            RecommendServicer(aura), self.server
        )
        catalog_pb2_grpc.add_CatalogServiceServicer_to_server(CatalogServicer(aura), self.server)
        status_pb2_grpc.add_StatusServiceServicer_to_server(StatusServicer(aura), self.server)
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
        self.aura.warm_up()  # before anything answers, so SERVING means ready
        self._check_store()
        self.server.start()
        self._watcher.start()
        log.info("Aura gRPC listening on port %d (store: %s)", self.port, self.aura.repo.backend)

    def _check_store(self) -> None:
        try:
            self.aura.repo.ping()
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
