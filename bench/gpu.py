"""diffusers engine on a GPU: seconds per 5 s clip (or per picture), peak GPU memory, and the
server's overhead.

Not a test. Random weights at the published architectures' sizes cost the same to run as the
real ones (``openreel.engines.diffusers.random_weights``), so nothing is downloaded:

- ``wan14b``: Wan2.1-I2V-14B (``wan_i2v``), image2video, 16 fps, 81 frames;
- ``wan14b-t2v``: Wan2.1-T2V-14B (``wan_t2v``), text2video, 16 fps, 81 frames;
- ``ltx2b``: LTX-Video 2B (``ltx_video``), image2video, 24 fps, 121 frames;
- ``ltx2b-t2v``: the same weights through ``LTXPipeline`` (``ltx_t2v``), text2video;
- ``flux2klein4b``: FLUX.2 [klein] 4B (``flux2_klein``), text-to-image, step-distilled
  (4 steps, no guidance);
- ``qwenimage20b``: Qwen-Image (``qwen_image``), text-to-image, 50 steps with true CFG;

videos at ``480p`` (480×832 pixels) and ``720p`` (720×1280), pictures at ``1k`` (1024×1024),
with each speed option of ``ModelSpec``
applied through the engine's own loader (``adapters.common.load_pipeline``):

    baseline      bfloat16, SDPA attention, classifier-free guidance
    attention     attention_backend = "_native_cudnn"
    compile       torch.compile of the repeated transformer blocks
    fp8           FP8 layerwise weight storage
    vae_tiling    tiled VAE decode
    cpu_offload   enable_model_cpu_offload (for small GPUs)
    distilled     no classifier-free guidance, as a step-distilled LoRA runs (4 steps)

Each combination runs in its own process (an out-of-memory in one does not spoil the rest):
the pipeline is loaded, one clip is generated cold (compiles), one warm. Only ``--steps``
denoising steps run; the per-step time and the fixed part (text/image encoders, VAE, MP4 or
PNG) give the clip at 40 steps (pictures: the model's usual count; 4 for ``distilled``), the
published figures' settings.

Server overhead: ``openreel serve`` with the first model, a task through the HTTP API, and the
pipeline's own time logged by the adapter (``gpu_timed.py``); overhead = end to end − pipeline.

    python bench/gpu.py --out bench/results/gpu.json              # on a CUDA machine
    python bench/gpu.py --models flux2klein4b,qwenimage20b --out bench/results/gpu-t2i.json
    python bench/gpu.py --tiny --out bench/results/gpu-tiny.json  # CPU smoke run, tiny weights

Full-size random weights take disk like real ones (bfloat16: Wan 14B ≈ 29 GB, Qwen-Image
≈ 41 GB, FLUX.2 [klein] 4B ≈ 14 GB): on a small disk, run a few models at a time and delete
``--weights-dir`` between runs.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from benchlib import BENCH_DIR, ChildServer, free_port, python_argv
from servers import create_task, get_json


@dataclass(frozen=True)
class Model:
    scale: str
    adapter: str
    timed: str
    fps: int
    max_frames: int
    guidance: float
    kind: str = "image2video"  # a TaskKind value
    builder: str = "save_wan"  # in openreel.engines.diffusers.random_weights
    steps: int = 40  # what a real run takes (the clip/picture estimate)
    sizes: tuple[str, ...] = ("480p", "720p")

    @property
    def makes_video(self) -> bool:
        return self.kind in ("image2video", "text2video")


_T2V, _T2I = "text2video", "image_generation"
_FULL_MODELS = {
    "wan14b": Model("full", "wan_i2v", "gpu_timed:TimedWan", 16, 81, 5.0),
    "wan14b-t2v": Model(
        "full", "wan_t2v", "gpu_timed:TimedWanT2V", 16, 81, 5.0, _T2V, "save_wan_t2v"
    ),
    "ltx2b": Model("full", "ltx_video", "gpu_timed:TimedLtx", 24, 121, 3.0, builder="save_ltx"),
    "ltx2b-t2v": Model("full", "ltx_t2v", "gpu_timed:TimedLtxT2V", 24, 121, 3.0, _T2V, "save_ltx"),
    "flux2klein4b": Model(
        "full", "flux2_klein", "gpu_timed:TimedFlux2Klein", 1, 1, 1.0, _T2I,
        "save_flux2_klein", 4, ("1k",),
    ),
    "qwenimage20b": Model(
        "full", "qwen_image", "gpu_timed:TimedQwenImage", 1, 1, 4.0, _T2I,
        "save_qwen_image", 50, ("1k",),
    ),
}  # fmt: skip
_TINY_NAMES = {
    "wan14b": "wan-tiny",
    "wan14b-t2v": "wan-t2v-tiny",
    "ltx2b": "ltx-tiny",
    "ltx2b-t2v": "ltx-t2v-tiny",
    "flux2klein4b": "flux2-tiny",
    "qwenimage20b": "qwen-image-tiny",
}
MODELS = _FULL_MODELS | {
    _TINY_NAMES[name]: replace(model, scale="tiny", sizes=("tiny",))
    for name, model in _FULL_MODELS.items()
}
TINY_MODELS = list(_TINY_NAMES.values())
SIZES = {"480p": 480 * 832, "720p": 720 * 1280, "1k": 1024 * 1024, "tiny": 64 * 40}
OPTIONS: dict[str, dict[str, Any]] = {
    "baseline": {},
    "attention": {"attention_backend": "_native_cudnn"},
    "compile": {"compile": True},
    "fp8": {"fp8": True},
    "vae_tiling": {"vae_tiling": True},
    "cpu_offload": {"cpu_offload": "model"},
    "distilled": {"guidance_scale": 1.0},
}
PROMPT = "the camera slowly pans left over the cat"
PATHS = {
    "image2video": "/v1/videos/image2video",
    "text2video": "/v1/videos/text2video",
    "image_generation": "/v1/images/generations",
}


def sample_picture(path: Path) -> Path:
    """A 1280×720 photo-like picture (smooth gradients plus texture)."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:720, 0:1280].astype(np.float32)
    base = np.stack([x / 1280 * 200, y / 720 * 180, (x + y) / 2000 * 160], axis=-1)
    pixels = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def build(name: str, path: Path) -> None:
    import torch

    from openreel.engines.diffusers import random_weights

    model = MODELS[name]
    dtype = torch.bfloat16 if model.scale == "full" else torch.float32
    builder = getattr(random_weights, model.builder)
    if model.scale == "full" and torch.cuda.is_available():
        # Initialising 14B parameters on the CPU takes minutes; on the GPU, seconds.
        try:
            with torch.device("cuda"):
                builder(path, scale=model.scale, dtype=dtype)
            return
        except Exception as error:  # noqa: BLE001 - the slow way still works
            print(f"building on the GPU failed ({error!r}); building on the CPU", file=sys.stderr)
            torch.cuda.empty_cache()
    builder(path, scale=model.scale, dtype=dtype)


