"""The one place where the errors of the layers below become Kling's (see ``openreel.errors``
for the whole tree)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from openreel.errors import InputError
from openreel.store.usage import QuotaExceeded
from openreel.tasks.prices import format_units
from openreel.wire.errors import ErrorCode, KlingError, illegal


def as_kling_error(exc: InputError) -> KlingError:
    """An input the rules refuse is Kling's 1201, ``"<field>: <rule>"``."""
    return illegal(exc.field, exc.rule)


def pack_refusal(exc: QuotaExceeded) -> KlingError:
    """Kling's "resource pack exhausted/expired" (HTTP 429, code 1102)."""
    return KlingError(
        ErrorCode.RESOURCE_PACK_EXHAUSTED,
        f"{exc.reason}: {format_units(exc.remaining_milli)} units left, this task costs "
        f"{format_units(exc.price_milli)} (openreel keys quota)",
    )


@contextmanager
def kling_errors() -> Iterator[None]:
    """Re-raise the ``InputError`` of media/ and net/ inside the block as a ``KlingError``,
    and a resource pack's refusal as Kling's 1102."""
    try:
        yield
    except InputError as exc:
        raise as_kling_error(exc) from exc
    except QuotaExceeded as exc:
        raise pack_refusal(exc) from None
