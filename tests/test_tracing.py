"""Tracing on: every RPC becomes a span at a local OTLP/HTTP collector the test runs."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import grpc
import pytest
from harness import Client, copy_of
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from aura_server.app import Aura
from aura_server.config import Settings
from aura_server.grpc_api.server import GrpcServer
from aura_server.store.sqlite import SQLiteRepository
from aura_server.telemetry.tracing import Tracer


class Collector(BaseHTTPRequestHandler):
    spans: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    attributes = {a.key: a.value.string_value for a in span.attributes}
                    Collector.spans.append((span.name, attributes))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_every_rpc_is_a_span_at_the_collector(catalog_file: Path, tmp_path: Path) -> None:
    collector = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    assert Settings.from_env(dotenv=False).otlp_endpoint == "", "off unless configured"
    tracer = Tracer(endpoint, worker="0")
    aura = Aura.build(SQLiteRepository(copy_of(catalog_file, tmp_path / "aura.db")))
    server = GrpcServer(aura.plane, host="127.0.0.1", port=0, tracer=tracer)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        client = Client(channel)
        client.onboard("traced")
        client.feed("traced")
        with pytest.raises(grpc.RpcError):
            client.feed("")
        tracer.flush()
        deadline = time.monotonic() + 10
        while len(Collector.spans) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        names = [name for name, _ in Collector.spans]
        assert "aura.v1.OnboardingService/Onboard" in names
        feeds = [attrs for name, attrs in Collector.spans if name.endswith("/Feed")]
        assert len(feeds) == 2
        assert {attrs.get("rpc.grpc.status_code") for attrs in feeds} == {None, "INVALID_ARGUMENT"}
        assert all(attrs["rpc.system"] == "grpc" for attrs in feeds)
    finally:
        channel.close()
        server.stop(grace=0)
        aura.close()
        tracer.close()
        collector.shutdown()
