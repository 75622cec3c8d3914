"""The SSRF battery: every user URL goes through one guarded client, and each of these is
refused, with a clear message naming the field and nothing of it stored."""

from __future__ import annotations

import gzip
import io
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from openreel.media.fetch import fetch_image, image_limits
from openreel.net.addresses import AddressPolicy
from openreel.net.safe_http import FetchFailed, FetchLimits, Resolver, SafeHttp, UrlRefused
from tests.support.api import Api
from tests.support.helpers import image_b64, image_bytes
from tests.support.http_stub import HttpStub, Recorded, Reply
from tests.support.polling import wait_task

LIMITS = FetchLimits(max_bytes=10 * 1024 * 1024, connect_timeout=2.0, total_timeout=5.0)
LOOPBACK_ONLY = AddressPolicy.from_cidrs(["127.0.0.1/32"])


@pytest.fixture
def stub() -> Iterator[HttpStub]:
    server = HttpStub()
    yield server
    server.close()


def fake_dns(table: dict[str, list[str]]) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(-2, "Name or service not known")
        return table[host]

    return resolve


# ---------------------------------------------------------------- refused before any connection


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("localhost", "localhost resolves to a loopback address"),
        ("[::1]", "::1 is a loopback address"),
        ("0.0.0.0", "0.0.0.0 is an unspecified address"),
        ("169.254.169.254", "169.254.169.254 is a cloud metadata address"),
        ("10.0.0.1", "10.0.0.1 is a private address"),
        ("10.200.3.4", "10.200.3.4 is a private address"),
        ("172.16.0.1", "172.16.0.1 is a private address"),
        ("172.31.9.9", "172.31.9.9 is a private address"),
        ("192.168.1.1", "192.168.1.1 is a private address"),
        ("[::ffff:127.0.0.1]", "embeds 127.0.0.1, a loopback address"),
        ("2130706433", "2130706433 is 127.0.0.1; 127.0.0.1 is a loopback address"),
        ("0177.0.0.1", "0177.0.0.1 is 127.0.0.1; 127.0.0.1 is a loopback address"),
        ("0x7f.0.0.1", "is 127.0.0.1; 127.0.0.1 is a loopback address"),
        ("127.1", "127.1 is 127.0.0.1; 127.0.0.1 is a loopback address"),
    ],
)
async def test_private_and_special_hosts_are_refused(
    stub: HttpStub, host: str, reason: str
) -> None:
    http = SafeHttp(AddressPolicy())  # nothing allowed: what a default server does
    try:
        url = f"http://{host}:{stub.port}/a.png"
        with pytest.raises(UrlRefused) as refused:
            await http.get_bytes(url, "image", LIMITS)
        assert refused.value.message.startswith("image: URL host is not allowed: ")
        assert reason in refused.value.message
        # and the same check runs at create time, with no DNS: it raises before connecting
        with pytest.raises(UrlRefused):
            http.check(url, "image")
    finally:
        await http.aclose()
    assert stub.requests == []  # nothing was ever sent to the (loopback) server


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "image: URL must use http or https"),
        ("gopher://example.com/", "image: URL must use http or https"),
        ("http://user:secret@example.com/a.png", "image: URL must not contain credentials"),
        ("http:///a.png", "image: URL has no host"),
        ("http://example.com:99999/", "image: is not a valid URL"),
    ],
)
async def test_bad_urls_are_refused(url: str, message: str) -> None:
    http = SafeHttp(AddressPolicy())
    try:
        with pytest.raises(UrlRefused, match=message):
            await http.get_bytes(url, "image", LIMITS)
    finally:
        await http.aclose()


