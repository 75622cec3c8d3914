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


def test_plain_lines_mask_url_secrets_and_show_openreel_fields() -> None:
    """``openreel serve``'s plain config: uvicorn's access line without link signatures or
    callback tokens, and openreel's INFO records with their fields."""
    import logging.config

    from openreel.logs import plain_config, redact_path

    assert redact_path("/files/a/b.mp4?exp=17&sig=abc123") == "/files/a/b.mp4?exp=17&sig=***"
    assert redact_path("/files/a.png?sig=abc&exp=1") == "/files/a.png?sig=***&exp=1"
    assert (
        redact_path("/openreel/v1/relay/callbacks/7534/tok3n")
        == "/openreel/v1/relay/callbacks/7534/***"
    )
    assert redact_path("/v1/videos/image2video?pageNum=2") == "/v1/videos/image2video?pageNum=2"

    stream = io.StringIO()
    config = plain_config()
    for handler in config["handlers"].values():
        handler["stream"] = stream
    names = ("openreel", "openreel.access", "uvicorn", "uvicorn.access", "uvicorn.error")
    saved = {
        name: (logger.handlers[:], logger.level, logger.propagate, logger.disabled)
        for name in names
        for logger in [logging.getLogger(name)]
    }
    logging.config.dictConfig(config)
    try:
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5",
            "GET",
            "/files/x.mp4?exp=1&sig=s3cr3t",
            "1.1",
            200,
        )
        with log_fields(task_id="t-9"):
            logging.getLogger("openreel.render").info("render finished", extra={"status": "ok"})
        logging.getLogger("openreel.access").info("not shown: uvicorn's line says it")
    finally:  # the loggers as the other tests expect them
        for name, (handlers, level, propagate, disabled) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate, logger.disabled = propagate, disabled
    lines = stream.getvalue().splitlines()
    assert any('"GET /files/x.mp4?exp=1&sig=*** HTTP/1.1" 200' in line for line in lines), lines
    assert "s3cr3t" not in stream.getvalue()
    assert any(
        "render finished" in line and "task_id=t-9" in line and "status=ok" in line
        for line in lines
    ), lines
    assert not any("not shown" in line for line in lines)
