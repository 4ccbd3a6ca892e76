"""`aura token` and `aura health`."""

from __future__ import annotations

import argparse
import sys

from aura_server.access.tokens import issue_token
from aura_server.config import Settings


def token(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.secret_key:
        print("aura: SECRET_KEY is not set", file=sys.stderr)
        return 2
    print(
        issue_token(
            settings.secret_key,
            args.user_id,
            service=args.service,
            admin=args.admin,
            ttl_seconds=args.ttl,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
    )
    return 0


def health(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the gRPC health service answers SERVING (the container HEALTHCHECK)."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    target = args.target or f"127.0.0.1:{settings.port}"
    with grpc.insecure_channel(target) as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
            )
        except grpc.RpcError as error:
            print(f"{target}: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    print(f"{target}: {status}")
    return 0 if answer.status == health_pb2.HealthCheckResponse.SERVING else 1
