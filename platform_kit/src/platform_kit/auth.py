"""Identity: HS256 bearer tokens with `sub`, `role` and `exp` (contract, Identity).

The gateway verifies the caller's token and forwards it unchanged; every subgraph verifies
it again with the same secret, so no service trusts a caller's say-so. Services calling
each other mint a short-lived token with the `service` role.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import jwt
import orjson

__all__ = [
    "ALGORITHM",
    "InvalidToken",
    "Principal",
    "Role",
    "VerifiedTokens",
    "bearer_token",
    "issue_token",
    "verify_token",
]

ALGORITHM = "HS256"
DEFAULT_TTL_SECONDS = 3600
SERVICE_TOKEN_TTL_SECONDS = 300


class Role(StrEnum):
    CUSTOMER = "customer"
    ADMIN = "admin"
    SERVICE = "service"


_ROLES = frozenset(role.value for role in Role)
_TIME_CLAIMS = ("exp", "iat", "nbf")


@dataclass(frozen=True, slots=True)
class Principal:
    sub: str
    role: Role
    # the token's `scope` claim (RFC 8693: space-separated); the gateway's
    # @requiresScopes reads them with the role
    scopes: frozenset[str] = frozenset()

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


class InvalidToken(Exception):
    """A token was sent but cannot be trusted: expired, malformed, unsigned or forged."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def issue_token(
    sub: str,
    role: Role | str,
    secret: str,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    scopes: tuple[str, ...] = (),
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "role": str(Role(role)),
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if scopes:
        claims["scope"] = " ".join(scopes)
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(token: str, secret: str) -> Principal:
    return verify_token_until(token, secret)[0]


def verify_token_until(token: str, secret: str) -> tuple[Principal, float]:
    """The token's principal and its `exp` (the time it stops being valid)."""
    claims = _plainly_valid_claims(token, secret)
    if claims is None:  # PyJWT decides, and words the refusal
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "sub", "role"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired") from None
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"invalid token: {exc}") from None
    for name in _TIME_CLAIMS:
        if name in claims and not _is_json_time(claims[name]):
            raise InvalidToken(f"invalid token: `{name}` must be a number of seconds")
    sub, role = claims.get("sub"), claims.get("role")
    if not isinstance(sub, str) or not sub:
        raise InvalidToken("invalid token: `sub` must be a non-empty string")
    if not isinstance(role, str) or role not in _ROLES:
        raise InvalidToken(f"invalid token: unknown role {role!r}")
    scope = claims.get("scope", "")
    if not isinstance(scope, str):
        raise InvalidToken("invalid token: `scope` must be a space-separated string")
    principal = Principal(sub=sub, role=Role(role), scopes=frozenset(scope.split()))
    return principal, float(claims["exp"])


DEFAULT_VERIFIED_TOKENS = 10_000


class VerifiedTokens:
    """`verify_token`, remembering the tokens it verified, by their exact text.

    A client sends the same token with every request of its session, and its signature
    check (PyJWT: some 50 us) is the same work each time. A remembered token is one that
    verified, under the same secret, and is used only while its `exp` has not come; the
    key is the whole token, signature included, so a token differing in any byte (another
    identity, a forged signature) is verified on its own and never answered from another's
    entry. A token that fails is not remembered. At most `max_entries` are kept, the least
    recently used forgotten first."""

    def __init__(
        self,
        max_entries: int = DEFAULT_VERIFIED_TOKENS,
        *,
        verify: Callable[[str, str], tuple[Principal, float]] = verify_token_until,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.max_entries = max_entries
        self._verify = verify
        self._clock = clock
        self._entries: OrderedDict[str, tuple[str, float, Principal]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def verify(self, token: str, secret: str) -> Principal:
        entry = self._entries.get(token)
        if entry is not None:
            verified_with, expires, principal = entry
            # PyJWT's rule: expired once `exp <= now`
            if verified_with == secret and self._clock() < expires:
                self._entries.move_to_end(token)
                return principal
            del self._entries[token]
        principal, expires = self._verify(token, secret)
        if self.max_entries > 0:
            self._entries[token] = (secret, expires, principal)
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return principal


# Header segments seen to be exactly {"alg": "HS256"} with at most a string "typ" (a
# token's header is the same for every token its issuer signs)
_PLAIN_HEADERS: set[str] = set()
_MAX_PLAIN_HEADERS = 16


def _plainly_valid_claims(token: str, secret: str) -> dict[str, Any] | None:
    """The claims of a token PyJWT would accept with our options, found without it: a
    known plain header, the HMAC-SHA256 signature exactly as we would write it, a payload
    in canonical base64url holding a JSON object whose time claims are plain numbers now
    valid, `sub` a string, no `aud`, `jti` a string if any. Anything else (None) goes to
    PyJWT, which is about five times the work (some 50 us a token): this path only ever
    accepts, so it can never be laxer than PyJWT where it gives way to it."""
    if not token.isascii() or "-----" in secret or secret.startswith(("ssh-", "ecdsa-")):
        return None  # (PyJWT refuses a PEM or SSH key as an HMAC secret)
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header, payload, signature = parts
    if header not in _PLAIN_HEADERS and not _is_plain_header(header):
        return None
    expected = hmac.digest(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256)
    if not hmac.compare_digest(_b64url(expected), signature.encode()):
        return None
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = orjson.loads(raw)
    except (binascii.Error, ValueError):
        return None
    if type(claims) is not dict or _b64url(raw) != payload.encode():
        return None
    now = time.time()
    for name in _TIME_CLAIMS:
        if name in claims and not _is_json_time(claims[name]):
            return None
    if (
        claims.get("exp") is None
        or claims.get("sub") is None
        or claims.get("role") is None
        or int(claims["exp"]) <= now
        or ("iat" in claims and int(claims["iat"]) > now)
        or ("nbf" in claims and int(claims["nbf"]) > now)
        or claims.get("aud")
        or not isinstance(claims["sub"], str)
        or ("jti" in claims and not isinstance(claims["jti"], str))
    ):
        return None
    return claims


def _is_plain_header(segment: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        header = orjson.loads(raw)
    except (binascii.Error, ValueError):
        return False
    plain = (
        type(header) is dict
        and header.get("alg") == ALGORITHM
        and set(header) <= {"alg", "typ"}
        and isinstance(header.get("typ", ""), str)
        and _b64url(raw) == segment.encode()
    )
    if plain and len(_PLAIN_HEADERS) < _MAX_PLAIN_HEADERS:
        _PLAIN_HEADERS.add(segment)
    return plain


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _is_json_time(value: Any) -> bool:
    """A NumericDate (RFC 7519): a JSON number, finite. PyJWT also takes "1700000000" (and
    Python's JSON reader `true`, `NaN` and `Infinity`), which no issuer of ours writes."""
    return type(value) in (int, float) and math.isfinite(value)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None when there is no header.

    A header in any other form is an invalid credential, not an anonymous request."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("expected `Authorization: Bearer <token>`")
    return token.strip()