async def test_a_name_that_resolves_to_a_private_address_is_refused() -> None:
    dns = fake_dns({"cdn.example": ["10.9.8.7"], "mixed.example": ["93.184.216.34", "10.0.0.3"]})
    http = SafeHttp(AddressPolicy(), resolver=dns)
    try:
        # The message names the kind of address, not the address: internal DNS stays private.
        with pytest.raises(UrlRefused, match=r"cdn\.example resolves to a private address$"):
            await http.get_bytes("http://cdn.example/a.png", "image", LIMITS)
        # Every answer must be allowed: one private address among public ones is enough.
        with pytest.raises(UrlRefused, match="mixed.example resolves to a private address"):
            await http.get_bytes("https://mixed.example/a.png", "image", LIMITS)
        with pytest.raises(FetchFailed, match="cannot resolve nowhere.example"):
            await http.get_bytes("http://nowhere.example/a.png", "image", LIMITS)
    finally:
        await http.aclose()


async def test_connects_to_the_checked_address_with_the_original_host(stub: HttpStub) -> None:
    stub.route = lambda _: Reply(body=b"pixels")
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])  # a rebinding DNS: the second answer lies

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    http = SafeHttp(LOOPBACK_ONLY, resolver=rebinding)
    try:
        body = await http.get_bytes(f"http://cdn.example:{stub.port}/a.png", "image", LIMITS)
    finally:
        await http.aclose()
    assert body == b"pixels"
    (request,) = stub.requests
    assert request.headers["host"] == f"cdn.example:{stub.port}"  # name resolved once, by us


# ---------------------------------------------------------------- redirects


async def test_a_redirect_to_a_private_address_is_refused(stub: HttpStub) -> None:
    def route(request: Recorded) -> Reply:
        if request.path == "/start":
            return Reply(302, headers={"Location": "http://10.0.0.1/secret"})
        return Reply(body=b"should not be reached")

    stub.route = route
    http = SafeHttp(LOOPBACK_ONLY)
    try:
        with pytest.raises(UrlRefused, match="10.0.0.1 is a private address"):
            await http.get_bytes(f"{stub.url}/start", "image", LIMITS)
        # Metadata behind a redirect, and a loopback address outside the allowed /32.
        stub.route = lambda r: Reply(302, headers={"Location": "http://169.254.169.254/x"})
        with pytest.raises(UrlRefused, match="cloud metadata"):
            await http.get_bytes(f"{stub.url}/start", "image", LIMITS)
        stub.route = lambda r: Reply(307, headers={"Location": f"http://127.0.0.2:{stub.port}/"})
        with pytest.raises(UrlRefused, match="127.0.0.2 is a loopback address"):
            await http.get_bytes(f"{stub.url}/start", "image", LIMITS)
    finally:
        await http.aclose()
    assert [r.path for r in stub.requests] == ["/start", "/start", "/start"]


async def test_redirects_are_followed_and_counted(stub: HttpStub) -> None:
    def route(request: Recorded) -> Reply:
        hop = int(request.path.strip("/") or 0)
        if hop < 3:
            return Reply(301, headers={"Location": f"/{hop + 1}"})
        return Reply(body=b"done")

    stub.route = route
    http = SafeHttp(LOOPBACK_ONLY)
    try:
        assert await http.get_bytes(f"{stub.url}/0", "image", LIMITS) == b"done"
        tight = FetchLimits(max_bytes=100, max_redirects=2)
        with pytest.raises(FetchFailed, match="more than 2 redirects"):
            await http.get_bytes(f"{stub.url}/0", "image", tight)
    finally:
        await http.aclose()


# ---------------------------------------------------------------- size, time, encoding


@pytest.mark.parametrize("declared", [True, False])
async def test_a_body_over_10_mb_is_refused(stub: HttpStub, declared: bool) -> None:
    big = b"\0" * (10 * 1024 * 1024 + 1)
    # Without a Content-Length the server streams until it closes the connection.
    stub.route = lambda _: Reply(body=big, declare_length=declared)
    http = SafeHttp(LOOPBACK_ONLY)
    try:
        with pytest.raises(FetchFailed, match="body is larger than 10 MB"):
            await http.get_bytes(f"{stub.url}/big", "image", LIMITS)
    finally:
        await http.aclose()


