"""Structured logs: one JSON object per line, for every record Aura logs.

A request's line carries its request id, user id, RPC, status, latency and worker (see
grpc_api/telemetry.py). Tokens are never logged: the request line names the user, not the
credential, and nothing else reads the authorization metadata into a message.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

REQUEST_FIELDS = ("request_id", "user_id", "rpc", "door", "status", "latency_ms", "worker")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in REQUEST_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(level: str) -> None:
    """Every log record as a JSON line on stderr, at AURA_LOG_LEVEL."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
