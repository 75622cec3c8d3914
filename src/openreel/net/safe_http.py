"""The one HTTP client for user-supplied URLs (image URLs, callback URLs, the relay engine).

Every request:

- is http or https, with a host and no credentials in the URL;
- has its host resolved here, and every address it resolves to checked against the
  ``AddressPolicy`` (an IP literal in any spelling is checked as is);
- connects to the address that was checked, with the original ``Host`` header and TLS server
  name, so a second DNS answer cannot redirect it (DNS rebinding);
- follows redirects by hand, checking each hop the same way, at most ``max_redirects``
  (callbacks: none; a 3xx is the receiver's answer);
- streams the body, stopping at ``max_bytes``, decompressing gzip with the same cap (no other
  content encoding is accepted, so no bomb can expand unchecked);
- runs under a connect timeout and a total deadline (a server that trickles bytes is cut off).

Refusals and failures raise ``UrlRefused`` (the URL can never be used: retrying is pointless)
or ``FetchFailed`` (network trouble or an HTTP error that may pass), both ``InputError``s naming the
field (the service turns them into Kling's 1201).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import httpx

from openreel.errors import InputError
from openreel.net.addresses import AddressPolicy, IPAddress, parse_ip_literal

__all__ = [
    "FetchFailed",
    "FetchLimits",
    "PostResult",
    "Resolver",
    "SafeHttp",
    "UrlRefused",
    "system_resolver",
]

Resolver = Callable[[str, int], Awaitable[list[str]]]
T = TypeVar("T")

log = logging.getLogger("openreel.net")

_LOOPBACK = ipaddress.ip_address("127.0.0.1")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class UrlRefused(InputError):
    """The URL may not be fetched (scheme, syntax, address policy): permanent."""

    @property
    def reason(self) -> str:
        return self.rule


class FetchFailed(InputError):
    """The fetch did not succeed this time (network error, timeout, HTTP status, size)."""

    @property
    def reason(self) -> str:
        return self.rule


_FAILURE_KINDS = (
    ("timed out", "timeout"),
    ("no answer", "timeout"),
    ("larger than", "too_large"),
    ("redirects", "redirects"),
    ("cannot resolve", "dns"),
    ("cannot connect", "connect"),
    ("HTTP ", "http_status"),
    ("gzip", "encoding"),
    ("content encoding", "encoding"),
)


def refusal_kind(exc: UrlRefused | FetchFailed) -> str:
    """A short, closed-set name for why a URL was refused or failed (a metric label)."""
    if isinstance(exc, UrlRefused):
        return "address" if "not allowed" in exc.reason else "invalid_url"
    for needle, kind in _FAILURE_KINDS:
        if needle in exc.reason:
            return kind
    return "network"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int
    connect_timeout: float = 5.0
    total_timeout: float = 20.0
    max_redirects: int = 5


@dataclass(frozen=True)
class PostResult:
    status_code: int
    retry_after: float | None  # seconds, from a Retry-After header given as seconds


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the OS resolver, off the event loop)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class _Checked:
    """A URL that passed the syntax checks: what to resolve and what to send."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA) name, or the IP literal as written
    port: int
    target: str  # path and query, as given
    literal: IPAddress | None

    @property
    def default_port(self) -> bool:
        return self.port == (443 if self.scheme == "https" else 80)


@dataclass(frozen=True)
class _Target:
    """A checked URL and the checked address to connect to."""

    checked: _Checked
    address: IPAddress

    def request(
        self,
        client: httpx.AsyncClient,
        method: str,
        *,
        headers: dict[str, str],
        timeout: httpx.Timeout,
        content: bytes | None = None,
    ) -> httpx.Request:
        c = self.checked
        ip = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        name = ip if c.literal is not None else c.host
        host_header = name if c.default_port else f"{name}:{c.port}"
        # TLS: the certificate is checked against the name, not the address we connect to.
        extensions = {"sni_hostname": c.host} if c.scheme == "https" and c.literal is None else {}
        return client.build_request(
            method,
            f"{c.scheme}://{ip}:{c.port}{c.target}",
            headers={**headers, "Host": host_header},
            content=content,
            timeout=timeout,
            extensions=extensions,
        )


