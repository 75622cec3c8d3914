"""The test suite's own layout: a test module imports shared code only from tests/support/
(helpers, runners, servers) and tests/fakes/ (fake engines and tiny pipelines, which the
server processes started by the tests also import by name); it never imports a name from
another test module or a conftest (fixtures are injected, not imported). Every module that
is neither a test module, a conftest nor a package marker lives in one of those two folders."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
SHARED = ("tests.support", "tests.fakes")


def _modules() -> list[Path]:
    return sorted(TESTS.rglob("*.py"))


def _is_shared(path: Path) -> bool:
    return path.relative_to(TESTS).parts[0] in {"support", "fakes"}


def _imported(source: str, path: Path) -> list[str]:
    """The ``tests...`` modules that ``source``, as the module at ``path``, imports (relative
    imports resolved against its package)."""
    package = ["tests", *path.relative_to(TESTS).parent.parts]
    found: list[str] = []
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                found.append(".".join([*base, node.module] if node.module else base))
            elif node.module:
                found.append(node.module)
    return [name for name in found if name == "tests" or name.startswith("tests.")]


def test_no_module_imports_another_test_module() -> None:
    wrong = [
        f"{path.relative_to(TESTS.parent)} imports {name}"
        for path in _modules()
        for name in _imported(path.read_text(), path)
        if not any(name == shared or name.startswith(shared + ".") for shared in SHARED)
    ]
    assert wrong == [], "import shared code from tests/support/ only:\n" + "\n".join(wrong)


def test_helper_modules_live_in_support_or_fakes() -> None:
    stray = [
        str(path.relative_to(TESTS.parent))
        for path in _modules()
        if not path.name.startswith("test_")
        and path.name not in {"conftest.py", "__init__.py"}
        and not _is_shared(path)
    ]
    assert stray == [], "move shared helpers to tests/support/:\n" + "\n".join(stray)


def test_the_scan_resolves_absolute_and_relative_imports() -> None:
    source = (
        "import os\n"
        "from tests.integration.test_contract import i2v_body\n"
        "from .test_files import PATH\n"
        "from ..support import helpers\n"
    )
    probe = TESTS / "integration" / "test_probe.py"
    assert _imported(source, probe) == [
        "tests.integration.test_contract",
        "tests.integration.test_files",
        "tests.support",
    ]


# A test that only runs against PostgreSQL says so with one of these tests of the fixtures.
_NEEDS_POSTGRESQL = ("pg_admin_url() is None", "database_url is None")


def test_tests_that_need_postgresql_are_marked_db() -> None:
    """The PostgreSQL pass selects ``-m db`` only: a PostgreSQL-only test without the mark
    would be skipped on SQLite and never selected on PostgreSQL, so it would run nowhere."""
    unmarked = [
        str(path.relative_to(TESTS.parent))
        for path in _modules()
        if path.name.startswith("test_")
        and any(needs in (source := path.read_text()) for needs in _NEEDS_POSTGRESQL)
        and "pytest.mark.db" not in source
    ]
    assert unmarked == [], "mark the PostgreSQL-only tests with pytest.mark.db:\n" + "\n".join(
        unmarked
    )
