"""The SSRF address policy, IP literals in every spelling, and callback signatures."""

from __future__ import annotations

import base64
import ipaddress
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from openreel.net.addresses import AddressPolicy, parse_ip_literal
from openreel.wire.webhook_signing import (
    new_secret,
    secret_bytes,
    signature,
    verify,
    webhook_headers,
)

DEFAULT = AddressPolicy()


def reason(policy: AddressPolicy, text: str) -> str | None:
    address = ipaddress.ip_address(text)
    refusal = policy.refusal(address)
    return refusal.describe(address) if refusal is not None else None


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.10.1", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("10.255.255.255", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.0.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("100.100.100.200", "cloud metadata"),
        ("168.63.129.16", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.10", "non-public"),  # TEST-NET-1
        ("198.18.0.1", "non-public"),  # benchmarking
        # IPv6 forms that carry an IPv4 address
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "cloud metadata"),
        ("::127.0.0.1", "loopback"),  # IPv4-compatible
        ("64:ff9b::a00:1", "10.0.0.1"),  # NAT64
        ("2002:7f00:1::1", "127.0.0.1"),  # 6to4
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "10.0.0.1"),  # Teredo, client 10.0.0.1
        ("fe80::5efe:a00:1", "10.0.0.1"),  # ISATAP
        ("2001:db8::1", "non-public"),  # documentation
    ],
)
def test_non_public_addresses_are_refused(address: str, kind: str) -> None:
    why = reason(DEFAULT, address)
    assert why is not None and kind in why, why


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:93.184.216.34"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert reason(DEFAULT, address) is None


def test_allowed_networks_open_a_range_but_never_metadata() -> None:
    policy = AddressPolicy.from_cidrs(["127.0.0.0/8", "10.1.0.0/16", "169.254.0.0/16"])
    assert reason(policy, "127.0.0.1") is None
    assert reason(policy, "10.1.2.3") is None
    assert "private" in (reason(policy, "10.2.0.1") or "")
    assert "loopback" in (reason(policy, "::1") or "")
    assert "metadata" in (reason(policy, "169.254.169.254") or "")
    # A mapped loopback address is judged by the IPv4 address inside it.
    assert reason(policy, "::ffff:127.0.0.1") is None


def test_an_allowed_ipv6_range_does_not_open_the_ipv4_addresses_it_embeds() -> None:
    policy = AddressPolicy.from_cidrs(["64:ff9b::/96", "2002::/16"])
    assert reason(policy, "64:ff9b::a00:1") == "64:ff9b::a00:1 embeds 10.0.0.1, a private address"
    assert "127.0.0.1, a loopback address" in (reason(policy, "2002:7f00:1::1") or "")
    assert reason(policy, "64:ff9b::808:808") is None


def test_translated_public_ipv4_addresses_are_allowed_by_default() -> None:
    for text in ("64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8"):
        assert reason(DEFAULT, text) is None, text
    assert "site-local" in (reason(DEFAULT, "fec0::1") or "")


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),  # decimal
        ("0x7f000001", "127.0.0.1"),  # hex
        ("0177.0.0.1", "127.0.0.1"),  # octal
        ("0177.0.0.01", "127.0.0.1"),
        ("127.1", "127.0.0.1"),  # short form
        ("0x7f.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),  # octal, one number
        ("::1", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("fe80::1%eth0", "fe80::1"),
        ("example.com", None),
        ("1.example", None),
        ("deadbeef.com", None),
    ],
)
def test_ip_literals_in_every_spelling(host: str, address: str | None) -> None:
    parsed = parse_ip_literal(host)
    assert (str(parsed) if parsed is not None else None) == address


def test_signature_verifies_with_the_standardwebhooks_library() -> None:
    secret = new_secret()
    body = b'{"task_id":"1","task_status":"succeed"}'
    now = int(datetime.now(UTC).timestamp())
    headers = webhook_headers([secret], "msg_1", now, body)
    assert Webhook(secret).verify(body, headers) is not None
    # and the library's own signature is ours
    library = Webhook(secret).sign("msg_1", datetime.fromtimestamp(now, UTC), body.decode())
    assert library == signature(secret, "msg_1", now, body)
    assert verify(secret, headers, body, now=now)


def test_rotation_sends_both_signatures_and_each_verifies() -> None:
    old, new = new_secret(), new_secret()
    body = b"{}"
    now = int(datetime.now(UTC).timestamp())
    headers = webhook_headers([new, old], "msg_2", now, body)
    assert len(headers["webhook-signature"].split()) == 2
    assert Webhook(old).verify(body, headers) is not None
    assert Webhook(new).verify(body, headers) is not None
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_verify_rejects_tampering_and_stale_timestamps() -> None:
    secret = new_secret()
    headers = webhook_headers([secret], "msg_3", 1_000_000, b"{}")
    assert verify(secret, headers, b"{}", now=1_000_100)
    assert not verify(secret, headers, b'{"x":1}', now=1_000_100)
    assert not verify(secret, headers, b"{}", now=1_000_000 + 301)
    assert not verify(new_secret(), headers, b"{}", now=1_000_100)


def test_unsigned_when_no_secret() -> None:
    headers = webhook_headers([], "msg_4", 5, b"{}")
    assert headers == {"webhook-id": "msg_4", "webhook-timestamp": "5"}


@pytest.mark.parametrize(
    ("secret", "rule"),
    [
        ("abc", "starts with 'whsec_'"),
        ("whsec_not base64!", "followed by base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "at least 24 bytes"),
    ],
)
def test_bad_secrets_name_the_rule(secret: str, rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        secret_bytes(secret)
