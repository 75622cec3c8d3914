"""Issuing API keys. The bearer key is stored only as a SHA-256 hash (keys are 256-bit random,
so a fast hash is enough); the AK/SK pair is for clients that sign Kling JWTs."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from openreel.clock import now_ms
from openreel.store.keys import KeyRepository
from openreel.store.tables import ApiKeyRow

KEY_PREFIX = "or_"


@dataclass(frozen=True)
class IssuedKey:
    id: str
    name: str
    api_key: str
    access_key: str
    secret_key: str


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


async def issue_key(keys: KeyRepository, name: str) -> IssuedKey:
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    issued = IssuedKey(
        id=uuid.uuid4().hex,
        name=name,
        api_key=api_key,
        access_key="ak" + secrets.token_hex(15),
        secret_key=secrets.token_urlsafe(32),
    )
    await keys.add(
        ApiKeyRow(
            id=issued.id,
            name=name,
            key_hash=hash_key(api_key),
            key_prefix=api_key[: len(KEY_PREFIX) + 8],
            access_key=issued.access_key,
            secret_key=issued.secret_key,
            created_at=now_ms(),
            revoked_at=None,
        )
    )
    return issued
