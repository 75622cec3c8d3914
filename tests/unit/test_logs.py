"""The JSON formatter: one line per record, the scope's fields, the record's extras."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from openreel.logs import JsonFormatter, add_fields, log_fields


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("openreel.test-logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_scope_fields_extras_and_a_traceback_on_one_line(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    with log_fields(request_id="r-1"):
        add_fields(key_id="k-1")  # known later, e.g. after authentication
        with log_fields(task_id="t-1"):
            logger.info("inner %d", 7, extra={"event": "x.done", "duration_ms": 12})
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
    logger.warning("outside")

    inner, failed, outside = records(stream)
    assert inner["message"] == "inner 7" and inner["level"] == "info"
    assert inner["logger"] == "openreel.test-logs" and str(inner["timestamp"]).endswith("+00:00")
    assert (inner["request_id"], inner["key_id"], inner["task_id"]) == ("r-1", "k-1", "t-1")
    assert (inner["event"], inner["duration_ms"]) == ("x.done", 12)
    assert failed["request_id"] == "r-1" and "task_id" not in failed
    assert "ValueError: boom" in str(failed["exception"])
    assert "request_id" not in outside and "key_id" not in outside
    assert len(stream.getvalue().splitlines()) == 3


def test_add_fields_outside_a_scope_changes_nothing(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    add_fields(key_id="leak")
    logger.info("plain")
    assert "key_id" not in records(stream)[0]
