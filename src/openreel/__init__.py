"""openreel: a self-hosted server that speaks the Kling generation API wire format, and the
Python SDK for it (``from openreel import Client, AsyncClient``)."""

from __future__ import annotations

__version__ = "0.1.0"

# After __version__, which the server imports. The SDK's names are the package's names.
from openreel import sdk as _sdk  # noqa: E402
from openreel.sdk import *  # noqa: E402, F403

__all__ = ["__version__", *_sdk.__all__]