class SafeHttp:
    """Guarded GET (bytes) and POST (status) on an httpx client that never redirects itself."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        resolver: Resolver = system_resolver,
        user_agent: str = "openreel",
        on_refusal: Callable[[str], None] = lambda kind: None,
    ) -> None:
        self.on_refusal = on_refusal  # counts refusals by kind (metrics)
        self.policy = policy
        self.resolver = resolver
        self.client = httpx.AsyncClient(
            follow_redirects=False,
            # No keep-alive: the pool keys connections by address alone, so a TLS connection
            # checked for one name could otherwise carry a request for another name.
            limits=httpx.Limits(max_keepalive_connections=0),
            trust_env=False,  # no proxy from the environment: it would bypass the checks
            headers={"User-Agent": user_agent},
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    # ------------------------------------------------------------------ checks

    def check(self, url: str, field: str) -> _Checked:
        """Syntax and literal-address checks, without DNS (used at create time too)."""
        try:
            return self._check(url, field)
        except UrlRefused as exc:
            self.on_refusal(refusal_kind(exc))
            raise

    def _check(self, url: str, field: str) -> _Checked:
        if not isinstance(url, str) or not url:
            raise UrlRefused(field, "must be an http or https URL")
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise UrlRefused(field, f"is not a valid URL ({exc})") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise UrlRefused(field, "URL must use http or https")
        if parts.username is not None or parts.password is not None:
            raise UrlRefused(field, "URL must not contain credentials")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise UrlRefused(field, "URL has no host")
        literal = parse_ip_literal(host)
        if literal is None:
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError:
                raise UrlRefused(field, f"URL host {host!r} is not a valid name") from None
        if literal is not None:
            self._check_literal(literal, field, host)
        elif host in _LOCAL_NAMES or host.endswith(".localhost"):
            self._check_resolved(_LOOPBACK, field, host)  # RFC 6761: always loopback
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            httpx.URL(f"{scheme}://openreel.invalid{target}")
        except httpx.InvalidURL as exc:
            raise UrlRefused(field, f"is not a valid URL ({exc})") from None
        return _Checked(
            url=url.strip(),
            scheme=scheme,
            host=host,
            port=port or (443 if scheme == "https" else 80),
            target=target,
            literal=literal,
        )

    def _check_literal(self, address: IPAddress, field: str, host: str) -> None:
        refusal = self.policy.refusal(address)
        if refusal is not None:
            shown = "" if str(address) == host else f"{host} is {address}; "
            raise UrlRefused(field, f"URL host is not allowed: {shown}{refusal.describe(address)}")

    def _check_resolved(self, address: IPAddress, field: str, host: str) -> None:
        refusal = self.policy.refusal(address)
        if refusal is not None:
            # What a name resolves to inside the network is not the caller's business.
            log.warning("refused %s for %s: %s", host, field, refusal.describe(address))
            raise UrlRefused(field, f"URL host is not allowed: {host} resolves to {refusal.kind}")

    async def _resolve(self, checked: _Checked, field: str) -> _Target:
        if checked.literal is not None:
            return _Target(checked, checked.literal)
        try:
            found = await self.resolver(checked.host, checked.port)
        except OSError as exc:
            raise FetchFailed(field, f"cannot resolve {checked.host} ({exc.strerror})") from None
        addresses = [a for a in (parse_ip_literal(text) for text in found) if a is not None]
        if not addresses:
            raise FetchFailed(field, f"cannot resolve {checked.host}")
        for address in addresses:  # every answer must be allowed, not just the first
            self._check_resolved(address, field, checked.host)
        return _Target(checked, addresses[0])

    # ------------------------------------------------------------------ requests

    async def get_bytes(
        self, url: str, field: str, limits: FetchLimits, *, accept: str = "*/*"
    ) -> bytes:
        """GET ``url`` and return its (decoded) body, following checked redirects."""
        try:
            async with asyncio.timeout(limits.total_timeout):
                return await self._get(
                    url,
                    field,
                    limits,
                    accept,
                    lambda response: _read_capped(response, field, limits.max_bytes),
                )
        except TimeoutError:
            self.on_refusal("timeout")
            raise FetchFailed(field, f"timed out after {limits.total_timeout:g} s") from None
        except (UrlRefused, FetchFailed) as exc:
            self.on_refusal(refusal_kind(exc))
            raise

    async def download(
        self, url: str, field: str, limits: FetchLimits, dest: Path, *, accept: str = "*/*"
    ) -> str:
        """GET ``url`` into the file ``dest``, streamed and capped like ``get_bytes``; returns
        the response's content type. A partial file is removed."""

        async def to_file(response: httpx.Response) -> str:
            with dest.open("wb") as out:
                async for chunk in _capped_chunks(response, field, limits.max_bytes):
                    out.write(chunk)
            return str(response.headers.get("content-type", ""))

        complete = False
        try:
            async with asyncio.timeout(limits.total_timeout):
                content_type = await self._get(url, field, limits, accept, to_file)
            complete = True
            return content_type
        except TimeoutError:
            self.on_refusal("timeout")
            raise FetchFailed(field, f"timed out after {limits.total_timeout:g} s") from None
        except (UrlRefused, FetchFailed) as exc:
            self.on_refusal(refusal_kind(exc))
            raise
        finally:
            if not complete:
                _remove_partial(dest)

    async def _get(
        self,
        url: str,
        field: str,
        limits: FetchLimits,
        accept: str,
        consume: Callable[[httpx.Response], Awaitable[T]],
    ) -> T:
        current = url
        for _ in range(limits.max_redirects + 1):
            target = await self._resolve(self._check(current, field), field)
            request = target.request(
                self.client,
                "GET",
                headers={"Accept": accept, "Accept-Encoding": "identity, gzip"},
                timeout=_timeout(limits),
            )
            response = await self._send(request, field, target)
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    current = urljoin(current, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise FetchFailed(field, f"HTTP {response.status_code}")
                return await consume(response)
            finally:
                await response.aclose()
        raise FetchFailed(field, f"more than {limits.max_redirects} redirects")

    async def post(
        self,
        url: str,
        content: bytes,
        headers: dict[str, str],
        field: str,
        *,
        timeout: float,
        connect_timeout: float = 5.0,
    ) -> PostResult:
        """POST ``content`` once; never follows a redirect (a 3xx is just the answer)."""
        try:
            async with asyncio.timeout(timeout):
                target = await self._resolve(self._check(url, field), field)
                request = target.request(
                    self.client,
                    "POST",
                    content=content,
                    headers=headers,
                    timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)),
                )
                response = await self._send(request, field, target)
                # Only the status matters; the body is not read (no connection is reused).
                await response.aclose()
        except TimeoutError:
            self.on_refusal("timeout")
            raise FetchFailed(field, f"no answer within {timeout:g} s") from None
        except (UrlRefused, FetchFailed) as exc:
            self.on_refusal(refusal_kind(exc))
            raise
        return PostResult(response.status_code, _retry_after(response.headers.get("retry-after")))

    async def _send(self, request: httpx.Request, field: str, target: _Target) -> httpx.Response:
        host = target.checked.host
        try:
            return await self.client.send(request, stream=True)
        except httpx.TimeoutException:
            raise FetchFailed(field, f"timed out talking to {host}") from None
        except httpx.ConnectError:
            raise FetchFailed(field, f"cannot connect to {host}") from None
        except httpx.HTTPError as exc:
            raise FetchFailed(field, f"{type(exc).__name__} from {host}") from None


