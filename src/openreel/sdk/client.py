"""``Client`` (sync) and ``AsyncClient``: the same operations (``flows``) over httpx.

Example::

    from openreel import Client

    client = Client("http://127.0.0.1:8000", api_key="or_...")
    task = client.image2video("cat.jpg", prompt="the cat turns its head", duration=5)
    task = client.wait(task, on_progress=lambda t: print(t.task_status, t.progress))
    client.download(task, "cat.mp4")
    # or all at once:
    client.run("image2video", "cat.jpg", prompt="...", output="cat.mp4")
    # a task id instead of a Task names its endpoint:
    client.wait("7534...", endpoint="text2video")
"""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, Unpack, cast

import httpx

from openreel.sdk import flows
from openreel.sdk.bodies import (
    Image2VideoParams,
    ImagesParams,
    MultiImage2ImageParams,
    MultiImage2VideoParams,
    Text2VideoParams,
    image2video_body,
    images_body,
    multi_image2image_body,
    multi_image2video_body,
    text2video_body,
)
from openreel.sdk.config import ClientConfig, resolve_config
from openreel.sdk.flows import Answer, Broken, Call, Fetch, Fetched, Flow, Sleep
from openreel.sdk.inputs import ImageInput
from openreel.sdk.models import Endpoint, Task
from openreel.sdk.refs import endpoint_of, task_ref
from openreel.wire.account import AccountCosts

__all__ = ["AsyncClient", "Client", "RunResult"]

T = TypeVar("T")
EndpointName = Endpoint | str
TaskOrId = Task | str
ProgressFn = Callable[[Task], None]


@dataclass(frozen=True)
class RunResult:
    task: Task
    files: builtins.list[Path]


def _headers(response: httpx.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items()}


def _answer(response: httpx.Response) -> Answer:
    try:
        body = response.json()
    except ValueError:
        body = None
    return Answer(response.status_code, body, _headers(response))


def _broken(exc: httpx.TransportError) -> Broken:
    return Broken(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def _range(fetch: Fetch) -> dict[str, str]:
    # identity: byte offsets must count what is stored, not a compressed stream.
    headers = {"Accept-Encoding": "identity"}
    if fetch.offset:
        headers["Range"] = f"bytes={fetch.offset}-"
    return headers


class _Base:
    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str | None = None,
        max_retries: int = 3,
    ) -> None:
        self.config: ClientConfig = resolve_config(
            base_url, api_key, access_key, secret_key, prefix
        )
        self.policy = flows.RetryPolicy(retries=max_retries)

    def _create_flow(self, endpoint: Endpoint, body: dict[str, Any]) -> Flow[Task]:
        return flows.create(self.config, endpoint, body, self.policy)

    def _any_create_flow(
        self, endpoint: Endpoint, inputs: Any, params: dict[str, Any]
    ) -> Flow[Task]:
        if endpoint is Endpoint.IMAGE2VIDEO:
            body = image2video_body(inputs, cast(Image2VideoParams, params))
        elif endpoint is Endpoint.TEXT2VIDEO:
            body = text2video_body(inputs, cast(Text2VideoParams, params))
        elif endpoint is Endpoint.IMAGE_GENERATION:
            body = images_body(inputs, cast(ImagesParams, params))
        elif endpoint is Endpoint.MULTI_IMAGE2VIDEO:
            body = multi_image2video_body(inputs, cast(MultiImage2VideoParams, params))
        else:
            body = self._mi2i_body(inputs, cast(MultiImage2ImageParams, params))
        return self._create_flow(endpoint, body)

    def _mi2i_body(
        self, subjects: Sequence[ImageInput], params: MultiImage2ImageParams
    ) -> dict[str, Any]:
        return multi_image2image_body(subjects, params, comet_style=self.config.comet_style)

    def _get_flow(self, task: object, endpoint: object) -> Flow[Task]:
        ref = task_ref(task, endpoint, "get")
        return flows.get(self.config, ref.endpoint, ref.task_id, self.policy)

    def _cancel_flow(self, task: object, endpoint: object) -> Flow[Task]:
        ref = task_ref(task, endpoint, "cancel")
        return flows.cancel(self.config, ref.endpoint, ref.task_id, self.policy)

    def _list_flow(self, endpoint: object, page: int, page_size: int) -> Flow[builtins.list[Task]]:
        where = endpoint_of(endpoint, "list")
        return flows.list_page(self.config, where, page, page_size, self.policy)

    def _account_flow(
        self, start_time: int | None, end_time: int | None, name: str | None
    ) -> Flow[AccountCosts]:
        end = end_time if end_time is not None else time.time_ns() // 1_000_000
        start = start_time if start_time is not None else 0
        return flows.account_costs(self.config, start, end, name, self.policy)

    def _wait_options(
        self, timeout: float | None, on_progress: ProgressFn | None, raise_on_failure: bool
    ) -> flows.WaitOptions:
        return flows.WaitOptions(
            timeout=timeout, on_progress=on_progress, raise_on_failure=raise_on_failure
        )


