"""Authentication: hashed API keys (Bearer) and Kling's AK/SK HS256 JWTs."""

from __future__ import annotations
