"""Reading the JSON log lines of a server or worker process."""

from __future__ import annotations

import json
from typing import Any


def json_lines(output: str) -> list[dict[str, Any]]:
    """Every non-empty line of ``output`` as a JSON object; a line that is not one fails."""
    records = []
    for line in output.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON log line: {line!r}\n--- output:\n{output}") from None
        assert isinstance(record, dict), line
        for field in ("timestamp", "level", "logger", "message"):
            assert field in record, f"{field} missing: {line}"
        records.append(record)
    return records


def events(records: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [record for record in records if record.get("event") == name]
