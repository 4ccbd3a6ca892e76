"""Errors the domain raises; the transport maps each to a status code."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a caller can cause or should see."""


class InvalidArgument(DomainError):
    """A request field holds a value the service cannot accept."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.description = message


class NotFound(DomainError):
    """A named user or event does not exist."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class StoreUnavailable(DomainError):
    """The store cannot be reached; the request may be retried."""


class DeadlineExceeded(DomainError):
    """The client's deadline passed; the work was not done."""
