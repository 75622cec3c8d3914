"""Which optional packages a configuration needs, checked before anything starts.

The base install serves the classic engine on SQLite. PostgreSQL, the Procrastinate queue, S3
and the diffusers engine each need an extra; without it a start-up would fail deep inside an
import. ``require_extras`` names the setting and the extra instead, and the CLI prints that one
line and exits 2 (a configuration error, like a bad setting).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from openreel.config import Settings

__all__ = ["MissingExtra", "missing_extras", "require_extras"]


class MissingExtra(RuntimeError):
    """A setting asks for a package that is not installed."""


@dataclass(frozen=True)
class _Need:
    setting: str
    modules: tuple[str, ...]
    extra: str


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _needs(settings: Settings, *, runs_jobs: bool) -> list[_Need]:
    needs: list[_Need] = []
    if settings.queue == "procrastinate":
        needs.append(_Need("OPENREEL_QUEUE=procrastinate", ("procrastinate", "psycopg"), "scale"))
    if settings.blobs:
        needs.append(_Need("OPENREEL_BLOBS=s3://...", ("boto3",), "scale"))
    if not settings.is_sqlite:
        needs.append(_Need("OPENREEL_DATABASE_URL=postgresql://...", ("psycopg",), "postgres"))
    if settings.diffusers_models and runs_jobs:
        # API nodes only read the models' capabilities; the processes that render load them.
        needs.append(
            _Need(
                "OPENREEL_DIFFUSERS_MODELS",
                ("torch", "diffusers", "transformers", "accelerate"),
                "gpu",
            )
        )
    return needs


def missing_extras(settings: Settings, *, runs_jobs: bool) -> list[str]:
    """One message per setting whose packages are missing (empty: all installed)."""
    messages = []
    for need in _needs(settings, runs_jobs=runs_jobs):
        absent = [module for module in need.modules if not _installed(module)]
        if absent:
            verb = "is" if len(absent) == 1 else "are"
            messages.append(
                f"{need.setting} needs {', '.join(absent)}, which {verb} not installed: "
                f"pip install 'openreel[{need.extra}]'"
            )
    return messages


def require_extras(settings: Settings, *, runs_jobs: bool) -> None:
    """Raise ``MissingExtra`` with the first missing package's message."""
    missing = missing_extras(settings, runs_jobs=runs_jobs)
    if missing:
        raise MissingExtra(missing[0])
