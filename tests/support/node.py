"""Node.js for the third-party client tests: the system ``node`` and ``npm``, and ``npm ci``
of a test folder's package-lock.json into that folder's node_modules (git-ignored, kept between
runs while the lock is unchanged; concurrent test processes, such as make test's two passes,
take turns). When node or npm is missing the tests skip, except in CI
(``CI=true``), where they fail.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

# Written into node_modules after a complete `npm ci`: the digest of the lock it installed.
STAMP = ".openreel-lock-sha256"


def node_tools() -> tuple[str, str]:
    """(node, npm) executables, or skip (fail in CI) when either is not installed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm:
        return node, npm
    message = "node and npm are needed for the third-party client tests (Node.js >= 18)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def npm_ci(folder: Path, npm: str) -> Path:
    """Install ``folder``'s package-lock.json exactly (npm ci) unless node_modules already
    holds that lock; returns node_modules."""
    modules = folder / "node_modules"
    lock = folder / "package-lock.json"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    stamp = modules / STAMP
    with lock.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # npm ci empties node_modules first: one at a time
        if stamp.is_file() and stamp.read_text() == digest:
            return modules
        result = subprocess.run(
            [npm, "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"
        stamp.write_text(digest)
    return modules