def spec_for(name: str, size: str, option: str, weights: Path, steps: int) -> dict[str, Any]:
    model = MODELS[name]
    tiny = model.scale == "tiny"
    return {
        "adapter": model.adapter,
        "weights": str(weights),
        "device": "cpu" if tiny else "cuda",
        "dtype": "float32" if tiny else "bfloat16",
        "steps": steps,
        "guidance_scale": model.guidance,
        "fps": model.fps,
        "max_frames": 9 if tiny else model.max_frames,
        "area": SIZES[size],
        **OPTIONS[option],
    }


def measure(name: str, size: str, option: str, weights: Path, steps: int) -> dict[str, Any]:
    """Load once, generate cold then warm; timings of the warm run."""
    import torch

    from openreel.engines.base import ImageSpec, RenderJob, TaskKind, VideoSpec
    from openreel.engines.diffusers.adapters import adapter_class
    from openreel.engines.diffusers.spec import ModelSpec

    model = MODELS[name]
    spec = ModelSpec(**spec_for(name, size, option, weights, steps))
    cuda = spec.device == "cuda"
    adapter = adapter_class(spec.adapter)()
    started = time.perf_counter()
    pipeline = adapter.load(spec, name)
    load_s = time.perf_counter() - started
    work = Path(tempfile.mkdtemp(prefix="gpu-bench-"))
    picture = sample_picture(work / "image.png")
    runs: list[dict[str, Any]] = []
    for attempt in range(2):
        stamps: list[float] = []
        job = RenderJob(
            task_id=f"bench-{attempt}",
            kind=TaskKind(model.kind),
            model_name=name,
            params={"prompt": PROMPT, "aspect_ratio": "16:9" if model.makes_video else "1:1"},
            images={"image": picture} if model.kind == "image2video" else {},
            output_dir=work / str(attempt),
            seed=attempt,
            video=VideoSpec(short_side=720, fps=spec.fps, seconds=5) if model.makes_video else None,
            image=None if model.makes_video else ImageSpec(width=1024, height=1024, count=1),
        )
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        begin = time.perf_counter()
        output = adapter.generate(pipeline, job, spec, _stamper(stamps))
        if cuda:
            torch.cuda.synchronize()
        total = time.perf_counter() - begin
        gaps = np.diff(stamps)
        per_step = float(statistics.median(gaps)) if len(gaps) else total
        runs.append({"total_s": total, "per_step_s": per_step, "file": str(output.files[0].path)})
    warm = runs[-1]
    fixed = max(0.0, warm["total_s"] - warm["per_step_s"] * steps)
    target = 4 if option == "distilled" else model.steps
    return {
        "load_s": round(load_s, 2),
        "cold_s": round(runs[0]["total_s"], 2),
        "warm_s": round(warm["total_s"], 2),
        "per_step_s": round(warm["per_step_s"], 3),
        "fixed_s": round(fixed, 2),
        "clip_steps": target,
        "clip_s": round(fixed + target * warm["per_step_s"], 1),
        "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 1) if cuda else None,
    }


