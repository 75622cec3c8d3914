"""Turn an ``Authorization`` header into the owner id of the calling key.

Codes follow Kling's table: 1001 no header, 1002 invalid (unknown/revoked key, bad JWT
signature, unknown issuer), 1003 JWT not yet valid, 1004 JWT expired; all HTTP 401.
"""

from __future__ import annotations

import jwt

from openreel.auth.keys import hash_key
from openreel.store.keys import KeyRepository
from openreel.wire.errors import ErrorCode, KlingError

ANONYMOUS_OWNER = "local"


class Authenticator:
    def __init__(self, keys: KeyRepository, *, leeway_seconds: int) -> None:
        self.keys = keys
        self.leeway = leeway_seconds

    async def owner_for(self, authorization: str | None) -> str:
        if not authorization or not authorization.strip():
            raise KlingError(ErrorCode.AUTH_MISSING, "Authorization header is empty")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise KlingError(
                ErrorCode.AUTH_INVALID, "Authorization must be 'Bearer <api key or JWT>'"
            )
        if token.count(".") == 2:
            return await self._jwt_owner(token)
        row = await self.keys.by_hash(hash_key(token))
        if row is None:
            raise KlingError(ErrorCode.AUTH_INVALID, "Authorization is invalid: unknown API key")
        if row.revoked_at is not None:
            raise KlingError(ErrorCode.AUTH_INVALID, "Authorization is invalid: API key revoked")
        return row.id

    async def _jwt_owner(self, token: str) -> str:
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise KlingError(
                ErrorCode.AUTH_INVALID, "Authorization is invalid: malformed JWT"
            ) from None
        issuer = unverified.get("iss")
        if not isinstance(issuer, str) or not issuer:
            raise KlingError(ErrorCode.AUTH_INVALID, "Authorization is invalid: JWT has no iss")
        row = await self.keys.by_access_key(issuer)
        if row is None or row.revoked_at is not None:
            raise KlingError(
                ErrorCode.AUTH_INVALID, "Authorization is invalid: unknown or revoked access key"
            )
        try:
            jwt.decode(
                token,
                row.secret_key,
                algorithms=["HS256"],
                leeway=self.leeway,
                options={"require": ["iss", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise KlingError(ErrorCode.TOKEN_EXPIRED, "Authorization token has expired") from None
        except jwt.ImmatureSignatureError:
            raise KlingError(
                ErrorCode.TOKEN_NOT_YET_VALID, "Authorization token is not yet valid (nbf)"
            ) from None
        except jwt.InvalidTokenError as exc:
            raise KlingError(ErrorCode.AUTH_INVALID, f"Authorization is invalid: {exc}") from None
        return row.id
