"""A grpc-gateway-style HTTP/JSON door: every request becomes a gRPC call over a channel.

Because each call goes through the real gRPC server, every interceptor applies equally to
both doors. Headers `authorization` and `x-request-id` travel as metadata; a deadline comes
from `grpc-timeout` (gRPC's own format, e.g. "500m") or `x-request-timeout` (seconds).
"""

from __future__ import annotations

import json
import logging
import mimetypes
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import grpc
import swagger_ui_bundle

from aura_server.grpc_api.interceptor import DOOR_METADATA
from aura_server.rest.answers import error_body, to_json, worker_header
from aura_server.rest.http import Handler, ServerThread
from aura_server.rest.openapi import openapi_document
from aura_server.rest.requests import BadRequest, build_request, parse_timeout
from aura_server.rest.routes import build_routes, match

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 4 * 1024 * 1024
SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)
DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Aura API</title>
<link rel="icon" href="/docs/favicon-32x32.png">
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout", validatorUrl: null});
</script></body></html>
"""


class RestGateway:
    """The HTTP server of the REST door, forwarding to gRPC at `target`."""

    def __init__(
        self, target: str, host: str = "0.0.0.0", port: int = 8000, reuse_port: bool = False
    ) -> None:
        self.channel = grpc.insecure_channel(target)
        self.routes = build_routes()
        self.openapi = json.dumps(openapi_document(self.routes)).encode()
        self.calls = {
            route.grpc_path: self.channel.unary_unary(
                route.grpc_path,
                request_serializer=lambda message: message.SerializeToString(),
                response_deserializer=route.response_class().FromString,
            )
            for route in self.routes
        }
        gateway = self

        class Door(GatewayHandler):
            owner = gateway

        self._server = ServerThread(Door, host, port, reuse_port, "aura-http")
        self.port = self._server.port

    def start(self) -> None:
        self._server.start()
        log.info("Aura REST door listening on port %d", self.port)

    def stop(self) -> None:
        self._server.stop()
        self.channel.close()


class GatewayHandler(Handler):
    owner: RestGateway

    def __getattr__(self, name: str) -> Any:
        """Every HTTP method goes through the router (do_GET, do_POST, ... and methods no
        route uses, which get a JSON 405 with Allow, or 404, instead of a bare 501)."""
        if name.startswith("do_"):
            return lambda: self._dispatch(name.removeprefix("do_"))
        raise AttributeError(name)

    def _error(
        self,
        status: int,
        code: grpc.StatusCode,
        message: str,
        extra: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        payload = {"code": code.value[0], "message": message, "details": details or []}
        self._send(status, json.dumps(payload).encode(), extra=extra)

    def _dispatch(self, http_method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._error(413, grpc.StatusCode.RESOURCE_EXHAUSTED, "body: larger than 4 MiB")
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        if http_method == "GET" and self._static(url.path):
            return
        route, path_params, allowed = match(self.owner.routes, http_method, url.path)
        if route is None:
            self._no_route(http_method, url.path, allowed)
            return
        try:
            timeout = parse_timeout(self.headers)
            deadline = None if timeout is None else time.monotonic() + timeout
            request = build_request(route, path_params, url.query, body)
        except BadRequest as exc:
            self._bad_request(exc)
            return
        metadata = [
            (name, self.headers[name])
            for name in ("authorization", "x-request-id")
            if self.headers.get(name)
        ]
        metadata.append((DOOR_METADATA, "rest"))
        if deadline is not None:
            timeout = deadline - time.monotonic()
            if timeout <= 0:  # gRPC would race its own expired timer against the answer
                self._error(
                    504, grpc.StatusCode.DEADLINE_EXCEEDED, "the deadline passed before the call"
                )
                return
        try:
            reply, call = self.owner.calls[route.grpc_path].with_call(
                request, timeout=timeout, metadata=metadata
            )
        except grpc.RpcError as error:
            status, payload, headers = error_body(error)
            self._send(status, payload, extra={**headers, **worker_header(error)})
            return
        status = 200
        if route.grpc_path.endswith("/GetStatus") and getattr(reply, "status", "") != "SERVING":
            status = 503
        answer = getattr(reply, route.response_body) if route.response_body else reply
        self._send(status, to_json(answer), extra=worker_header(call))

    def _no_route(self, http_method: str, path: str, allowed: list[str]) -> None:
        if allowed:
            message = f"{http_method} is not allowed on {path}"
            extra = {"Allow": ", ".join(allowed)}
            self._error(405, grpc.StatusCode.UNIMPLEMENTED, message, extra)
        else:
            self._error(404, grpc.StatusCode.NOT_FOUND, f"no route for {path}")

    def _bad_request(self, exc: BadRequest) -> None:
        violation = {"field": exc.field, "description": exc.description}
        details = [
            {"@type": "type.googleapis.com/google.rpc.BadRequest", "field_violations": [violation]}
        ]
        self._error(400, grpc.StatusCode.INVALID_ARGUMENT, str(exc), details=details)

    def _static(self, path: str) -> bool:
        """The OpenAPI document and Swagger UI (served from an installed package); the
        operators' pages are on their own door (admin.py)."""
        if path == "/openapi.json":
            self._send(200, self.owner.openapi)
        elif path in ("/docs", "/docs/"):
            self._send(200, DOCS_PAGE.encode(), "text/html; charset=utf-8")
        elif path.startswith("/docs/"):
            name = path.removeprefix("/docs/")
            asset = SWAGGER_DIR / name
            if "/" in name or not asset.is_file():
                self._error(404, grpc.StatusCode.NOT_FOUND, f"no route for {path}")
            else:
                kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
                self._send(200, asset.read_bytes(), kind)
        elif path == "/":
            self._send(302, b"", extra={"Location": "/docs"})
        else:
            return False
        return True
