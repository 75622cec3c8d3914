"""Schemathesis against a live ``openreel serve`` process, from its own ``/openapi.json``.

Every operation gets generated requests (valid and invalid bodies, paths and queries, with a
real key); no answer may be a server error (``not_a_server_error``), and every error must be
Kling's envelope (``tests/support/kling_checks.py``). Examples are bounded
(``OPENREEL_FUZZ_EXAMPLES``, default 30 per operation, deterministic) so the run stays within a
few minutes on a 2-core machine. The server runs no workers: created tasks stay queued, so the
run exercises the API, not the renders.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.helpers import pg_admin_url
from tests.support.server import running_server

pytestmark = pytest.mark.skipif(
    pg_admin_url() is not None,
    reason="fuzzes the HTTP layer: runs once, in the SQLite pass of make test",
)
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = os.environ.get("OPENREEL_FUZZ_EXAMPLES", "30")


def test_schemathesis_finds_no_server_error_and_only_kling_errors(tmp_path: Path) -> None:
    with running_server(tmp_path / "data", args=["--no-workers"]) as server:
        key = server.printed_key()
        result = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                f"{server.url}/openapi.json",
                "--checks",
                "not_a_server_error,kling_error_envelope",
                "--max-examples",
                EXAMPLES,
                "--generation-deterministic",
                "--workers",
                "1",
                "--request-timeout",
                "30",
                "--header",
                f"Authorization: Bearer {key}",
                "--report",
                "junit",
                "--report-dir",
                str(tmp_path / "report"),
            ],
            env={
                **os.environ,
                "SCHEMATHESIS_HOOKS": "tests.support.kling_checks",
                "PYTHONPATH": os.pathsep.join(
                    filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
                ),
            },
            cwd=tmp_path,  # Schemathesis keeps a cache folder in its working directory
            capture_output=True,
            text=True,
            timeout=600,
        )
        server_log = "".join(server.output)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "Traceback" not in server_log, server_log[-4000:]
    # Every operation of the document was exercised, and every case passed both checks.
    selected = re.search(r"Selected: (\d+)/(\d+)", output)
    tested = re.search(r"Tested: (\d+)", output)
    cases = re.search(r"(\d+) generated, (\d+) passed", output)
    assert selected and tested and cases, output[-3000:]
    assert selected.group(1) == selected.group(2) == tested.group(1), output[-3000:]
    assert int(tested.group(1)) >= 8 and cases.group(1) == cases.group(2), output[-3000:]
