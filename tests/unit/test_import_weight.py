"""The server and the CLI start without loading the heavy media and ML libraries: an API node
or a ``openreel keys`` call pays for none of them (engines load them when they render)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "cv2", "av", "numpy", "diffusers", "transformers")


@pytest.mark.parametrize("module", ["openreel.app", "openreel.cli"])
def test_importing_loads_no_heavy_library(module: str) -> None:
    # A fresh interpreter: this test process has imported all of them already.
    probe = (
        f"import sys, json, {module}; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout) == []


def test_the_worker_process_does_not_load_the_web_app() -> None:
    """``openreel worker`` serves no HTTP: it shares wiring with ``serve``, not the app."""
    probe = (
        "import sys, json, openreel.worker; "
        "print(json.dumps([m for m in ('openreel.app', 'openreel.api', 'fastapi') "
        "if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout) == []
