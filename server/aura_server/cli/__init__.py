"""The `aura` command: serving (a supervisor and its workers) and the admin commands."""

from aura_server.cli.main import main

__all__ = ["main"]
