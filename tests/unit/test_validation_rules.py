"""The validation battery through the domain, without HTTP: every case of
tests/support/validation_cases.py goes through ``TaskService.create`` (parsing, Kling's
per-model rules, routing, address checks, image decoding) and is refused with its Kling code
and a message naming the field and the rule; nothing is stored and no input file is left.
The mapping of these errors to HTTP statuses and envelopes is tested in
tests/integration/test_validation.py."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from openreel.blobs.local import LocalBlobStore
from openreel.config import DEFAULT_ROUTES
from openreel.engines.registry import build_engines
from openreel.net.addresses import AddressPolicy
from openreel.net.safe_http import SafeHttp
from openreel.store.client_tasks import ClientTasks
from openreel.store.db import Database
from openreel.tasks.routing import EngineRouter
from openreel.tasks.service import TaskService
from openreel.wire.errors import ErrorCode, KlingError
from openreel.wire.families import Family, Prefix
from tests.support.validation_cases import CASES, case_id, family_and_prefix

OWNER = "owner-1"


@dataclass
class Domain:
    """The task service over a SQLite file and a blob folder, run on one event loop."""

    runner: asyncio.Runner
    service: TaskService
    inputs: Path

    def run(self, coro: Any) -> Any:
        return self.runner.run(coro)


async def _no_cancel(task_id: str, message: str) -> bool:
    raise AssertionError("no test here cancels")


async def _no_stop(task_id: str) -> None:
    raise AssertionError("no test here cancels")


@pytest.fixture(scope="module")
def domain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Domain]:
    root = tmp_path_factory.mktemp("domain")
    with asyncio.Runner() as runner:
        db = Database(f"sqlite:///{root / 'openreel.db'}")
        runner.run(db.migrate())
        blobs = LocalBlobStore(root / "blobs")
        service = TaskService(
            ClientTasks(db),
            EngineRouter(build_engines({}), dict(DEFAULT_ROUTES)),
            blobs,
            SafeHttp(AddressPolicy.from_cidrs(["127.0.0.1/32"])),
            end_task=_no_cancel,
            stop_render=_no_stop,
        )
        yield Domain(runner, service, root / "blobs" / "inputs")
        runner.run(db.dispose())


@pytest.mark.parametrize(
    ("path", "body", "code", "text"), CASES, ids=[case_id(i, c) for i, c in enumerate(CASES)]
)
def test_rule(domain: Domain, path: str, body: dict[str, Any], code: int, text: str) -> None:
    family, prefix = family_and_prefix(path)
    with pytest.raises(KlingError) as refused:
        domain.run(domain.service.create(OWNER, family, prefix, body, "http://testserver/"))
    error = refused.value
    assert error.code == code, error.message
    assert error.http_status == (404 if code == ErrorCode.NOT_FOUND else 400)
    assert text in error.message, error.message
    # Nothing was created and no input file was kept.
    assert domain.run(domain.service.page(OWNER, family, 1, 500)) == []
    assert not domain.inputs.exists() or not any(domain.inputs.rglob("*.*"))


def test_every_family_and_prefix_of_the_table_is_routed() -> None:
    """The table reaches every family under both prefixes."""
    seen = {family_and_prefix(path) for path, *_ in CASES}
    assert seen >= {(family, prefix) for family in Family for prefix in Prefix} - {
        # Kling's own path for subjects is images/multi-image2image; CometAPI's is
        # images/generations with subject_image_list (in the table under both names).
        (Family.MULTI_IMAGE2IMAGE, Prefix.COMETAPI)
    }