def _stamper(stamps: list[float]) -> Any:
    def on_step(step: int, total: int) -> None:
        stamps.append(time.perf_counter())

    return on_step


def server_overhead(name: str, size: str, weights: Path, steps: int, tasks: int) -> dict[str, Any]:
    """End-to-end task time through ``openreel serve`` minus the pipeline's own time."""
    model = MODELS[name]
    path = PATHS[model.kind]
    config = {name: {**spec_for(name, size, "baseline", weights, steps), "adapter": model.timed}}
    data = Path(tempfile.mkdtemp(prefix="gpu-bench-server-"))
    port = free_port()
    env = {
        "OPENREEL_DIFFUSERS_MODELS": json.dumps(config),
        "OPENREEL_ROUTES": json.dumps({"*": "classic", name: "diffusers"}),
        "OPENREEL_POLL_INTERVAL": "0.05",
        "PYTHONPATH": os.pathsep.join([str(BENCH_DIR), os.environ.get("PYTHONPATH", "")]),
    }
    argv = python_argv(
        "-m", "openreel", "serve", "--port", str(port), "--data-dir", str(data), "--no-auth"
    )
    server = ChildServer("openreel", argv, port, data / "server.log", env)
    server.start()
    log = weights / "timings.jsonl"
    try:
        server.wait_ready(timeout=120)
        body: dict[str, Any] = {"model_name": name, "prompt": PROMPT}
        if model.kind == "image2video":
            picture = sample_picture(data / "image.png").read_bytes()
            body["image"] = base64.b64encode(picture).decode()
        if not model.makes_video:
            body["aspect_ratio"] = "1:1"
        results = []
        for index in range(tasks + 1):  # the first task loads the weights: not counted
            started = time.perf_counter()
            task_id = create_task(server, json.dumps(body).encode(), path)
            while True:
                data_ = get_json(f"{server.url}{path}/{task_id}")[1]["data"]
                if data_["task_status"] in ("succeed", "failed"):
                    break
                time.sleep(0.02)
            end_to_end = time.perf_counter() - started
            if data_["task_status"] != "succeed":
                raise RuntimeError(f"task failed: {data_['task_status_msg']}")
            timing = next(
                json.loads(line)
                for line in log.read_text().splitlines()
                if json.loads(line)["task"] == task_id
            )
            if index:
                results.append((end_to_end, timing["pipeline_s"]))
    finally:
        server.stop()
    e2e = statistics.median(r[0] for r in results)
    pipeline = statistics.median(r[1] for r in results)
    return {
        "tasks": tasks,
        "end_to_end_s": round(e2e, 3),
        "pipeline_s": round(pipeline, 3),
        "overhead_s": round(e2e - pipeline, 3),
        "overhead_ratio": round((e2e - pipeline) / e2e, 4),
    }


