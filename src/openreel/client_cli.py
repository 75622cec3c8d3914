"""Client commands of the ``openreel`` CLI: create tasks, follow them, save their results.

They talk to any Kling-compatible server through the SDK: ``--base-url`` / ``OPENREEL_BASE_URL``
and ``--api-key`` / ``OPENREEL_API_KEY`` (or ``KLING_ACCESS_KEY`` + ``KLING_SECRET_KEY``).

Exit codes: 0 done; 2 bad input (refused locally or by the server); 3 authentication or
account; 4 the task failed; 5 timed out waiting; 1 anything else (network, server error).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from openreel.sdk import (
    AccountError,
    AuthenticationError,
    Client,
    Endpoint,
    InvalidRequestError,
    OpenreelError,
    Task,
    TaskFailedError,
    WaitTimeoutError,
)

console = Console()
errors = Console(stderr=True)

EXIT_BAD_INPUT, EXIT_AUTH, EXIT_FAILED, EXIT_TIMEOUT, EXIT_OTHER = 2, 3, 4, 5, 1
CAMERA_PRESETS = ("down_back", "forward_up", "right_turn_forward", "left_turn_forward")
CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")

BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url", envvar="OPENREEL_BASE_URL", help="Server, e.g. http://127.0.0.1:8000"
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option("--api-key", envvar="OPENREEL_API_KEY", help="API key (or set KLING_ACCESS_KEY "
                 "and KLING_SECRET_KEY for Kling's AK/SK)", show_default=False),
]  # fmt: skip
AsJson = Annotated[bool, typer.Option("--json", help="Print the task as JSON (for scripts)")]
Wait = Annotated[bool, typer.Option("--wait", help="Wait for the task to end")]
Timeout = Annotated[float, typer.Option("--timeout", help="Seconds to wait at most")]
Output = Annotated[
    Path | None,
    typer.Option("-o", "--output", help="Save the result here (implies --wait)"),
]
EndpointOpt = Annotated[
    Endpoint | None,
    typer.Option("--endpoint", help="Endpoint of the task [default: look on every one]"),
]
Prompt = Annotated[str | None, typer.Option("--prompt", help="What should happen")]
NegativePrompt = Annotated[str | None, typer.Option("--negative-prompt")]
Model = Annotated[str | None, typer.Option("--model", help="model_name, e.g. kling-v1-6")]
Mode = Annotated[str | None, typer.Option("--mode", help="std or pro")]
Duration = Annotated[int | None, typer.Option("--duration", help="5 or 10 seconds")]
VideoAspect = Annotated[str | None, typer.Option("--aspect-ratio", help="16:9, 9:16 or 1:1")]
ImageAspect = Annotated[
    str | None, typer.Option("--aspect-ratio", help="16:9, 1:1, 4:3, ... (8 ratios)")
]
Count = Annotated[int | None, typer.Option("-n", "--n", help="How many images (1-9)")]
Resolution = Annotated[str | None, typer.Option("--resolution", help="1k or 2k")]
CfgScale = Annotated[
    float | None, typer.Option("--cfg-scale", help="0-1: how strictly to follow the prompt")
]
Camera = Annotated[
    str | None, typer.Option("--camera", help="zoom=5, pan=-3, ... or a preset: down_back")
]
ImagesOutput = Annotated[
    Path | None,
    typer.Option("-o", "--output", help="Directory for the images (implies --wait)"),
]
CallbackUrl = Annotated[str | None, typer.Option("--callback-url")]
ExternalId = Annotated[str | None, typer.Option("--external-task-id")]


def exit_code(error: OpenreelError) -> int:
    if isinstance(error, TaskFailedError):
        return EXIT_FAILED
    if isinstance(error, WaitTimeoutError):
        return EXIT_TIMEOUT
    if isinstance(error, AuthenticationError | AccountError):
        return EXIT_AUTH
    if isinstance(error, InvalidRequestError):
        return EXIT_BAD_INPUT
    return EXIT_OTHER


@contextmanager
def _client(base_url: str | None, api_key: str | None) -> Iterator[Client]:
    try:
        with Client(base_url, api_key) as client:
            yield client
    except OpenreelError as error:
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(exit_code(error)) from None
    except ValueError as error:  # a malformed base URL
        errors.print(f"[red]error:[/red] {error}")
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _show(task: Task, as_json: bool, files: list[Path] | None = None) -> None:
    if as_json:
        data = task.model_dump(mode="json", exclude_none=True)
        if files is not None:
            data["files"] = [str(f) for f in files]
        console.print_json(json.dumps(data))
        return
    colour = {"succeed": "green", "failed": "red"}.get(task.task_status, "yellow")
    console.print(f"task {task.task_id}: [{colour}]{task.task_status}[/{colour}]", highlight=False)
    if task.task_status_msg:
        console.print(f"  {task.task_status_msg}", highlight=False)
    for url in task.urls:
        console.print(f"  {url}", highlight=False, soft_wrap=True)
    for file in files or []:
        console.print(f"  saved {file}", highlight=False)


def _wait(client: Client, task: Task, timeout: float, quiet: bool) -> Task:
    if quiet:
        return client.wait(task, timeout=timeout)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    ) as bar:
        row = bar.add_task(f"{task.task_id} {task.task_status}", total=100)

        def update(current: Task) -> None:
            bar.update(
                row,
                completed=current.progress,
                description=f"{current.task_id} {current.task_status}",
            )

        return client.wait(task, timeout=timeout, on_progress=update)


@dataclass(frozen=True)
class _Delivery:
    """What a command does with its task: wait for it to end, save its results, show it."""

    wait: bool
    output: Path | None
    timeout: float
    as_json: bool

    def finish(self, client: Client, task: Task) -> None:
        files = None
        if self.wait or self.output is not None:
            task = _wait(client, task, self.timeout, quiet=self.as_json)
            if self.output is not None:
                files = client.download(task, self.output)
        _show(task, self.as_json, files)


def _create(
    base_url: str | None,
    api_key: str | None,
    submit: Callable[[Client], Task],
    delivery: _Delivery,
) -> None:
    """Every create command ends here: create the task, then wait, save and show it."""
    with _client(base_url, api_key) as client:
        delivery.finish(client, submit(client))


def _camera(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    if value in CAMERA_PRESETS:
        return {"type": value}
    axis, _, amount = value.partition("=")
    if axis not in CAMERA_AXES or not amount:
        raise typer.BadParameter(
            f"use AXIS=VALUE with AXIS one of {', '.join(CAMERA_AXES)} (e.g. zoom=5), "
            f"or a preset: {', '.join(CAMERA_PRESETS)}",
            param_hint="--camera",
        )
    try:
        number = float(amount)
    except ValueError:
        raise typer.BadParameter(f"{amount!r} is not a number", param_hint="--camera") from None
    return {"type": "simple", "config": {axis: number}}


def _dynamic_mask(value: str) -> dict[str, Any]:
    mask, sep, points = value.rpartition(":")
    try:
        if not sep:
            raise ValueError
        trajectory = [
            (int(x), int(y))
            for x, y in (pair.split(",") for pair in points.split(";") if pair.strip())
        ]
    except ValueError:
        raise typer.BadParameter(
            "use MASK:x1,y1;x2,y2;... (pixels of the image, origin bottom-left)",
            param_hint="--dynamic-mask",
        ) from None
    return {"mask": mask, "trajectories": trajectory}


def _common(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def image2video(
    image: Annotated[str, typer.Argument(help="Image file or URL (the first frame)")],
    prompt: Prompt = None,
    negative_prompt: NegativePrompt = None,
    tail: Annotated[str | None, typer.Option("--tail", help="Last-frame image")] = None,
    static_mask: Annotated[
        str | None, typer.Option("--static-mask", help="Mask image: white stays still")
    ] = None,
    dynamic_mask: Annotated[
        list[str] | None,
        typer.Option(
            "--dynamic-mask",
            help="MASK:x1,y1;x2,y2;... the masked area moves along the path "
            "(pixels, origin bottom-left); up to 6",
        ),
    ] = None,  # fmt: skip
    camera: Camera = None,
    mode: Mode = None,
    duration: Duration = None,
    model: Model = None,
    callback_url: CallbackUrl = None,
    external_task_id: ExternalId = None,
    wait: Wait = False,
    output: Output = None,
    timeout: Timeout = 600.0,
    as_json: AsJson = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Animate an image into a 5 or 10 s video.

    Examples:
      openreel image2video cat.jpg --prompt "the cat looks up" --wait -o cat.mp4
      openreel image2video room.png --camera zoom=5 --mode pro --duration 10 -o room.mp4
      openreel image2video dog.png --dynamic-mask mask.png:120,80;400,90;600,200 -o dog.mp4
    """
    params = _common(
        prompt=prompt,
        negative_prompt=negative_prompt,
        image_tail=tail,
        static_mask=static_mask,
        dynamic_masks=[_dynamic_mask(v) for v in dynamic_mask] if dynamic_mask else None,
        camera_control=_camera(camera),
        mode=mode,
        duration=duration,
        model_name=model,
        callback_url=callback_url,
        external_task_id=external_task_id,
    )
    delivery = _Delivery(wait=wait, output=output, timeout=timeout, as_json=as_json)
    _create(base_url, api_key, lambda client: client.image2video(image, **params), delivery)


