"""The operators' door: /metrics (Prometheus), /dashboard and /dashboard/history, on a
port of their own bound to loopback by default (AURA_ADMIN_HOST, AURA_ADMIN_PORT), so the
REST door can face the network while these pages, which take no token, do not.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from aura_server.rest.http import Handler, ServerThread
from aura_server.telemetry.history import SAMPLE_SECONDS, MetricsHistory
from aura_server.telemetry.metrics import exposition

log = logging.getLogger(__name__)

DASHBOARD = Path(__file__).with_name("dashboard.html")


class AdminDoor:
    """The HTTP server of the operators' pages, with the sampler the dashboard reads."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 9464,
        reuse_port: bool = False,
        worker: str = "0",
        history_interval: float = SAMPLE_SECONDS,
    ) -> None:
        self.history = MetricsHistory(worker, history_interval)
        door = self

        class Pages(AdminHandler):
            owner = door

        self._server = ServerThread(Pages, host, port, reuse_port, "aura-admin")
        self.port = self._server.port

    def start(self) -> None:
        self._server.start()
        self.history.start()
        log.info("Aura operators' door listening on port %d", self.port)

    def stop(self) -> None:
        self.history.stop()
        self._server.stop()


class AdminHandler(Handler):
    owner: AdminDoor

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/dashboard", "/dashboard/"):
            self._send(200, DASHBOARD.read_bytes(), "text/html; charset=utf-8")
        elif path == "/dashboard/history":
            self._send(200, json.dumps(self.owner.history.samples()).encode())
        elif path == "/metrics":
            self._send(200, *exposition())
        elif path == "/":
            self._send(302, b"", extra={"Location": "/dashboard"})
        else:
            self._send(404, json.dumps({"message": f"no page at {path}"}).encode())

    do_HEAD = do_GET  # noqa: N815
