"""Optional OpenTelemetry tracing: a span per RPC, exported over OTLP/HTTP.

Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; when off, nothing of OpenTelemetry is
imported and the interceptor (grpc_api/telemetry.py) is not installed, so it costs
nothing. It needs the `tracing` extra (pip install 'aura-server[tracing]').
"""

from __future__ import annotations


class Tracer:
    """An OpenTelemetry tracer provider exporting to `endpoint` (the collector's base URL;
    spans go to its /v1/traces)."""

    def __init__(self, endpoint: str, worker: str) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        resource = Resource.create({"service.name": "aura", "service.instance.id": worker})
        self.provider = TracerProvider(resource=resource)
        exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
        self.provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=1000))
        self.tracer = self.provider.get_tracer("aura_server")

    def flush(self) -> None:
        self.provider.force_flush()

    def close(self) -> None:
        self.provider.shutdown()