def multi_image2video(
    images: Annotated[list[str], typer.Argument(help="1 to 4 image files or URLs")],
    prompt: Prompt = None,
    negative_prompt: NegativePrompt = None,
    aspect_ratio: VideoAspect = None,
    mode: Mode = None,
    duration: Duration = None,
    model: Model = None,
    callback_url: CallbackUrl = None,
    external_task_id: ExternalId = None,
    wait: Wait = False,
    output: Output = None,
    timeout: Timeout = 600.0,
    as_json: AsJson = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Put the subjects of several images in one video (Kling's Elements).

    Example:
      openreel multi-image2video girl.png dog.png park.jpg --prompt "they play" -o play.mp4
    """
    params = _common(
        prompt=prompt,
        negative_prompt=negative_prompt,
        aspect_ratio=aspect_ratio,
        mode=mode,
        duration=duration,
        model_name=model,
        callback_url=callback_url,
        external_task_id=external_task_id,
    )
    delivery = _Delivery(wait=wait, output=output, timeout=timeout, as_json=as_json)
    _create(base_url, api_key, lambda client: client.multi_image2video(images, **params), delivery)


def text2video(
    prompt: Annotated[str, typer.Argument(help="What the video shows")],
    negative_prompt: NegativePrompt = None,
    aspect_ratio: VideoAspect = None,
    camera: Camera = None,
    mode: Mode = None,
    duration: Duration = None,
    cfg_scale: CfgScale = None,
    model: Model = None,
    callback_url: CallbackUrl = None,
    external_task_id: ExternalId = None,
    wait: Wait = False,
    output: Output = None,
    timeout: Timeout = 600.0,
    as_json: AsJson = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Make a 5 or 10 s video from a prompt alone.

    openreel's default (classic) engine renders a test card (the prompt over a moving
    background), not a generation: a placeholder with the size and length a model would give.

    Examples:
      openreel text2video "a lighthouse at dusk, waves" --aspect-ratio 9:16 -o lighthouse.mp4
      openreel text2video "city at night" --model kling-v1 --camera zoom=5 --duration 5 --wait
    """
    params = _common(
        negative_prompt=negative_prompt,
        aspect_ratio=aspect_ratio,
        camera_control=_camera(camera),
        mode=mode,
        duration=duration,
        cfg_scale=cfg_scale,
        model_name=model,
        callback_url=callback_url,
        external_task_id=external_task_id,
    )
    delivery = _Delivery(wait=wait, output=output, timeout=timeout, as_json=as_json)
    _create(base_url, api_key, lambda client: client.text2video(prompt, **params), delivery)


def _not_an_image_file(prompt: str) -> None:
    # `openreel images` composed subjects up to 0.1.0; an old script passes image files here.
    if Path(prompt).suffix.lower() in (".png", ".jpg", ".jpeg") and Path(prompt).is_file():
        raise typer.BadParameter(
            f"{prompt!r} is an image file: `openreel images` takes a prompt (text-to-image); "
            "subjects are composed by `openreel multi-image2image`",
            param_hint="PROMPT",
        )


def images(
    prompt: Annotated[str, typer.Argument(help="What the images show")],
    image: Annotated[
        str | None,
        typer.Option("--image", help="Reference image file or URL (image-to-image)"),
    ] = None,
    image_reference: Annotated[
        str | None,
        typer.Option("--image-reference", help="With --image: keep its subject or its face"),
    ] = None,
    image_fidelity: Annotated[
        float | None, typer.Option("--image-fidelity", help="0-1: how closely to follow --image")
    ] = None,
    human_fidelity: Annotated[
        float | None, typer.Option("--human-fidelity", help="0-1: with --image-reference subject")
    ] = None,
    n: Count = None,
    aspect_ratio: ImageAspect = None,
    resolution: Resolution = None,
    negative_prompt: NegativePrompt = None,
    model: Model = None,
    callback_url: CallbackUrl = None,
    external_task_id: ExternalId = None,
    wait: Wait = False,
    output: ImagesOutput = None,
    timeout: Timeout = 600.0,
    as_json: AsJson = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Make images from a prompt (text-to-image), or from a prompt and one reference image.

    openreel's default (classic) engine renders test cards, not generations. Subjects composed
    on a scene: see multi-image2image.

    Examples:
      openreel images "a red fox in snow" -n 4 --aspect-ratio 1:1 -o foxes/
      openreel images "as an astronaut" --image me.jpg --image-reference face -o out/
    """
    _not_an_image_file(prompt)
    params = _common(
        image=image,
        image_reference=image_reference,
        image_fidelity=image_fidelity,
        human_fidelity=human_fidelity,
        n=n,
        aspect_ratio=aspect_ratio,
        resolution=resolution,
        negative_prompt=negative_prompt,
        model_name=model,
        callback_url=callback_url,
        external_task_id=external_task_id,
    )
    delivery = _Delivery(wait=wait, output=output, timeout=timeout, as_json=as_json)
    _create(base_url, api_key, lambda client: client.images(prompt, **params), delivery)


def multi_image2image(
    subjects: Annotated[list[str], typer.Argument(help="1 to 4 subject image files or URLs")],
    scene: Annotated[str | None, typer.Option("--scene", help="Background image")] = None,
    style: Annotated[str | None, typer.Option("--style", help="Style reference image")] = None,
    n: Count = None,
    aspect_ratio: ImageAspect = None,
    resolution: Resolution = None,
    prompt: Prompt = None,
    negative_prompt: NegativePrompt = None,
    model: Model = None,
    callback_url: CallbackUrl = None,
    external_task_id: ExternalId = None,
    wait: Wait = False,
    output: ImagesOutput = None,
    timeout: Timeout = 600.0,
    as_json: AsJson = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Compose subjects into new images (multi-image-to-image).

    Example:
      openreel multi-image2image cat.png hat.png --scene beach.jpg -n 4 --aspect-ratio 1:1 -o out/
    """
    params = _common(
        scene=scene,
        style=style,
        n=n,
        aspect_ratio=aspect_ratio,
        resolution=resolution,
        prompt=prompt,
        negative_prompt=negative_prompt,
        model_name=model,
        callback_url=callback_url,
        external_task_id=external_task_id,
    )
    delivery = _Delivery(wait=wait, output=output, timeout=timeout, as_json=as_json)
    _create(
        base_url, api_key, lambda client: client.multi_image2image(subjects, **params), delivery
    )


def _find(client: Client, task_id: str, endpoint: Endpoint | None) -> Task:
    if endpoint is not None:
        return client.get(task_id, endpoint)
    for candidate in Endpoint:
        try:
            return client.get(task_id, candidate)
        except InvalidRequestError as error:
            if error.http_status != 404:
                raise
    raise InvalidRequestError(f"task_id: no task {task_id!r} on any endpoint", code=1203)


TaskId = Annotated[str, typer.Argument(help="task_id or your external_task_id")]


def get(
    task_id: TaskId,
    endpoint: EndpointOpt = None,
    as_json: AsJson = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Show a task.

    Example: openreel get 1795249480926000001 --json
    """
    with _client(base_url, api_key) as client:
        _show(_find(client, task_id, endpoint), as_json)


def list_tasks(
    endpoint: Annotated[Endpoint, typer.Option("--endpoint")] = Endpoint.IMAGE2VIDEO,
    page: Annotated[int, typer.Option("--page")] = 1,
    page_size: Annotated[int, typer.Option("--page-size")] = 30,
    as_json: AsJson = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """List tasks of one endpoint, newest first.

    Example: openreel list --endpoint multi_image2video --page-size 10
    """
    with _client(base_url, api_key) as client:
        tasks = client.list(endpoint, page, page_size)
    if as_json:
        console.print_json(
            json.dumps([t.model_dump(mode="json", exclude_none=True) for t in tasks])
        )
        return
    table = Table("task_id", "status", "progress", "external_task_id", "created (ms)")
    for task in tasks:
        external = task.task_info.external_task_id or ""
        table.add_row(
            task.task_id, task.task_status, f"{task.progress}%", external, str(task.created_at)
        )
    console.print(table)


def wait_task(
    task_id: TaskId,
    endpoint: EndpointOpt = None,
    timeout: Timeout = 600.0,
    output: Output = None,
    as_json: AsJson = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Wait for a task to end (exit code 4 if it failed, 5 on timeout).

    Example: openreel wait 1795249480926000001 --timeout 120 -o result.mp4
    """
    with _client(base_url, api_key) as client:
        task = _find(client, task_id, endpoint)
        _Delivery(wait=True, output=output, timeout=timeout, as_json=as_json).finish(client, task)


def cancel(
    task_id: TaskId,
    endpoint: EndpointOpt = None,
    as_json: AsJson = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Cancel a submitted or processing task: it ends failed (an openreel extension).

    Example: openreel cancel 1795249480926000001 --endpoint text2video
    """
    with _client(base_url, api_key) as client:
        task = _find(client, task_id, endpoint)
        _show(client.cancel(task), as_json)


def download(
    task_id: TaskId,
    endpoint: EndpointOpt = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File (one result) or directory")
    ] = None,
    as_json: AsJson = False,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
) -> None:
    """Save the results of a finished task (resumes an interrupted download).

    Example: openreel download 1795249480926000001 -o clip.mp4
    """
    with _client(base_url, api_key) as client:
        task = _find(client, task_id, endpoint)
        _show(task, as_json, client.download(task, output))


COMMANDS: list[tuple[str, Callable[..., None]]] = [
    ("image2video", image2video),
    ("text2video", text2video),
    ("multi-image2video", multi_image2video),
    ("images", images),
    ("multi-image2image", multi_image2image),
    ("get", get),
    ("list", list_tasks),
    ("wait", wait_task),
    ("cancel", cancel),
    ("download", download),
]


def install(app: typer.Typer) -> None:
    for name, command in COMMANDS:
        app.command(name, rich_help_panel="Tasks (any Kling-compatible server)")(command)
