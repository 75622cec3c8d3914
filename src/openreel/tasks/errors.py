"""The one place where the errors of the layers below become Kling's (see ``openreel.errors``
for the whole tree)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from openreel.errors import InputError
from openreel.wire.errors import KlingError, illegal


def as_kling_error(exc: InputError) -> KlingError:
    """An input the rules refuse is Kling's 1201, ``"<field>: <rule>"``."""
    return illegal(exc.field, exc.rule)


@contextmanager
def kling_errors() -> Iterator[None]:
    """Re-raise the ``InputError`` of media/ and net/ inside the block as a ``KlingError``."""
    try:
        yield
    except InputError as exc:
        raise as_kling_error(exc) from exc