async def test_a_server_that_trickles_bytes_is_cut_off_at_the_deadline(stub: HttpStub) -> None:
    stub.route = lambda _: Reply(body=b"x" * 200, trickle=0.05)  # 10 s in all
    http = SafeHttp(LOOPBACK_ONLY)
    limits = FetchLimits(max_bytes=1000, connect_timeout=1.0, total_timeout=1.0)
    started = time.monotonic()
    try:
        with pytest.raises(FetchFailed, match="timed out after 1 s"):
            await http.get_bytes(f"{stub.url}/slow", "image", limits)
    finally:
        await http.aclose()
    assert time.monotonic() - started < 3  # each byte arrived well within a read timeout


async def test_a_gzip_bomb_is_stopped_at_the_limit(stub: HttpStub) -> None:
    bomb = gzip.compress(b"\0" * (200 * 1024 * 1024), compresslevel=9)  # 200 MB -> ~200 KB
    assert len(bomb) < 1024 * 1024
    stub.route = lambda _: Reply(body=bomb, headers={"Content-Encoding": "gzip"})
    http = SafeHttp(LOOPBACK_ONLY)
    try:
        with pytest.raises(FetchFailed, match="larger than 10 MB once decompressed"):
            await http.get_bytes(f"{stub.url}/bomb", "image", LIMITS)
        # An honest gzip answer is decoded.
        stub.route = lambda _: Reply(
            body=gzip.compress(b"ok"), headers={"Content-Encoding": "gzip"}
        )
        assert await http.get_bytes(f"{stub.url}/fine", "image", LIMITS) == b"ok"
        # Encodings we did not ask for (and cannot bound) are refused.
        stub.route = lambda _: Reply(body=zlib.compress(b"x"), headers={"Content-Encoding": "br"})
        with pytest.raises(FetchFailed, match="unsupported content encoding 'br'"):
            await http.get_bytes(f"{stub.url}/br", "image", LIMITS)
    finally:
        await http.aclose()
    assert "gzip" in stub.requests[0].headers["accept-encoding"]
    assert "br" not in stub.requests[0].headers["accept-encoding"]


# ---------------------------------------------------------------- through the API


