"""What ``get``, ``wait``, ``download`` and ``cancel`` accept as "the task": a ``Task``, or a
task id string with ``endpoint=`` (a task is found only on the endpoint that created it).

Anything else is a ``TypeError`` that names what was passed, raised before any request, so a
caller never sees an ``AttributeError`` from deep inside a flow.
"""

from __future__ import annotations

from dataclasses import dataclass

from openreel.sdk.models import Endpoint, Task

__all__ = ["TaskRef", "endpoint_of", "task_ref"]

_ENDPOINTS = ", ".join(repr(e.value) for e in Endpoint)


@dataclass(frozen=True)
class TaskRef:
    task_id: str
    endpoint: Endpoint
    task: Task | None  # the Task passed in, when it was one


def endpoint_of(value: object, operation: str) -> Endpoint:
    """``Endpoint`` from an ``Endpoint`` or its name, with a message listing the names."""
    if isinstance(value, Endpoint):
        return value
    if isinstance(value, str):
        try:
            return Endpoint(value)
        except ValueError:
            raise ValueError(
                f"{operation}(): endpoint {value!r} is not one of {_ENDPOINTS}"
            ) from None
    raise TypeError(
        f"{operation}(): endpoint must be an Endpoint or one of {_ENDPOINTS}, "
        f"got {type(value).__name__}"
    )


def task_ref(value: object, endpoint: object, operation: str) -> TaskRef:
    """The task ``value`` designates for ``operation`` (a method name, for the messages)."""
    if isinstance(value, Task):
        if endpoint is not None and endpoint_of(endpoint, operation) is not value.endpoint:
            raise ValueError(
                f"{operation}(): the task is on {value.endpoint.value!r}, "
                f"not on endpoint {endpoint!s}"
            )
        return TaskRef(value.task_id, value.endpoint, value)
    if isinstance(value, str):
        if not value.strip():
            raise ValueError(f"{operation}(): the task id is empty")
        if endpoint is None:
            raise TypeError(
                f"{operation}({value!r}): a task id needs endpoint=, the endpoint that created "
                f"the task (one of {_ENDPOINTS}), e.g. {operation}({value!r}, "
                "endpoint='text2video')"
            )
        return TaskRef(value, endpoint_of(endpoint, operation), None)
    raise TypeError(
        f"{operation}() takes a Task or a task id string, got {type(value).__name__} "
        f"({value!r:.60})"
    )
