"""A resource pack's current period: calendar months (UTC) for monthly packs, the pack's own
validity for one-off packs."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from openreel.store.pack_period import PackPeriod
from openreel.store.usage import PackState, period_of


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


def test_monthly_periods_are_calendar_months_from_the_pack_start() -> None:
    pack = SimpleNamespace(
        period=PackPeriod.MONTHLY, effective_time=ms(2026, 11, 20), invalid_time=None
    )
    # The first period starts with the pack, not with the month.
    assert period_of(pack, ms(2026, 11, 25)) == (ms(2026, 11, 20), ms(2026, 12, 1))
    # December rolls over into January of the next year.
    assert period_of(pack, ms(2026, 12, 31, 23, 59)) == (ms(2026, 12, 1), ms(2027, 1, 1))
    assert period_of(pack, ms(2027, 1, 1)) == (ms(2027, 1, 1), ms(2027, 2, 1))


def test_one_off_packs_keep_their_validity() -> None:
    pack = SimpleNamespace(
        period=PackPeriod.ONCE, effective_time=ms(2026, 1, 1), invalid_time=ms(2027, 1, 1)
    )
    assert period_of(pack, ms(2028, 5, 5)) == (ms(2026, 1, 1), ms(2027, 1, 1))


def test_remaining_never_goes_below_zero() -> None:
    state = PackState("p", "o", "n", PackPeriod.ONCE, 1000, 1500, 0, 0, 10)
    assert state.remaining_milli == 0
