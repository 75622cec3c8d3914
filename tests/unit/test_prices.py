"""The price table: Kling's published unit prices, the assumed ones, per-image counts,
``OPENREEL_PRICES`` overrides (inline JSON, a file, TOML-like dicts), and the string form
of ``final_unit_deduction`` (also in callbacks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from openreel.callbacks.sender import callback_body
from openreel.config import Settings
from openreel.store.outbox import snapshot
from openreel.tasks.prices import FALLBACK, Priced, PriceTable, format_units, milli, parse_units
from openreel.wire.families import TaskKind

I2V = TaskKind.IMAGE2VIDEO
T2V = TaskKind.TEXT2VIDEO
T2I = TaskKind.IMAGE_GENERATION
MI2I = TaskKind.MULTI_IMAGE2IMAGE


def units(table: PriceTable, task: Priced) -> str:
    return format_units(table.price(task))


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        # Published per-second prices (Kling pricing page, video).
        (Priced(I2V, "kling-v2-5-turbo", "std", 5), "1.5"),
        (Priced(I2V, "kling-v2-5-turbo", "pro", 5), "2.5"),
        (Priced(T2V, "kling-v2-5-turbo", "pro", 10), "5"),
        (Priced(T2V, "kling-v2-6", "std", 5), "1.5"),
        (Priced(T2V, "kling-v2-6", "pro", 5, sound=True), "5"),
        (Priced(I2V, "kling-v3", "std", 5), "3"),
        (Priced(I2V, "kling-v3", "pro", 10), "8"),
        # Assumed per-5-second prices of the older models.
        (Priced(I2V, "kling-v1", "std", 5), "1"),
        (Priced(I2V, "kling-v1", "pro", 10), "7"),
        (Priced(TaskKind.MULTI_IMAGE2VIDEO, "kling-v1-6", "std", 5), "2"),
        (Priced(I2V, "kling-v2-master", "std", 10), "20"),
        # Images: per image, times n (published for kling-v2-1, v3, v3-omni, image-o1).
        (Priced(T2I, "kling-v2-1", images=3), "12"),
        (Priced(T2I, "kling-v2-1", images=2, has_reference_image=True), "16"),
        (Priced(MI2I, "kling-v2-1", images=2), "32"),
        (Priced(T2I, "kling-v3", images=1), "8"),
        (Priced(T2I, "kling-image-o1", images=4), "32"),
        (Priced(T2I, "kling-v1", images=9), "9"),
        # Any other name: the fallback (priced like kling-v1).
        (Priced(I2V, "my-wan", "std", 5), "1"),
        (Priced(T2I, "my-flux", images=2), "2"),
    ],
)
def test_built_in_prices(task: Priced, expected: str) -> None:
    assert units(PriceTable(), task) == expected


def test_sound_on_a_model_without_an_audio_price_costs_the_mode_price() -> None:
    assert units(PriceTable(), Priced(T2V, "kling-v2-5-turbo", "pro", 5, sound=True)) == "2.5"


def test_units_are_exact_thousandths_in_kling_string_form() -> None:
    from decimal import Decimal

    assert milli(Decimal("0.3") * 5) == 1500
    assert [format_units(m) for m in (0, 1000, 1500, 250, 12000, 1)] == [
        "0",
        "1",
        "1.5",
        "0.25",
        "12",
        "0.001",
    ]


def test_overrides_merge_per_model_and_key() -> None:
    settings = Settings.model_validate(
        {
            "prices": {
                "kling-v1": {"per_second": {"std": 0.5}},
                "my-wan": {"per_second": {"std": "0.05"}},
                FALLBACK: {"per_image": {"text2image": 2}},
            }
        }
    )
    table = PriceTable(settings.prices)
    assert units(table, Priced(I2V, "kling-v1", "std", 5)) == "2.5"
    assert units(table, Priced(I2V, "kling-v1", "pro", 5)) == "3.5"  # kept
    assert units(table, Priced(I2V, "my-wan", "std", 10)) == "0.5"
    assert units(table, Priced(I2V, "my-wan", "pro", 5)) == "3.5"  # the fallback's pro
    assert units(table, Priced(T2I, "my-flux", images=3)) == "6"
    assert units(PriceTable(), Priced(I2V, "kling-v1", "std", 5)) == "1"  # defaults untouched


def test_openreel_prices_from_the_environment_inline_or_a_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    inline = {"kling-v3": {"per_image": {"text2image": 10}}}
    monkeypatch.setenv("OPENREEL_PRICES", json.dumps(inline))
    assert units(PriceTable(Settings().prices), Priced(T2I, "kling-v3", images=2)) == "20"

    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"kling-v2-6": {"per_second": {"pro+sound": 2}}}))
    monkeypatch.setenv("OPENREEL_PRICES", str(path))
    table = PriceTable(Settings().prices)
    assert units(table, Priced(T2V, "kling-v2-6", "pro", 5, sound=True)) == "10"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/no/such/prices.json", "cannot read"),
        ("{not json", "not valid JSON"),
        ('{"kling-v1": {"per_minute": {"std": 1}}}', "per_minute"),
        ('{"kling-v1": {"per_second": {"std": "cheap"}}}', "std"),
    ],
)
def test_bad_openreel_prices_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("OPENREEL_PRICES", value)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_callbacks_carry_final_unit_deduction() -> None:
    row = {
        "id": "7",
        "family": "videos/image2video",
        "status": "succeed",
        "status_msg": "",
        "progress": 100,
        "external_task_id": None,
        "result": {"videos": [{"id": "v", "key": "results/7/v.mp4", "duration": "5"}]},
        "created_at": 1,
        "updated_at": 2,
        "callback_base_url": "http://h/",
        "params": {"callback_url": "http://h/cb"},
        "price_milli": 3500,
    }
    body = json.loads(callback_body(snapshot(row), lambda key, base: f"{base}{key}"))
    assert body["final_unit_deduction"] == "3.5"
    failed = json.loads(callback_body(snapshot({**row, "status": "failed"}), lambda k, b: k))
    assert failed["final_unit_deduction"] == "0"
    running = json.loads(callback_body(snapshot({**row, "status": "processing"}), lambda k, b: k))
    assert "final_unit_deduction" not in running


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 1000), ("2.5", 2500), (" 0.25 ", 250), ("0", 0), ("0.0005", 1), ("12", 12000)],
)
def test_upstream_units_parse_to_exact_thousandths(text: str, expected: int) -> None:
    assert parse_units(text) == expected
    assert parse_units(format_units(expected)) == expected


@pytest.mark.parametrize("text", ["", "lots", "-1", "NaN", "Infinity", "1,5"])
def test_unreadable_upstream_units_are_none(text: str) -> None:
    assert parse_units(text) is None
