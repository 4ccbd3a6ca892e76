"""Configuration from environment variables and an optional .env file."""

from __future__ import annotations

import os
from dataclasses import dataclass

from dotenv import load_dotenv


@dataclass(frozen=True)
class Settings:
    host: str = "0.0.0.0"
    port: int = 50051
    http_port: int = 8000
    # MongoDB when set; otherwise the embedded SQLite file.
    mongodb_url: str = ""
    mongodb_db: str = "aura"
    mongodb_write_concern: str = "majority"
    db_path: str = "./var/aura.db"
    grpc_threads: int = 16
    # Processes serving the same ports (SO_REUSEPORT).
    workers: int = 0  # 0: one per core
    # How often the catalog index checks the store for writes by other processes.
    catalog_refresh_seconds: float = 1.0
    # How often the health service pings the store.
    health_interval_seconds: float = 2.0
    log_level: str = "INFO"
    # Authentication (see security.py).
    # jwt | disabled. On by default: only `make run` (development) turns it off.
    auth: str = "jwt"
    secret_key: str = ""
    jwt_algorithm: str = ""  # HS256 with SECRET_KEY; RS256 or ES256 with a public key
    jwt_public_key: str = ""
    jwks_file: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwt_leeway_seconds: float = 30.0
    # Requests per second per user and per user token (0 turns limits off), and bursts.
    rate_limit: float = 100.0
    rate_burst: float = 200.0
    # Ranking and learning.
    exploration: float = 0.15
    cold_start_weights: tuple[float, float, float, float] = (0.40, 0.25, 0.20, 0.15)
    candidate_pool: int = 120
    diversity_max_per_category: int = 3
    diversity_window: int = 10
    reward_wait_seconds: float = 600.0
    reward_window_hours: float = 24.0
    model_save_every: int = 200
    model_save_seconds: float = 60.0
    trends_refresh_seconds: float = 30.0
    learning_sweep_seconds: float = 5.0
    # How often a process replays the examples other processes appended to the log.
    model_sync_seconds: float = 0.2
    # Natural-language search.
    openai_api_key: str = ""
    openai_base_url: str = ""
    llm_model: str = "gpt-4o-mini"
    llm_mode: str = "off"  # off | fallback | always; fallback by default when a key is set
    llm_timeout_ms: int = 1500
    llm_wait_ms: int = 250
    llm_cache_size: int = 10000
    llm_cache_ttl_seconds: float = 3600.0

    @classmethod
    def from_env(cls, dotenv: bool = True) -> Settings:
        if dotenv:
            load_dotenv(override=False)
        env = os.environ
        return cls(
            host=env.get("AURA_HOST", cls.host),
            port=int(env.get("AURA_PORT", cls.port)),
            http_port=int(env.get("AURA_HTTP_PORT", cls.http_port)),
            mongodb_url=env.get("MONGODB_URL", ""),
            mongodb_db=env.get("AURA_MONGODB_DB", cls.mongodb_db),
            mongodb_write_concern=env.get("AURA_MONGODB_WRITE_CONCERN", cls.mongodb_write_concern),
            db_path=env.get("AURA_DB_PATH", cls.db_path),
            grpc_threads=int(env.get("AURA_GRPC_THREADS", cls.grpc_threads)),
            workers=int(env.get("AURA_WORKERS", cls.workers)),
            catalog_refresh_seconds=float(
                env.get("AURA_CATALOG_REFRESH_SECONDS", cls.catalog_refresh_seconds)
            ),
            health_interval_seconds=float(
                env.get("AURA_HEALTH_INTERVAL_SECONDS", cls.health_interval_seconds)
            ),
            log_level=env.get("AURA_LOG_LEVEL", cls.log_level),
            auth=env.get("AURA_AUTH", cls.auth).lower(),
            secret_key=env.get("SECRET_KEY", ""),
            jwt_algorithm=env.get("AURA_JWT_ALGORITHM", "").upper(),
            jwt_public_key=env.get("AURA_JWT_PUBLIC_KEY", ""),
            jwks_file=env.get("AURA_JWKS_FILE", ""),
            jwt_issuer=env.get("AURA_JWT_ISSUER", ""),
            jwt_audience=env.get("AURA_JWT_AUDIENCE", ""),
            jwt_leeway_seconds=float(env.get("AURA_JWT_LEEWAY_SECONDS", cls.jwt_leeway_seconds)),
            rate_limit=float(env.get("AURA_RATE_LIMIT", cls.rate_limit)),
            rate_burst=float(env.get("AURA_RATE_BURST", cls.rate_burst)),
            exploration=float(env.get("AURA_EXPLORATION", cls.exploration)),
            cold_start_weights=_weights(env.get("AURA_COLD_START_WEIGHTS", "")),
            candidate_pool=int(env.get("AURA_CANDIDATE_POOL", cls.candidate_pool)),
            diversity_max_per_category=int(
                env.get("AURA_DIVERSITY_MAX_PER_CATEGORY", cls.diversity_max_per_category)
            ),
            diversity_window=int(env.get("AURA_DIVERSITY_WINDOW", cls.diversity_window)),
            reward_wait_seconds=float(env.get("AURA_REWARD_WAIT_SECONDS", cls.reward_wait_seconds)),
            reward_window_hours=float(env.get("AURA_REWARD_WINDOW_HOURS", cls.reward_window_hours)),
            model_save_every=int(env.get("AURA_MODEL_SAVE_EVERY", cls.model_save_every)),
            model_save_seconds=float(env.get("AURA_MODEL_SAVE_SECONDS", cls.model_save_seconds)),
            trends_refresh_seconds=float(
                env.get("AURA_TRENDS_REFRESH_SECONDS", cls.trends_refresh_seconds)
            ),
            learning_sweep_seconds=float(
                env.get("AURA_LEARNING_SWEEP_SECONDS", cls.learning_sweep_seconds)
            ),
            model_sync_seconds=float(env.get("AURA_MODEL_SYNC_SECONDS", cls.model_sync_seconds)),
            openai_api_key=env.get("OPENAI_API_KEY", ""),
            openai_base_url=env.get("OPENAI_BASE_URL", ""),
            llm_model=env.get("AURA_LLM_MODEL", cls.llm_model),
            llm_mode=env.get(
                "AURA_LLM_MODE", "fallback" if env.get("OPENAI_API_KEY") else "off"
            ).lower(),
            llm_timeout_ms=int(env.get("AURA_LLM_TIMEOUT_MS", cls.llm_timeout_ms)),
            llm_wait_ms=int(env.get("AURA_LLM_WAIT_MS", cls.llm_wait_ms)),
            llm_cache_size=int(env.get("AURA_LLM_CACHE_SIZE", cls.llm_cache_size)),
            llm_cache_ttl_seconds=float(
                env.get("AURA_LLM_CACHE_TTL_SECONDS", cls.llm_cache_ttl_seconds)
            ),
        ).checked()

    def checked(self) -> Settings:
        """Refuse settings that cannot work, naming the variable."""
        if not 0 <= self.exploration < 1:
            raise ValueError("AURA_EXPLORATION must be in [0, 1)")
        if self.candidate_pool < 1:
            raise ValueError("AURA_CANDIDATE_POOL must be at least 1")
        if self.diversity_max_per_category < 1 or self.diversity_window < 1:
            raise ValueError("AURA_DIVERSITY_* must be at least 1")
        if self.llm_mode not in ("off", "fallback", "always"):
            raise ValueError("AURA_LLM_MODE must be off, fallback or always")
        if self.llm_mode != "off" and not self.openai_api_key:
            raise ValueError(f"AURA_LLM_MODE={self.llm_mode} needs OPENAI_API_KEY")
        return self


def _weights(text: str) -> tuple[float, float, float, float]:
    """AURA_COLD_START_WEIGHTS: popular_nearby,age_trending,intent_match,happening_soon."""
    if not text.strip():
        return Settings.cold_start_weights
    parts = [float(part) for part in text.split(",")]
    if len(parts) != 4 or any(p < 0 for p in parts) or sum(parts) <= 0:
        raise ValueError(
            "AURA_COLD_START_WEIGHTS needs four non-negative numbers, e.g. 0.4,0.25,0.2,0.15"
        )
    return (parts[0], parts[1], parts[2], parts[3])
