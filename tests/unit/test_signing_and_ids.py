from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

from openreel.blobs.signing import UrlSigner
from openreel.config import Settings
from openreel.ids import new_id
from openreel.tasks.rules import image_size
from openreel.wire.parsing import field_path
from tests.support.clock import ManualClock


def test_signed_url_round_trip_and_tamper() -> None:
    clock = ManualClock()
    signer = UrlSigner(b"secret", ttl_seconds=60, clock=clock)
    url = signer.url("http://h:1/", "outputs/1/2/video.mp4")
    parsed = urlparse(url)
    assert parsed.path == "/files/outputs/1/2/video.mp4"
    query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    exp = int(query["exp"])
    assert exp == clock.now_s() + 60
    assert signer.verify("outputs/1/2/video.mp4", exp, query["sig"])
    assert not signer.verify("outputs/1/2/other.mp4", exp, query["sig"])
    assert not signer.verify("outputs/1/2/video.mp4", exp + 1, query["sig"])
    assert not UrlSigner(b"other", 60).verify("outputs/1/2/video.mp4", exp, query["sig"])
    clock.advance(60)
    assert not signer.expired(exp)  # valid up to its last second
    clock.advance(1)
    assert signer.expired(exp)


def test_ids_are_numeric_unique_and_time_ordered() -> None:
    ids = [new_id() for _ in range(20000)]  # several ms, thousands per ms
    assert len(set(ids)) == 20000
    assert [int(i) for i in ids] == sorted(int(i) for i in ids)
    assert all(i.isdigit() and 18 <= len(i) <= 20 for i in ids)
    earlier = new_id()
    time.sleep(0.002)
    assert int(new_id()) > int(earlier)


def test_field_path() -> None:
    assert field_path(["image_list", 0, "image"]) == "image_list[0].image"
    assert field_path(["dynamic_masks", 2, "trajectories", 1, "x"]) == (
        "dynamic_masks[2].trajectories[1].x"
    )


def test_image_sizes_keep_exact_ratios() -> None:
    for ratio in ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9"):
        a, b = (int(x) for x in ratio.split(":"))
        for resolution, area in (("1k", 1024**2), ("2k", 2048**2)):
            w, h = image_size(ratio, resolution)
            assert w * b == h * a
            assert 0.85 * area < w * h < 1.15 * area


def test_database_url_gets_async_driver() -> None:
    assert (
        Settings(database_url="postgresql://u@h/db").database_url == "postgresql+psycopg://u@h/db"
    )
    assert Settings(database_url="sqlite+aiosqlite:///x.db").database_url == "sqlite:///x.db"
    assert Settings(database_url="").resolved_database_url.startswith("sqlite:///")
