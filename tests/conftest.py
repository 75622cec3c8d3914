"""Shared fixtures. The whole suite runs on SQLite by default; the tests marked ``db`` run
again on PostgreSQL when OPENREEL_TEST_DATABASE_URL points at a server (a fresh database is
made per test). ``db`` is given by subject, not by reach: a module whose subject is what the
database does (storage, queries, locks, migrations, recovery, scale-out) says
``pytestmark = pytest.mark.db``; a test elsewhere that checks a database rule carries the mark
itself. Tests of a client, the page, an engine or validation store tasks too but run once: the
queries under them are the ones the ``db`` tests check on both databases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openreel.app import create_app
from openreel.auth.keys import IssuedKey
from openreel.clock import SYSTEM_CLOCK, Clock
from openreel.config import Settings
from tests.support.api import Api
from tests.support.helpers import create_pg_database, drop_pg_database, pg_admin_url

# Folders by cost per module, dearest first: the SQLite pass spreads whole modules over its
# processes in this order, so the long ones (server processes, the browser, the wheel) start
# at once and cheap unit modules fill the end, instead of one process finishing a long
# module alone.
_FOLDER_ORDER = ("packaging", "e2e", "thirdparty", "fuzz", "sdk", "integration", "unit")


def _folder_rank(item: pytest.Item) -> int:
    parts = item.path.relative_to(Path(__file__).parent).parts
    return _FOLDER_ORDER.index(parts[0]) if parts[0] in _FOLDER_ORDER else len(_FOLDER_ORDER)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_folder_rank)  # stable: each module keeps its own order


@pytest.fixture
def database_url() -> Iterator[str | None]:
    if pg_admin_url() is None:
        yield None
        return
    url, name = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(name)


@pytest.fixture(scope="module")
def shared_database_url() -> Iterator[str | None]:
    """``database_url`` for one module's shared app."""
    if pg_admin_url() is None:
        yield None
        return
    url, name = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(name)


def settings_for_tests(data_dir: Path, database_url: str | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "workers": 1,
        "poll_interval": 0.05,
        "lease_seconds": 5,
        "signing_secret": "test-signing-secret",
        # Test servers (image hosts, callback receivers) listen on loopback.
        "allowed_networks": ["127.0.0.1/32"],
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str | None) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return settings_for_tests(tmp_path / "data", database_url, **overrides)

    return make


@contextmanager
def app_starter(settings_of: Callable[..., Settings]) -> Iterator[Callable[..., Api]]:
    """``start(engines=, clock=, **overrides)`` -> a running app of ``settings_of(**overrides)``;
    every app started is shut down when the block ends."""
    clients: list[TestClient] = []

    def start(
        engines: dict[str, Any] | None = None, clock: Clock = SYSTEM_CLOCK, **overrides: Any
    ) -> Api:
        client = TestClient(create_app(settings_of(**overrides), engines=engines, clock=clock))
        client.__enter__()
        clients.append(client)
        return Api(client)

    try:
        yield start
    finally:
        for client in clients:
            client.__exit__(None, None, None)


@pytest.fixture
def api_factory(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., Api]]:
    with app_starter(make_settings) as start:
        yield start


@pytest.fixture
def api(api_factory: Callable[..., Api]) -> Api:
    """An app with auth on; the first key created at start-up is discarded."""
    return api_factory()


@pytest.fixture
def key(api: Api) -> IssuedKey:
    return api.new_key()


@pytest.fixture
def headers(api: Api, key: IssuedKey) -> dict[str, str]:
    return api.auth(key)


@pytest.fixture(scope="module")
def shared_api(
    tmp_path_factory: pytest.TempPathFactory, shared_database_url: str | None
) -> Iterator[Api]:
    """One app for a whole module, for tests that only read, or whose writes no other test
    of the module can see (each its own task): booting an app per test is most of their
    time. No workers: its tasks stay queued."""
    data_dir = tmp_path_factory.mktemp("shared-app") / "data"
    with TestClient(
        create_app(settings_for_tests(data_dir, shared_database_url, workers=0))
    ) as client:
        yield Api(client)


@pytest.fixture(scope="module")
def module_api_factory(
    tmp_path_factory: pytest.TempPathFactory, shared_database_url: str | None
) -> Iterator[Callable[..., Api]]:
    """``api_factory`` for an app a whole module shares, workers included: for tests whose
    tasks are each their own (e.g. the diffusers ones, whose engine child process loads its
    models once per app)."""

    def settings_of(**overrides: Any) -> Settings:
        data_dir = tmp_path_factory.mktemp("module-app") / "data"
        return settings_for_tests(data_dir, shared_database_url, **overrides)

    with app_starter(settings_of) as start:
        yield start


@pytest.fixture(scope="module")
def shared_headers(shared_api: Api) -> dict[str, str]:
    return shared_api.auth(shared_api.new_key())
