"""Which IP addresses openreel may connect to on a user's behalf.

Only globally routable unicast addresses are allowed by default. Refused: private (RFC 1918,
``fc00::/7``), loopback, link-local, CGNAT (``100.64.0.0/10``), multicast, reserved,
unspecified, documentation/benchmark ranges, and cloud metadata endpoints. IPv6 addresses that
embed an IPv4 address (IPv4-mapped, IPv4-compatible, 6to4, NAT64, Teredo, ISATAP) are judged by
that IPv4 address too. An operator can allow listed networks (a LAN, or loopback for local
development); metadata endpoints stay refused even then.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud instance-metadata and host-internal service addresses, refused even when an allowed
# network contains them: AWS/GCP/Azure/OpenStack/DigitalOcean, AWS IPv6 (fd00:ec2::254),
# Azure wireserver (168.63.129.16), Alibaba (100.100.100.200), Oracle (192.0.0.192).
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "169.254.169.123",
        "168.63.129.16",
        "100.100.100.200",
        "192.0.0.192",
        "fd00:ec2::254",
        "fd00:ec2::23",
    )
)

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_PRIVATE = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_ISATAP_MARKERS = (0x00005EFE, 0x02005EFE)


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, compatible, 6to4, NAT64, Teredo,
    ISATAP): a connection to it may reach them."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    value = int(address)
    low32 = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if address in _NAT64 or address in _NAT64_LOCAL:
        found.append(low32)
    if (value >> 32) == 0 and value > 1:
        found.append(low32)  # deprecated IPv4-compatible form, ::a.b.c.d
    if ((value >> 32) & 0xFFFFFFFF) in _ISATAP_MARKERS:
        found.append(low32)
    return found


def parse_ip_literal(host: str) -> IPAddress | None:
    """``host`` as an IP address if it is one in any spelling a resolver accepts, else None.

    Besides dotted quads this catches the forms ``inet_aton`` takes: ``2130706433``,
    ``0x7f000001``, ``0177.0.0.1``, ``127.1``.
    """
    text = host.strip("[]")
    if "%" in text:
        text = text.split("%", 1)[0]  # zone id of a link-local IPv6 literal
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if not text or not all(c in "0123456789abcdefABCDEFxX." for c in text):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


def _refused_kind(address: IPAddress) -> str | None:
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if any(address.version == net.version and address in net for net in _PRIVATE):
        return "a private address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "a site-local address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a carrier-grade NAT address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "a non-public address"  # documentation, benchmarking, protocol ranges...
    return None


@dataclass(frozen=True)
class Refusal:
    """Why an address may not be contacted: ``kind`` (e.g. "a private address") of the
    address itself, or of the IPv4 address ``embedded`` in it."""

    kind: str
    embedded: ipaddress.IPv4Address | None = None

    def describe(self, address: IPAddress) -> str:
        if self.embedded is None:
            return f"{address} is {self.kind}"
        return f"{address} embeds {self.embedded}, {self.kind}"


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses, plus any in ``allowed`` (operator setting), minus metadata ones."""

    allowed: tuple[IPNetwork, ...] = field(default=())

    @classmethod
    def from_cidrs(cls, cidrs: Iterable[str]) -> AddressPolicy:
        return cls(tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip()))

    def _is_allowed(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.allowed)

    def refusal(self, address: IPAddress) -> Refusal | None:
        """Why ``address`` must not be contacted, or None if it may be."""
        inner = embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else []
        if address in METADATA_ADDRESSES:
            return Refusal("a cloud metadata address")
        for candidate in inner:
            if candidate in METADATA_ADDRESSES:
                return Refusal("a cloud metadata address", candidate)
        # An address that carries an IPv4 address may reach it: that one is always judged,
        # even inside an allowed IPv6 range (a NAT64 prefix must not open 10.0.0.0/8).
        for candidate in inner:
            kind = _refused_kind(candidate)
            if kind is not None and not self._is_allowed(candidate):
                return Refusal(kind, candidate)
        if self._is_allowed(address):
            return None
        if isinstance(address, ipaddress.IPv6Address) and (
            address.ipv4_mapped is not None
            or address.sixtofour is not None
            or address in _NAT64
            or address in _NAT64_LOCAL
        ):
            return None  # a translation of the IPv4 address judged above
        kind = _refused_kind(address)
        return Refusal(kind) if kind is not None else None
