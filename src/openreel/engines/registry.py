"""The engines this process can run, by name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from openreel.engines.base import Engine
from openreel.engines.diffusers.spec import ModelSpec
from openreel.engines.relay.config import UpstreamConfig


def build_engines(
    diffusers_models: Mapping[str, ModelSpec],
    *,
    runs_jobs: bool = True,
    relay_upstreams: Mapping[str, UpstreamConfig] | None = None,
    allowed_networks: Sequence[str] = (),
    relay_callback_secret: bytes | None = None,
) -> dict[str, Engine]:
    """The classic engine always; the diffusers engine when models are configured for it
        (``EngineConfigError`` naming the problem if its weights are missing, unless this process
        runs no jobs: an API node only needs to know what each model can do); one relay engine,
        ``relay:<name>``, per configured upstream (``relay_callback_secret`` signs the callback URLs
    of those configured with ``callback_base_url``)."""
    from openreel.engines.classic import ClassicEngine

    engines: dict[str, Engine] = {"classic": ClassicEngine()}
    if diffusers_models:
        from openreel.engines.diffusers.engine import DiffusersEngine

        engines["diffusers"] = DiffusersEngine(dict(diffusers_models), check_weights=runs_jobs)
    for name, config in (relay_upstreams or {}).items():
        from openreel.engines.relay.engine import RelayEngine

        relay = RelayEngine(name, config, allowed_networks, relay_callback_secret)
        engines[relay.name] = relay
    return engines
