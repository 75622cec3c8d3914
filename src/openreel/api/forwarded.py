"""Proxy headers: behind a TLS proxy, ``X-Forwarded-Proto``, ``X-Forwarded-Host`` and
``X-Forwarded-For`` say what the client used, so result links come out
``https://public-host/...``. They are honoured only from the addresses of
``OPENREEL_FORWARDED_ALLOW_IPS`` (none by default): anyone else could claim any host and have
the server mint links to it.

Replaces uvicorn's own proxy middleware (``openreel serve`` turns that off, since it trusts
127.0.0.1 by default and ignores ``X-Forwarded-Host``), and works the same under any ASGI
server.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

# A host name or IPv4 address, or a bracketed IPv6 address, and an optional port: anything
# else (a path, userinfo, spaces) in X-Forwarded-Host is ignored.
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$"
)
_SCHEMES = {"http", "https"}

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted(entries: Iterable[str]) -> tuple[bool, list[IpNetwork]]:
    """(trust everyone, networks) from addresses, CIDRs and ``*``; ValueError names a bad one."""
    everyone = False
    networks: list[IpNetwork] = []
    for entry in entries:
        entry = entry.strip()
        if entry == "*":
            everyone = True
        elif entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address, a CIDR or *") from None
    return everyone, networks


class TrustedProxies:
    def __init__(self, entries: Iterable[str]) -> None:
        self.everyone, self.networks = parse_trusted(entries)

    def __bool__(self) -> bool:
        return self.everyone or bool(self.networks)

    def __contains__(self, host: object) -> bool:
        if self.everyone:
            return True
        if not isinstance(host, str):
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


def _last(value: bytes) -> str:
    """The last item of a comma-separated header: what the nearest proxy set."""
    return value.decode("latin-1").split(",")[-1].strip()


class ForwardedHeadersMiddleware:
    """Pure ASGI: rewrites the scope's scheme, Host header and client from a trusted peer."""

    def __init__(self, app: ASGIApp, trusted: TrustedProxies) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.trusted:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        if client is None or client[0] not in self.trusted:
            await self.app(scope, receive, send)
            return
        proto = host = None
        forwarded_for: list[str] = []
        for name, value in scope["headers"]:
            if name == b"x-forwarded-proto":
                proto = _last(value).lower()
            elif name == b"x-forwarded-host":
                host = _last(value)
            elif name == b"x-forwarded-for":
                forwarded_for.extend(v.strip() for v in value.decode("latin-1").split(","))
        scope = dict(scope)
        if proto in _SCHEMES:
            scope["scheme"] = proto
        if host and _HOST.match(host):
            headers = [(n, v) for n, v in scope["headers"] if n != b"host"]
            scope["headers"] = [(b"host", host.encode("latin-1")), *headers]
        # The client is the first address, from the right, that is not a trusted proxy.
        for address in reversed(forwarded_for):
            if address and address not in self.trusted:
                scope["client"] = (address, 0)
                break
        await self.app(scope, receive, send)
