"""Configuration from environment variables and an optional .env file."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from typing import Any

from dotenv import load_dotenv


def setting(default: Any, env: str, meaning: str) -> Any:
    """A Settings field read from the environment variable `env`; `meaning` is its line in
    the configuration reference (docs/reference/configuration.md, made by `make docs`)."""
    return field(default=default, metadata={"env": env, "meaning": meaning})


@dataclass(frozen=True)
class Settings:
    host: str = setting("0.0.0.0", "AURA_HOST", "bind address (`aura serve --host`)")
    port: int = setting(50051, "AURA_PORT", "gRPC port (`aura serve --port`; 0: any free port)")
    http_port: int = setting(8000, "AURA_HTTP_PORT", "REST port (`aura serve --http-port`)")
    admin_host: str = setting(
        "127.0.0.1", "AURA_ADMIN_HOST", "bind address of /metrics and /dashboard (loopback)"
    )
    admin_port: int = setting(
        9464, "AURA_ADMIN_PORT", "port of /metrics and /dashboard (`aura serve --admin-port`)"
    )
    mongodb_url: str = setting(
        "", "MONGODB_URL", "use MongoDB (pymongo) instead of the embedded store"
    )
    mongodb_db: str = setting("aura", "AURA_MONGODB_DB", "MongoDB database")
    mongodb_write_concern: str = setting(
        "majority", "AURA_MONGODB_WRITE_CONCERN", "MongoDB acknowledgement (journaled)"
    )
    db_path: str = setting(
        "./var/aura.db", "AURA_DB_PATH", "the embedded SQLite file (WAL mode), made on first start"
    )
    grpc_threads: int = setting(
        4,
        "AURA_GRPC_THREADS",
        "gRPC handler threads per process (Python runs one at a time: more mostly queue "
        "for the interpreter and cost thread switches)",
    )
    workers: int = setting(
        0, "AURA_WORKERS", "processes sharing the ports (`aura serve --workers`); 0: one per core"
    )
    catalog_refresh_seconds: float = setting(
        1.0, "AURA_CATALOG_REFRESH_SECONDS", "how often the catalog index looks for others' writes"
    )
    health_interval_seconds: float = setting(
        2.0, "AURA_HEALTH_INTERVAL_SECONDS", "how often the health service pings the store"
    )
    log_level: str = setting("INFO", "AURA_LOG_LEVEL", "log level (JSON lines from `aura serve`)")
    otlp_endpoint: str = setting(
        "",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "an OTLP/HTTP collector for traces (a span per RPC); unset: tracing off, at no cost",
    )
    auth: str = setting(
        "jwt",
        "AURA_AUTH",
        "`jwt` checks bearer tokens on every RPC but health, reflection and status; "
        "`disabled` for development (`make run`)",
    )
    secret_key: str = setting("", "SECRET_KEY", "HS256 key for tokens (`aura token` signs with it)")
    jwt_algorithm: str = setting(
        "", "AURA_JWT_ALGORITHM", "HS256 with SECRET_KEY; RS256 or ES256 with a public key"
    )
    jwt_public_key: str = setting("", "AURA_JWT_PUBLIC_KEY", "an external issuer's PEM public key")
    jwks_file: str = setting("", "AURA_JWKS_FILE", "an external issuer's keys as a JWKS file")
    jwt_issuer: str = setting("", "AURA_JWT_ISSUER", "the `iss` claim required, when set")
    jwt_audience: str = setting("", "AURA_JWT_AUDIENCE", "the `aud` claim required, when set")
    jwt_leeway_seconds: float = setting(
        30.0, "AURA_JWT_LEEWAY_SECONDS", "clock skew allowed on `exp` and `nbf`"
    )
    rate_limit: float = setting(
        100.0, "AURA_RATE_LIMIT", "requests/s per user and per user token, all workers (0: off)"
    )
    rate_burst: float = setting(200.0, "AURA_RATE_BURST", "the burst a bucket holds")
    exploration: float = setting(0.15, "AURA_EXPLORATION", "share of slots filled by exploration")
    cold_start_weights: tuple[float, float, float, float] = setting(
        (0.40, 0.25, 0.20, 0.15),
        "AURA_COLD_START_WEIGHTS",
        "popular_nearby, age_trending, intent_match, happening_soon",
    )
    taste_half_life: float = setting(
        20.0,
        "AURA_TASTE_HALF_LIFE",
        "units of new evidence (1: a purchase, a skip, a top slot shown) after which a "
        "user's older evidence counts half (0: never fades)",
    )
    candidate_pool: int = setting(120, "AURA_CANDIDATE_POOL", "candidates the learner scores")
    bandit_weight: float = setting(
        0.1,
        "AURA_BANDIT_WEIGHT",
        "how much the VW bandit's reward estimate adds to what exploring an event could gain",
    )
    candidate_log_share: float = setting(
        0.0,
        "AURA_CANDIDATE_LOG_SHARE",
        "share of learned feeds logged with their candidate pool, so `aura evaluate "
        "--candidate` can replay another slate configuration on them (0 to 1)",
    )
    diversity_max_per_category: int = setting(
        3, "AURA_DIVERSITY_MAX_PER_CATEGORY", "items of one category in any window of slots"
    )
    diversity_window: int = setting(10, "AURA_DIVERSITY_WINDOW", "the window of the variety rule")
    reward_wait_seconds: float = setting(
        600.0, "AURA_REWARD_WAIT_SECONDS", "how long a viewed item waits for a reward before 0"
    )
    reward_window_hours: float = setting(
        24.0, "AURA_REWARD_WINDOW_HOURS", "how far back a reward without feed_id looks"
    )
    model_save_every: int = setting(200, "AURA_MODEL_SAVE_EVERY", "examples between snapshots")
    model_save_seconds: float = setting(
        60.0, "AURA_MODEL_SAVE_SECONDS", "seconds between snapshots"
    )
    trends_refresh_seconds: float = setting(
        30.0, "AURA_TRENDS_REFRESH_SECONDS", "how often trends are recounted from the store"
    )
    learning_sweep_seconds: float = setting(
        5.0, "AURA_LEARNING_SWEEP_SECONDS", "how often default rewards and snapshots are checked"
    )
    model_sync_seconds: float = setting(
        0.2, "AURA_MODEL_SYNC_SECONDS", "how often a process replays others' learned examples"
    )
    exposure_fold_seconds: float = setting(
        60.0,
        "AURA_EXPOSURE_FOLD_SECONDS",
        "how long the lists shown to a user who does not act wait before their exposure is "
        "written into the profile (a user who acts takes it in at once)",
    )
    known_users: int = setting(
        20000, "AURA_KNOWN_USERS", "decoded profiles and tastes kept per process (by version)"
    )
    openai_api_key: str = setting("", "OPENAI_API_KEY", "the LLM parser's key")
    openai_base_url: str = setting(
        "", "OPENAI_BASE_URL", "the LLM endpoint (any OpenAI-compatible one)"
    )
    llm_model: str = setting("gpt-4o-mini", "AURA_LLM_MODEL", "the model asked")
    llm_mode: str = setting(
        "off", "AURA_LLM_MODE", "`off`, `fallback` or `always`; unset with a key: `fallback`"
    )
    llm_timeout_ms: int = setting(1500, "AURA_LLM_TIMEOUT_MS", "the LLM call's deadline")
    llm_wait_ms: int = setting(250, "AURA_LLM_WAIT_MS", "how long a request waits for the LLM")
    llm_cache_size: int = setting(10000, "AURA_LLM_CACHE_SIZE", "parses cached")
    llm_cache_ttl_seconds: float = setting(
        3600.0, "AURA_LLM_CACHE_TTL_SECONDS", "how long a parse is cached"
    )

    @classmethod
    def from_env(cls, dotenv: bool = True) -> Settings:
        """Every field from its variable (a .env file fills what the environment lacks);
        a value that does not parse is refused, naming the variable."""
        if dotenv:
            load_dotenv(override=False)
        values: dict[str, Any] = {}
        for item in fields(cls):
            raw = os.environ.get(item.metadata["env"])
            if raw is not None:
                values[item.name] = _parse(item.metadata["env"], raw, item.default)
        settings = cls(**values)
        return dataclasses.replace(
            settings,
            auth=settings.auth.lower(),
            jwt_algorithm=settings.jwt_algorithm.upper(),
            llm_mode=(
                "fallback"
                if "AURA_LLM_MODE" not in os.environ and settings.openai_api_key
                else settings.llm_mode.lower()
            ),
        ).checked()

    def checked(self) -> Settings:
        """Refuse settings that cannot work, naming the variable."""
        if self.taste_half_life < 0:
            raise ValueError("AURA_TASTE_HALF_LIFE must be 0 or more")
        if not 0 <= self.exploration < 1:
            raise ValueError("AURA_EXPLORATION must be in [0, 1)")
        if self.bandit_weight < 0:
            raise ValueError("AURA_BANDIT_WEIGHT must be 0 or more")
        if not 0 <= self.candidate_log_share <= 1:
            raise ValueError("AURA_CANDIDATE_LOG_SHARE must be in [0, 1]")
        if self.candidate_pool < 1:
            raise ValueError("AURA_CANDIDATE_POOL must be at least 1")
        if self.diversity_max_per_category < 1 or self.diversity_window < 1:
            raise ValueError("AURA_DIVERSITY_* must be at least 1")
        if self.llm_mode not in ("off", "fallback", "always"):
            raise ValueError("AURA_LLM_MODE must be off, fallback or always")
        if self.llm_mode != "off" and not self.openai_api_key:
            raise ValueError(f"AURA_LLM_MODE={self.llm_mode} needs OPENAI_API_KEY")
        return self


def _parse(env: str, raw: str, default: Any) -> Any:
    if isinstance(default, tuple):
        return _weights(raw)
    try:
        return type(default)(raw)
    except ValueError:
        raise ValueError(f"{env} must be a {type(default).__name__}, not {raw!r}") from None


def _weights(text: str) -> tuple[float, float, float, float]:
    """AURA_COLD_START_WEIGHTS: popular_nearby,age_trending,intent_match,happening_soon."""
    if not text.strip():
        return Settings.cold_start_weights
    try:
        parts = [float(part) for part in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4 or any(p < 0 for p in parts) or sum(parts) <= 0:
        raise ValueError(
            "AURA_COLD_START_WEIGHTS needs four non-negative numbers, e.g. 0.4,0.25,0.2,0.15"
        )
    return (parts[0], parts[1], parts[2], parts[3])


def configuration_table() -> str:
    """The configuration reference's table, from the Settings fields."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for item in fields(Settings):
        default = item.default
        if isinstance(default, tuple):
            shown = ",".join(f"{value:g}" for value in default)
        else:
            shown = f"{default:g}" if isinstance(default, float) else str(default)
        shown = f"`{shown}`" if shown else "unset"
        lines.append(f"| `{item.metadata['env']}` | {shown} | {item.metadata['meaning']} |")
    return "\n".join(lines) + "\n"