class Client(_Base):
    """Synchronous client. Arguments (else the environment): ``base_url``
    (``OPENREEL_BASE_URL``), ``api_key`` (``OPENREEL_API_KEY``), or Kling's ``access_key`` and
    ``secret_key`` (``KLING_ACCESS_KEY``, ``KLING_SECRET_KEY``)."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            base_url,
            api_key,
            access_key=access_key,
            secret_key=secret_key,
            prefix=prefix,
            max_retries=max_retries,
        )
        self._http = http_client or httpx.Client(timeout=timeout, follow_redirects=True)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ endpoints

    def image2video(
        self, image: ImageInput | None = None, **params: Unpack[Image2VideoParams]
    ) -> Task:
        """Create an image-to-video task (``image``, or only ``image_tail``)."""
        return self._drive(self._create_flow(Endpoint.IMAGE2VIDEO, image2video_body(image, params)))

    def text2video(self, prompt: str | None = None, **params: Unpack[Text2VideoParams]) -> Task:
        """Create a text-to-video task (``aspect_ratio`` 16:9, 9:16 or 1:1)."""
        return self._drive(self._create_flow(Endpoint.TEXT2VIDEO, text2video_body(prompt, params)))

    def images(self, prompt: str | None = None, **params: Unpack[ImagesParams]) -> Task:
        """Create a text-to-image task, or image-to-image from one reference ``image``
        (``image_reference`` "subject" or "face"). Subjects: ``multi_image2image``."""
        body = images_body(prompt, params)
        return self._drive(self._create_flow(Endpoint.IMAGE_GENERATION, body))

    def multi_image2video(
        self, images: Sequence[ImageInput], **params: Unpack[MultiImage2VideoParams]
    ) -> Task:
        """Create a multi-image-to-video (Elements) task from 1 to 4 images."""
        body = multi_image2video_body(images, params)
        return self._drive(self._create_flow(Endpoint.MULTI_IMAGE2VIDEO, body))

    def multi_image2image(
        self, subjects: Sequence[ImageInput], **params: Unpack[MultiImage2ImageParams]
    ) -> Task:
        """Create a multi-image-to-image task: subjects on ``scene``, styled after ``style``."""
        body = self._mi2i_body(subjects, params)
        return self._drive(self._create_flow(Endpoint.MULTI_IMAGE2IMAGE, body))

    # ------------------------------------------------------------------ tasks

    def get(self, task: TaskOrId, endpoint: EndpointName | None = None) -> Task:
        """The current state of a task: a ``Task``, or a ``task_id`` / ``external_task_id``
        with the ``endpoint`` that created it."""
        return self._drive(self._get_flow(task, endpoint))

    def cancel(self, task: TaskOrId, *, endpoint: EndpointName | None = None) -> Task:
        """Cancel a submitted or processing task (it ends ``failed``); openreel only."""
        return self._drive(self._cancel_flow(task, endpoint))

    def list(
        self, endpoint: EndpointName = Endpoint.IMAGE2VIDEO, page: int = 1, page_size: int = 30
    ) -> builtins.list[Task]:
        """One page of tasks, newest first."""
        return self._drive(self._list_flow(endpoint, page, page_size))

    def iterate(
        self, endpoint: EndpointName = Endpoint.IMAGE2VIDEO, page_size: int = 100
    ) -> Iterator[Task]:
        """Every task of an endpoint, newest first, page by page."""
        page = 1
        while True:
            tasks = self.list(endpoint, page, page_size)
            yield from tasks
            if len(tasks) < page_size:
                return
            page += 1

    def wait(
        self,
        task: TaskOrId,
        *,
        endpoint: EndpointName | None = None,
        timeout: float | None = 600.0,
        on_progress: ProgressFn | None = None,
        raise_on_failure: bool = True,
    ) -> Task:
        """Poll (with growing intervals) until the task ends or ``timeout`` seconds pass."""
        ref = task_ref(task, endpoint, "wait")
        options = self._wait_options(timeout, on_progress, raise_on_failure)
        start = self._drive(flows.current(self.config, ref, self.policy))
        return self._drive(flows.wait(self.config, start, options, self.policy))

    def download(
        self,
        task: TaskOrId,
        dest: str | Path | None = None,
        *,
        endpoint: EndpointName | None = None,
    ) -> builtins.list[Path]:
        """Save the task's results (a file path for one result, else a directory)."""
        ref = task_ref(task, endpoint, "download")
        found = self._drive(flows.current(self.config, ref, self.policy))
        dest_path = Path(dest) if dest is not None else None
        return [
            self._drive(flows.download(url, path, kind, self.policy))
            for url, path, kind in flows.download_targets(found, dest_path)
        ]

    def run(
        self,
        endpoint: EndpointName,
        inputs: Any,
        output: str | Path | None = None,
        timeout: float | None = 600.0,
        on_progress: ProgressFn | None = None,
        **params: Any,
    ) -> RunResult:
        """Create, wait and download in one call: ``run("image2video", "cat.jpg", ...)``;
        ``inputs`` is what the endpoint's method takes first (one image, a list of images,
        or the prompt of ``text2video`` and ``image_generation``)."""
        flow = self._any_create_flow(endpoint_of(endpoint, "run"), inputs, params)
        created = self._drive(flow)
        task = self.wait(created, timeout=timeout, on_progress=on_progress)
        return RunResult(task, self.download(task, output))

    # ------------------------------------------------------------------ account

    def account_costs(
        self,
        start_time: int | None = None,
        end_time: int | None = None,
        resource_pack_name: str | None = None,
    ) -> AccountCosts:
        """The key's resource packs (``GET /account/costs``) valid between ``start_time``
        and ``end_time`` (epoch ms; default: from 0 to now). Also a credentials check."""
        return self._drive(self._account_flow(start_time, end_time, resource_pack_name))

    # ------------------------------------------------------------------ I/O

    def _drive(self, flow: Flow[T]) -> T:
        outcome: Any = None
        try:
            while True:
                outcome = self._perform(flow.send(outcome))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def _perform(self, op: flows.Op) -> flows.Outcome:
        if isinstance(op, Sleep):
            time.sleep(op.seconds)
            return None
        if isinstance(op, Call):
            try:
                response = self._http.request(
                    op.method, op.url, json=op.json, params=op.params,
                    headers=self.config.auth_header(),
                )  # fmt: skip
            except httpx.TransportError as exc:
                return _broken(exc)
            return _answer(response)
        return self._fetch(op)

    def _fetch(self, op: Fetch) -> flows.Outcome:
        try:
            with self._http.stream("GET", op.url, headers=_range(op)) as response:
                if response.status_code in (200, 206):
                    mode = "ab" if response.status_code == 206 else "wb"
                    with op.path.open(mode) as file:
                        for chunk in response.iter_raw():
                            file.write(chunk)
                return Fetched(response.status_code, _headers(response))
        except httpx.TransportError as exc:
            return _broken(exc)


