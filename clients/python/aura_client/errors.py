"""Errors raised by the clients: one class per gRPC status Aura answers with."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2, status_pb2

STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class AuraError(Exception):
    """A call that Aura (or the channel) refused. `code` is the grpc.StatusCode,
    `message` the server's text, `violations` the fields it named (for bad input)."""

    def __init__(
        self, code: grpc.StatusCode, message: str, violations: tuple[FieldViolation, ...] = ()
    ) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.violations = violations


class InvalidArgumentError(AuraError):
    """INVALID_ARGUMENT: see `violations` for the fields."""


class NotFoundError(AuraError):
    """NOT_FOUND: the user, event or feed named does not exist."""


class AlreadyExistsError(AuraError):
    """ALREADY_EXISTS."""


class FailedPreconditionError(AuraError):
    """FAILED_PRECONDITION: the request does not fit the current state."""


class UnauthenticatedError(AuraError):
    """UNAUTHENTICATED: no token, or one that is expired or not signed by a trusted key."""


class PermissionDeniedError(AuraError):
    """PERMISSION_DENIED: the token may not act for that user or call that RPC."""


class RateLimitedError(AuraError):
    """RESOURCE_EXHAUSTED: over the rate limit (retried with backoff before it is raised)."""


class UnavailableError(AuraError):
    """UNAVAILABLE: the server or its store could not be reached (retried first)."""


class DeadlineExceededError(AuraError):
    """DEADLINE_EXCEEDED: no answer within the call's timeout."""


ERRORS_BY_CODE: dict[grpc.StatusCode, type[AuraError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: RateLimitedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
}


def error_from(
    code: grpc.StatusCode, message: str, trailing: tuple[tuple[str, str | bytes], ...] | None
) -> AuraError:
    """The typed error for a failed call, with the field violations of its status details."""
    violations: list[FieldViolation] = []
    for key, value in trailing or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    violations += [
                        FieldViolation(v.field, v.description) for v in bad.field_violations
                    ]
    return ERRORS_BY_CODE.get(code, AuraError)(code, message, tuple(violations))