def huge_png_header() -> bytes:
    """A valid PNG signature and IHDR claiming 100000x100000 pixels, then a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk
    png += struct.pack(">I", zlib.crc32(chunk))
    idat = b"IDAT" + zlib.compress(b"\0" * 100)
    png += struct.pack(">I", len(idat) - 4) + idat + struct.pack(">I", zlib.crc32(idat))
    return png


def stored_inputs(api: Api) -> list[Path]:
    root = Path(api.services.settings.data_dir) / "blobs" / "inputs"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(body=b"<html>not an image</html>"), "image: image format must be JPEG or PNG"),
        (Reply(body=huge_png_header()), "image: image is over the 64000000 pixel limit"),
        (
            Reply(body=b"\0" * (10 * 1024 * 1024 + 10)),
            "image: could not fetch image: body is larger than 10 MB",
        ),
        (
            Reply(
                body=gzip.compress(b"\0" * (50 * 1024 * 1024)), headers={"Content-Encoding": "gzip"}
            ),
            "image: could not fetch image: body is larger than 10 MB once decompressed",
        ),
        (
            Reply(302, headers={"Location": "http://192.168.0.10/cat.png"}),
            "image: URL host is not allowed: 192.168.0.10 is a private address",
        ),
    ],
)
def test_refused_url_images_fail_the_task_and_store_nothing(
    api: Api, headers: dict[str, str], stub: HttpStub, reply: Reply, message: str
) -> None:
    stub.route = lambda _: reply
    created = api.client.post(
        "/v1/videos/image2video", json={"image": f"{stub.url}/in.png"}, headers=headers
    )
    assert created.status_code == 200, created.text
    data = wait_task(
        api.client, "/v1/videos/image2video", created.json()["data"]["task_id"], headers
    )
    assert data["task_status"] == "failed"
    assert message in data["task_status_msg"], data["task_status_msg"]
    assert stored_inputs(api) == []


def test_a_good_url_image_still_works_through_the_guard(
    api: Api, headers: dict[str, str], stub: HttpStub
) -> None:
    png = image_bytes(640, 400)
    stub.route = lambda _: Reply(body=png, headers={"Content-Type": "image/png"})
    created = api.client.post(
        "/v1/videos/image2video", json={"image": f"{stub.url}/in.png"}, headers=headers
    )
    data = wait_task(
        api.client, "/v1/videos/image2video", created.json()["data"]["task_id"], headers
    )
    assert data["task_status"] == "succeed", data
    (stored,) = stored_inputs(api)
    with Image.open(io.BytesIO(stored.read_bytes())) as image:
        assert image.size == (640, 400)


async def test_fetch_image_names_the_field(stub: HttpStub) -> None:
    stub.route = lambda _: Reply(404)
    http = SafeHttp(LOOPBACK_ONLY)
    try:
        with pytest.raises(
            Exception, match=r"^image_list\[2\]\.image: could not fetch image: HTTP 404$"
        ):
            await fetch_image(http, f"{stub.url}/x", "image_list[2].image", image_limits(5, 1))
    finally:
        await http.aclose()


def test_an_image_name_resolving_to_a_private_address_fails_the_task(
    api: Api, headers: dict[str, str]
) -> None:
    async def private_dns(host: str, port: int) -> list[str]:
        return ["172.20.0.5"]

    api.services.http.resolver = private_dns
    body = {"image_list": [{"image": image_b64()}, {"image": "https://img.example/b.png"}]}
    created = api.client.post(
        "/v1/videos/multi-image2video", json={**body, "prompt": "p"}, headers=headers
    )
    assert created.status_code == 200, created.text
    task_id = created.json()["data"]["task_id"]
    data = wait_task(api.client, "/v1/videos/multi-image2video", task_id, headers)
    assert data["task_status"] == "failed"
    assert data["task_status_msg"] == (
        "image_list[1].image: URL host is not allowed: img.example resolves to a private address"
    )
    # Only the base64 image given at create is stored; nothing came from the refused URL.
    assert [p.name for p in stored_inputs(api)] == ["image_list_0_.image.png"]


async def test_broken_bodies_are_failures_not_crashes(stub: HttpStub) -> None:
    http = SafeHttp(LOOPBACK_ONLY)
    whole = gzip.compress(b"x" * 5000)
    try:
        stub.route = lambda _: Reply(body=whole[:-12], headers={"Content-Encoding": "gzip"})
        with pytest.raises(FetchFailed, match="body is truncated gzip"):
            await http.get_bytes(f"{stub.url}/cut.gz", "image", LIMITS)
        stub.route = lambda _: Reply(body=b"y" * 5000, cut_after=100)
        with pytest.raises(FetchFailed, match=r"body broken off \(RemoteProtocolError\)"):
            await http.get_bytes(f"{stub.url}/cut", "image", LIMITS)
        with pytest.raises(UrlRefused, match="image: is not a valid URL"):
            await http.get_bytes(f"{stub.url}/a\x01b", "image", LIMITS)
    finally:
        await http.aclose()


async def test_no_connection_is_reused_across_names(stub: HttpStub) -> None:
    """The pool keys connections by address: reusing one across names would skip the TLS
    name check of the second. Every request opens its own connection."""
    dns = fake_dns({"a.example": ["127.0.0.1"], "b.example": ["127.0.0.1"]})
    http = SafeHttp(LOOPBACK_ONLY, resolver=dns)
    try:
        for name in ("a.example", "b.example", "a.example"):
            await http.get_bytes(f"http://{name}:{stub.port}/x", "image", LIMITS)
    finally:
        await http.aclose()
    assert [r.headers["host"].split(":")[0] for r in stub.requests] == [
        "a.example",
        "b.example",
        "a.example",
    ]
    assert len({r.peer for r in stub.requests}) == 3
