"""What both HTTP doors (the REST door, the operators' door) share: a threaded server on
its own thread, and a handler that writes a whole answer in one go."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Aura"
    timeout = 60  # seconds a connection may sit idle
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm
    # and the client's delayed ACK add ~40 ms to every response.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class ServerThread:
    """A ThreadingHTTPServer on host:port (0: any free port; `reuse_port` lets workers
    share it), serving on a daemon thread of its own once started."""

    def __init__(
        self, handler: type[Handler], host: str, port: int, reuse_port: bool, name: str
    ) -> None:
        class Server(ThreadingHTTPServer):
            allow_reuse_port = reuse_port

        try:
            self.server = Server((host, port), handler)
        except OSError as exc:
            raise OSError(f"cannot listen on {host}:{port} ({exc.strerror})") from exc
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
