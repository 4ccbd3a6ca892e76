"""Configuration from environment variables and an optional .env file."""

from __future__ import annotations

import os
from dataclasses import dataclass

from dotenv import load_dotenv


@dataclass(frozen=True)
class Settings:
    host: str = "0.0.0.0"
    port: int = 50051
    # MongoDB when set; otherwise the embedded SQLite file.
    mongodb_url: str = ""
    mongodb_db: str = "aura"
    db_path: str = "./var/aura.db"
    grpc_threads: int = 16
    # How often the catalog index checks the store for writes by other processes.
    catalog_refresh_seconds: float = 1.0
    # How often the health service pings the store.
    health_interval_seconds: float = 2.0
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, dotenv: bool = True) -> Settings:
        if dotenv:
            load_dotenv(override=False)
        env = os.environ
        return cls(
            host=env.get("AURA_HOST", cls.host),
            port=int(env.get("AURA_PORT", cls.port)),
            mongodb_url=env.get("MONGODB_URL", ""),
            mongodb_db=env.get("AURA_MONGODB_DB", cls.mongodb_db),
            db_path=env.get("AURA_DB_PATH", cls.db_path),
            grpc_threads=int(env.get("AURA_GRPC_THREADS", cls.grpc_threads)),
            catalog_refresh_seconds=float(
                env.get("AURA_CATALOG_REFRESH_SECONDS", cls.catalog_refresh_seconds)
            ),
            health_interval_seconds=float(
                env.get("AURA_HEALTH_INTERVAL_SECONDS", cls.health_interval_seconds)
            ),
            log_level=env.get("AURA_LOG_LEVEL", cls.log_level),
        )