def _timeout(limits: FetchLimits) -> httpx.Timeout:
    connect = min(limits.connect_timeout, limits.total_timeout)
    return httpx.Timeout(limits.total_timeout, connect=connect)


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: rare from receivers; the retry schedule applies
    return seconds if seconds >= 0 else None


async def _read_capped(response: httpx.Response, field: str, max_bytes: int) -> bytes:
    return b"".join([chunk async for chunk in _capped_chunks(response, field, max_bytes)])


async def _capped_chunks(
    response: httpx.Response, field: str, max_bytes: int
) -> AsyncIterator[bytes]:
    """The decoded body, chunk by chunk, stopping with ``FetchFailed`` past ``max_bytes``."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchFailed(field, f"body is larger than {_megabytes(max_bytes)}")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", ""):
        raise FetchFailed(field, f"unsupported content encoding {encoding!r}")
    inflate = zlib.decompressobj(wbits=31) if encoding == "gzip" else None
    raw_size = size = 0
    too_big = f"body is larger than {_megabytes(max_bytes)}"
    async for chunk in _raw_chunks(response, field):
        raw_size += len(chunk)
        if raw_size > max_bytes:
            raise FetchFailed(field, too_big)
        if inflate is not None:
            try:
                # Never inflate more than one byte past the cap, however small the input.
                chunk = inflate.decompress(chunk, max_bytes - size + 1)
            except zlib.error:
                raise FetchFailed(field, "body is not valid gzip") from None
            if inflate.unconsumed_tail:
                raise FetchFailed(field, too_big + " once decompressed")
        size += len(chunk)
        if size > max_bytes:
            raise FetchFailed(field, too_big + (" once decompressed" if inflate else ""))
        yield chunk
    if inflate is not None and not inflate.eof:
        raise FetchFailed(field, "body is truncated gzip")


async def _raw_chunks(response: httpx.Response, field: str) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    except httpx.TimeoutException:
        raise FetchFailed(field, "timed out reading the body") from None
    except httpx.HTTPError as exc:
        raise FetchFailed(field, f"body broken off ({type(exc).__name__})") from None


def _remove_partial(path: Path) -> None:
    """Drop a half-written download (one unlink of a local file: not worth a thread hop, and
    it must also run while the task is being cancelled)."""
    path.unlink(missing_ok=True)
