"""Who is calling, and what they may do: JWT bearer tokens, checked for every RPC.

- HS256 with SECRET_KEY by default; RS256/ES256 with a public key (AURA_JWT_PUBLIC_KEY, PEM
  text or a file) or a JWKS file (AURA_JWKS_FILE) for a separate auth service. The
  algorithm is pinned: tokens signed any other way (`none`, HS with an RSA public key as
  the secret) are refused. exp and nbf are checked with a small leeway; iss and aud when
  configured.
- A user token (sub = user_id) acts only for its own user; a token with the `aura:service`
  scope (OAuth 2.0 style: a space-separated `scope` claim) acts for anyone; catalog writes
  need `aura:admin`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from aura_server.domain.errors import DomainError

SERVICE_SCOPE = "aura:service"
ADMIN_SCOPE = "aura:admin"
ASYMMETRIC = ("RS256", "ES256")


class Unauthenticated(DomainError):
    """No valid token."""


class PermissionDenied(DomainError):
    """A valid token that may not do this."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


@dataclass(frozen=True)
class Principal:
    subject: str
    scopes: frozenset[str]

    @property
    def is_service(self) -> bool:
        return SERVICE_SCOPE in self.scopes or ADMIN_SCOPE in self.scopes

    @property
    def is_admin(self) -> bool:
        return ADMIN_SCOPE in self.scopes


def _read_key(value: str) -> str:
    """PEM text, or the path of a file holding it."""
    if "-----BEGIN" in value:
        return value
    return Path(value).read_text()


class TokenVerifier:
    def __init__(
        self,
        algorithm: str,
        key: Any = None,
        jwks: jwt.PyJWKSet | None = None,
        issuer: str = "",
        audience: str = "",
        leeway: float = 30.0,
    ) -> None:
        if key is None and jwks is None:
            raise ValueError("a key or a JWKS is required")
        self.algorithm = algorithm
        self.key = key
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway

    @classmethod
    def from_settings(cls, settings: Any) -> TokenVerifier | None:
        """None when auth is disabled; ValueError (naming the variable) when it is on and
        no key is configured, so the server refuses to start."""
        if settings.auth == "disabled":
            return None
        if settings.auth != "jwt":
            raise ValueError("AURA_AUTH must be jwt or disabled")
        common = {
            "issuer": settings.jwt_issuer,
            "audience": settings.jwt_audience,
            "leeway": settings.jwt_leeway_seconds,
        }
        if settings.jwks_file:
            keys = jwt.PyJWKSet.from_dict(json.loads(Path(settings.jwks_file).read_text()))
            return cls(settings.jwt_algorithm or "RS256", jwks=keys, **common)
        if settings.jwt_public_key:
            algorithm = settings.jwt_algorithm or "RS256"
            if algorithm not in ASYMMETRIC:
                raise ValueError("AURA_JWT_ALGORITHM must be RS256 or ES256 with a public key")
            return cls(algorithm, key=_read_key(settings.jwt_public_key), **common)
        if not settings.secret_key:
            raise ValueError(
                "AURA_AUTH=jwt needs SECRET_KEY, AURA_JWT_PUBLIC_KEY or AURA_JWKS_FILE"
            )
        return cls("HS256", key=settings.secret_key, **common)

    def verify(self, token: str) -> Principal:
        try:
            key = self.key
            if self.jwks is not None:
                kid = jwt.get_unverified_header(token).get("kid")
                matching = [k for k in self.jwks.keys if kid is None or k.key_id == kid]
                if not matching:
                    raise Unauthenticated("token signed by an unknown key")
                key = matching[0].key
            claims = jwt.decode(
                token,
                key,
                algorithms=[self.algorithm],
                issuer=self.issuer or None,
                audience=self.audience or None,
                leeway=self.leeway,
                options={"require": ["sub", "exp"], "verify_aud": bool(self.audience)},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("token not valid yet") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from None
        scope = claims.get("scope", "")
        scopes = frozenset(scope.split() if isinstance(scope, str) else [])
        return Principal(str(claims["sub"]), scopes)


def bearer_token(header: str | None) -> str:
    if not header:
        raise Unauthenticated("authorization: a bearer token is required")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("authorization: must be 'Bearer <token>'")
    return token.strip()


def issue_token(
    secret: str,
    user_id: str,
    service: bool = False,
    admin: bool = False,
    ttl_seconds: int = 3600,
    issuer: str = "",
    audience: str = "",
) -> str:
    """An HS256 token signed with SECRET_KEY, as `aura token` prints it."""
    now = int(time.time())
    scopes = [SERVICE_SCOPE] if service else []
    if admin:
        scopes.append(ADMIN_SCOPE)
    claims: dict[str, Any] = {"sub": user_id, "iat": now, "nbf": now, "exp": now + ttl_seconds}
    if scopes:
        claims["scope"] = " ".join(scopes)
    if issuer:
        claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm="HS256")
