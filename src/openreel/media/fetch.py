"""Fetching user-supplied image URLs: http(s) only, bounded in time and size.

The one module through which every user URL is fetched. (SSRF address filtering is the
subject of a later change and plugs in here.)
"""

from __future__ import annotations

import httpx

from openreel.media.images import MAX_IMAGE_BYTES
from openreel.wire.errors import illegal

MAX_REDIRECTS = 5


async def fetch_bytes(client: httpx.AsyncClient, url: str, field: str, *, timeout: float) -> bytes:
    """GET ``url`` and return its body, refusing bodies over 10 MB."""
    if not url.lower().startswith(("http://", "https://")):
        raise illegal(field, "URL must use http or https")
    try:
        async with client.stream(
            "GET", url, timeout=timeout, follow_redirects=True, headers={"Accept": "image/*"}
        ) as response:
            if response.status_code != 200:
                raise illegal(field, f"could not fetch image: HTTP {response.status_code}")
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > MAX_IMAGE_BYTES:
                raise illegal(field, "image is larger than 10 MB")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > MAX_IMAGE_BYTES:
                    raise illegal(field, "image is larger than 10 MB")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.TooManyRedirects:
        raise illegal(
            field, f"could not fetch image: more than {MAX_REDIRECTS} redirects"
        ) from None
    except httpx.TimeoutException:
        raise illegal(field, "could not fetch image: timed out") from None
    except httpx.ConnectError:
        host = httpx.URL(url).host
        raise illegal(field, f"could not fetch image: cannot connect to {host}") from None
    except httpx.HTTPError as exc:
        raise illegal(field, f"could not fetch image: {type(exc).__name__}") from None


def new_client() -> httpx.AsyncClient:
    # identity encoding: the 10 MB cap applies to what is on the wire and what is decoded.
    return httpx.AsyncClient(
        max_redirects=MAX_REDIRECTS,
        headers={"Accept-Encoding": "identity", "User-Agent": "openreel"},
        trust_env=False,
    )
