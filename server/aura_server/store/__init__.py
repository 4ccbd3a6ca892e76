"""Storage behind one interface: the embedded SQLite store or MongoDB."""

from __future__ import annotations

from aura_server.domain.repository import Repository


def open_repository(
    mongodb_url: str, mongodb_db: str, sqlite_path: str, write_concern: str = "majority"
) -> Repository:
    """MongoDB when a URL is configured, otherwise the embedded SQLite file."""
    if mongodb_url:
        from aura_server.store.mongo import MongoRepository

        return MongoRepository.connect(mongodb_url, mongodb_db, write_concern)
    from aura_server.store.sqlite import SQLiteRepository

    return SQLiteRepository(sqlite_path)


__all__ = ["Repository", "open_repository"]
