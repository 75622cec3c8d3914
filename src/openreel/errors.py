"""``InputError``, the error of the layers that know nothing of Kling's wire, and the map of
every exception openreel raises on purpose.

``media/`` and ``net/`` refuse an input with ``InputError(field, rule)``; the service and the
render turn it into Kling's 1201 at their boundary (``tasks.errors.kling_errors``, after
httpx's ``map_httpcore_exceptions``), so those layers never import the wire.

    Exception
    ├── InputError(field, rule)        errors: an input the rules refuse ("<field>: <rule>")
    │   ├── UrlRefused                 net.safe_http: this URL may never be fetched
    │   └── FetchFailed                net.safe_http: this fetch failed; another may pass
    ├── KlingError(code, message)      wire.errors: what a client sees (code, message, HTTP
    │                                  status, headers); from InputError by tasks.errors,
    │                                  from pydantic's ValidationError by wire.parsing
    ├── EngineError                    engines.base: a render failed; the task ends failed
    │   └── (diffusers) AdapterError,  with the message
    │       EngineConfigError
    ├── PlanError(ValueError)          tasks.plan: a stored plan of an unknown version
    ├── RenderCancelled                render: stops a render from its progress callback
    ├── HandedBack, WorkerStopped      queue.jobs: Procrastinate job control
    ├── DuplicateKey                   store.prepared: a unique key already taken
    ├── QuotaExceeded                  store.usage: a create its key's resource pack cannot
    │                                  pay for; Kling's 1102 by tasks.errors
    ├── MissingExtra(RuntimeError)     extras: an optional package the settings need
    └── OpenreelError                  sdk.errors: the client's tree (AuthenticationError,
                                       InvalidRequestError, TaskFailedError, ...)
"""

from __future__ import annotations


class InputError(Exception):
    """An input refused by a rule: ``field`` names it as the request does (``image_list[0]
    .image``), ``rule`` says what it breaks."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule

    @property
    def message(self) -> str:
        return f"{self.field}: {self.rule}"