def device_facts() -> dict[str, Any]:
    import torch

    facts: dict[str, Any] = {"python": platform.python_version(), "torch": torch.__version__}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        facts |= {"gpu": props.name, "gpu_gib": round(props.total_memory / 2**30, 1)}
    else:
        facts |= {"gpu": None, "cpu": platform.processor() or platform.machine()}
    import diffusers

    facts["diffusers"] = diffusers.__version__
    return facts


def child(argv: list[str], timeout: float) -> dict[str, Any]:
    """Run this script on one measurement in a fresh process; its last line is the JSON."""
    done = subprocess.run(
        [sys.executable, __file__, *argv], capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"error": " | ".join(tail) or f"exit {done.returncode}"}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", help=f"default: wan14b,ltx2b; any of {', '.join(MODELS)}")
    parser.add_argument("--sizes", help="default: each model's own (videos 480p,720p; images 1k)")
    parser.add_argument("--options", default=",".join(OPTIONS))
    parser.add_argument("--steps", type=int, default=2, help="denoising steps actually run")
    parser.add_argument("--weights-dir", type=Path, default=BENCH_DIR / "results" / "weights")
    parser.add_argument("--overhead-tasks", type=int, default=3, help="0: no server run")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--tiny", action="store_true", help="tiny weights on the CPU")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--build", help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.build:
        build(args.build, args.weights_dir / args.build)
        print(json.dumps({"built": args.build}))
        return
    if args.measure:
        name, size, option = args.measure
        weights = args.weights_dir / name
        print(json.dumps(measure(name, size, option, weights, args.steps)))
        return

    default_models = TINY_MODELS if args.tiny else ["wan14b", "ltx2b"]
    models = args.models.split(",") if args.models else default_models
    options = [o for o in args.options.split(",") if not (args.tiny and o == "fp8")]
    report: dict[str, Any] = {"device": device_facts(), "steps_run": args.steps, "runs": []}
    common = ["--weights-dir", str(args.weights_dir), "--steps", str(args.steps)]
    for name in models:
        if not (args.weights_dir / name / "model_index.json").exists():
            print(f"building random {name} weights...", flush=True)
            built = child(["--build", name, *common], args.timeout)
            if "error" in built:
                raise SystemExit(f"{name}: {built['error']}")
        sizes = args.sizes.split(",") if args.sizes else list(MODELS[name].sizes)
        for size in sizes:
            for option in options:
                result = child(["--measure", name, size, option, *common], args.timeout)
                row = {"model": name, "size": size, "option": option, **result}
                report["runs"].append(row)
                print(json.dumps(row), flush=True)
                _write(args.out, report)  # a lease cut short keeps what was measured
    if args.overhead_tasks < 1:
        return
    first = models[0]
    size = args.sizes.split(",")[0] if args.sizes else MODELS[first].sizes[0]
    report["overhead"] = {
        "model": first,
        "size": size,
        **server_overhead(first, size, args.weights_dir / first, args.steps, args.overhead_tasks),
    }
    print(json.dumps(report["overhead"]), flush=True)
    _write(args.out, report)


def _write(out: Path | None, report: dict[str, Any]) -> None:
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