class AsyncClient(_Base):
    """The asynchronous twin of ``Client``: the same methods, awaited."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            base_url,
            api_key,
            access_key=access_key,
            secret_key=secret_key,
            prefix=prefix,
            max_retries=max_retries,
        )
        self._http = http_client or httpx.AsyncClient(timeout=timeout, follow_redirects=True)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def image2video(
        self, image: ImageInput | None = None, **params: Unpack[Image2VideoParams]
    ) -> Task:
        body = image2video_body(image, params)
        return await self._drive(self._create_flow(Endpoint.IMAGE2VIDEO, body))

    async def text2video(
        self, prompt: str | None = None, **params: Unpack[Text2VideoParams]
    ) -> Task:
        body = text2video_body(prompt, params)
        return await self._drive(self._create_flow(Endpoint.TEXT2VIDEO, body))

    async def images(self, prompt: str | None = None, **params: Unpack[ImagesParams]) -> Task:
        body = images_body(prompt, params)
        return await self._drive(self._create_flow(Endpoint.IMAGE_GENERATION, body))

    async def multi_image2video(
        self, images: Sequence[ImageInput], **params: Unpack[MultiImage2VideoParams]
    ) -> Task:
        body = multi_image2video_body(images, params)
        return await self._drive(self._create_flow(Endpoint.MULTI_IMAGE2VIDEO, body))

    async def multi_image2image(
        self, subjects: Sequence[ImageInput], **params: Unpack[MultiImage2ImageParams]
    ) -> Task:
        body = self._mi2i_body(subjects, params)
        return await self._drive(self._create_flow(Endpoint.MULTI_IMAGE2IMAGE, body))

    async def get(self, task: TaskOrId, endpoint: EndpointName | None = None) -> Task:
        return await self._drive(self._get_flow(task, endpoint))

    async def cancel(self, task: TaskOrId, *, endpoint: EndpointName | None = None) -> Task:
        return await self._drive(self._cancel_flow(task, endpoint))

    async def list(
        self, endpoint: EndpointName = Endpoint.IMAGE2VIDEO, page: int = 1, page_size: int = 30
    ) -> builtins.list[Task]:
        return await self._drive(self._list_flow(endpoint, page, page_size))

    async def iterate(
        self, endpoint: EndpointName = Endpoint.IMAGE2VIDEO, page_size: int = 100
    ) -> AsyncIterator[Task]:
        page = 1
        while True:
            tasks = await self.list(endpoint, page, page_size)
            for task in tasks:
                yield task
            if len(tasks) < page_size:
                return
            page += 1

    async def wait(
        self,
        task: TaskOrId,
        *,
        endpoint: EndpointName | None = None,
        timeout: float | None = 600.0,
        on_progress: ProgressFn | None = None,
        raise_on_failure: bool = True,
    ) -> Task:
        ref = task_ref(task, endpoint, "wait")
        options = self._wait_options(timeout, on_progress, raise_on_failure)
        start = await self._drive(flows.current(self.config, ref, self.policy))
        return await self._drive(flows.wait(self.config, start, options, self.policy))

    async def download(
        self,
        task: TaskOrId,
        dest: str | Path | None = None,
        *,
        endpoint: EndpointName | None = None,
    ) -> builtins.list[Path]:
        ref = task_ref(task, endpoint, "download")
        found = await self._drive(flows.current(self.config, ref, self.policy))
        dest_path = Path(dest) if dest is not None else None
        return [
            await self._drive(flows.download(url, path, kind, self.policy))
            for url, path, kind in flows.download_targets(found, dest_path)
        ]

    async def run(
        self,
        endpoint: EndpointName,
        inputs: Any,
        output: str | Path | None = None,
        timeout: float | None = 600.0,
        on_progress: ProgressFn | None = None,
        **params: Any,
    ) -> RunResult:
        flow = self._any_create_flow(endpoint_of(endpoint, "run"), inputs, params)
        created = await self._drive(flow)
        task = await self.wait(created, timeout=timeout, on_progress=on_progress)
        return RunResult(task, await self.download(task, output))

    async def account_costs(
        self,
        start_time: int | None = None,
        end_time: int | None = None,
        resource_pack_name: str | None = None,
    ) -> AccountCosts:
        """The key's resource packs (``GET /account/costs``); see ``Client.account_costs``."""
        return await self._drive(self._account_flow(start_time, end_time, resource_pack_name))

    async def _drive(self, flow: Flow[T]) -> T:
        outcome: Any = None
        try:
            while True:
                outcome = await self._perform(flow.send(outcome))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def _perform(self, op: flows.Op) -> flows.Outcome:
        if isinstance(op, Sleep):
            await asyncio.sleep(op.seconds)
            return None
        if isinstance(op, Call):
            try:
                response = await self._http.request(
                    op.method, op.url, json=op.json, params=op.params,
                    headers=self.config.auth_header(),
                )  # fmt: skip
            except httpx.TransportError as exc:
                return _broken(exc)
            return _answer(response)
        return await self._fetch(op)

    async def _fetch(self, op: Fetch) -> flows.Outcome:
        try:
            async with self._http.stream("GET", op.url, headers=_range(op)) as response:
                if response.status_code in (200, 206):
                    mode = "ab" if response.status_code == 206 else "wb"
                    with op.path.open(mode) as file:
                        async for chunk in response.aiter_raw():
                            file.write(chunk)
                return Fetched(response.status_code, _headers(response))
        except httpx.TransportError as exc:
            return _broken(exc)
