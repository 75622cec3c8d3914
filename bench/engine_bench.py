"""Classic engine vs ffmpeg: a 5 s 720p push-in, plus frames per second of every classic task.

Not a test. In one run, side by side:

(a) ``ClassicEngine().run`` on an image2video job (prompt "zoom in", 1920x1080 source, 720p,
    24 fps, 5 s: libx264 veryfast CRF 20 through PyAV);
(b) the ffmpeg binary shipped by imageio-ffmpeg doing the same eased push-in (1.0 -> 1.15,
    smoothstep, geometric) with its ``zoompan`` filter, libx264 veryfast CRF 20.

Reported: wall time of both and their ratio, and the motion jitter of both: each decoded frame
is registered against the first one (``cv2.findTransformECC``, affine, at 640x360), the four
frame corners are mapped through that warp into full-resolution pixels, and the jitter is the
RMS over corners of the std of the second difference of their x/y tracks (px/frame^2). A smooth
eased move scores a few hundredths; zoompan's integer-pixel window steps score much more.
Then frames per second of image2video (and its tail / mask / camera variants when the engine
declares them), multi_image2video (Elements) and multi_image2image at 720p and 1080p.

Needs imageio-ffmpeg (``pip install imageio-ffmpeg``) for part (b)::

    python bench/engine_bench.py [--repeat 5] [--json bench/results/engine.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from PIL import Image

from openreel.engines.base import Feature, ImageSpec, RenderJob, TaskKind, VideoSpec
from openreel.engines.classic import ClassicEngine

FPS, SECONDS, ZOOM = 24, 5, 1.15
PRESET, CRF = "veryfast", 20


def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        sys.exit(
            "engine_bench.py needs the ffmpeg binary shipped by imageio-ffmpeg: "
            "pip install imageio-ffmpeg (tested with 0.8.1)"
        )
    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


# ---------------------------------------------------------------------------- inputs


def photo_like(seed: int, width: int, height: int) -> np.ndarray:
    """1/f ("pink") noise colour texture with shapes: hard to encode, plenty of detail."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.rfftfreq(width)[None, :]
    amplitude = 1.0 / np.maximum(np.hypot(fx, fy), 1.0 / max(width, height))
    channels = []
    for _ in range(3):
        phase = rng.uniform(0, 2 * np.pi, amplitude.shape)
        field = np.fft.irfft2(amplitude * np.exp(1j * phase), s=(height, width))
        field = (field - field.mean()) / field.std()
        channels.append(128 + 45 * field)
    image = np.clip(np.dstack(channels), 0, 255).astype(np.uint8)
    for _ in range(60):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        cv2.circle(image, (x, y), int(rng.integers(8, height // 10)), colour, -1)
    out: np.ndarray = image
    return out


def subject_rgba(seed: int, side: int) -> np.ndarray:
    alpha = np.zeros((side, side), np.uint8)
    cv2.ellipse(alpha, (side // 2, side // 2), (side * 2 // 5, side * 9 // 20), 0, 0, 360, 255, -1)
    rgba: np.ndarray = np.dstack([photo_like(seed, side, side), alpha])
    return rgba


def save(path: Path, image: np.ndarray) -> Path:
    Image.fromarray(image).save(path)
    return path


# ---------------------------------------------------------------------------- runs


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_job(job: RenderJob) -> Path:
    job.output_dir.mkdir(parents=True, exist_ok=True)
    output = ClassicEngine().run(job, lambda _: None)
    return output.files[0].path


def video_job(
    out: Path,
    kind: TaskKind,
    images: dict[str, Path],
    short: int,
    params: dict[str, Any] | None = None,
) -> RenderJob:
    spec = VideoSpec(short, FPS, SECONDS)
    return RenderJob("bench", kind, "kling-v1-6", params or {}, images, out, 7, video=spec)


def ffmpeg_push_in(exe: str, source: Path, target: Path, size: tuple[int, int]) -> None:
    last = FPS * SECONDS - 1
    ease = f"(on/{last})*(on/{last})*(3-2*on/{last})"
    zoompan = (
        f"zoompan=z='pow({ZOOM},{ease})':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)'"
        f":d={last + 1}:s={size[0]}x{size[1]}:fps={FPS}"
    )
    command = [
        exe, "-y", "-loglevel", "error", "-i", str(source), "-vf", zoompan,
        "-frames:v", str(last + 1), "-c:v", "libx264", "-preset", PRESET, "-crf", str(CRF),
        "-x264-params", "mbtree=0", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
        str(target),
    ]  # fmt: skip
    subprocess.run(command, check=True)


# ---------------------------------------------------------------------------- motion


def decode_grey(path: Path, size: tuple[int, int]) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [
            cv2.resize(f.to_ndarray(format="gray"), size, interpolation=cv2.INTER_AREA)
            for f in container.decode(video=0)
        ]


def corner_tracks(path: Path, full: tuple[int, int]) -> np.ndarray:
    """(frames, 4 corners, xy) positions, in full-res px, of frame 0's content corners."""
    work = (640, 360)
    frames = decode_grey(path, work)
    reference = frames[0].astype(np.float32)
    warp = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 200, 1e-6)
    corners = np.array([[0, 0, 1], [work[0], 0, 1], [work[0], work[1], 1], [0, work[1], 1]])
    tracks = []
    for frame in frames:
        # warp maps frame coordinates -> reference coordinates; invert to place the corners.
        _, found = cv2.findTransformECC(
            reference, frame.astype(np.float32), warp, cv2.MOTION_AFFINE, criteria
        )
        warp = np.asarray(found, dtype=np.float32)
        inverse = cv2.invertAffineTransform(warp)
        tracks.append(corners @ inverse.T * (full[0] / work[0]))
    return np.array(tracks)


def jitter(tracks: np.ndarray) -> float:
    second = np.diff(tracks, n=2, axis=0)  # (frames-2, 4, 2)
    return float(np.sqrt(np.mean(np.std(second, axis=0) ** 2)))


def zoom_end(tracks: np.ndarray) -> float:
    """Final zoom: how much smaller frame 0's content outline has become in the last frame's
    reference (the view window shrinks by 1 / zoom)."""
    first, last = tracks[0], tracks[-1]
    return float(np.linalg.norm(first[1] - first[0]) / np.linalg.norm(last[1] - last[0]))


# ---------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    exe = ffmpeg_exe()
    results: dict[str, Any] = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "python": platform.python_version(),
        "opencv": cv2.__version__,
        "av": av.__version__,
        "ffmpeg": subprocess.run([exe, "-version"], capture_output=True, text=True)
        .stdout.splitlines()[0]
        .split(" Copyright")[0],
    }
    with tempfile.TemporaryDirectory(prefix="openreel-engine-bench-") as tmp:
        root = Path(tmp)
        source = save(root / "source.png", photo_like(1, 1920, 1080))

        # (a) vs (b): the push-in.
        classic_job = video_job(
            root / "classic", TaskKind.IMAGE2VIDEO, {"image": source}, 720, {"prompt": "zoom in"}
        )
        ffmpeg_out = root / "ffmpeg.mp4"
        # Interleaved, so drift in the shared machine's speed hits both sides alike.
        pairs = [
            (
                timed(lambda: run_job(classic_job), 1),
                timed(lambda: ffmpeg_push_in(exe, source, ffmpeg_out, (1280, 720)), 1),
            )
            for _ in range(args.repeat)
        ]
        classic_s = statistics.median(c for c, _ in pairs)
        ffmpeg_s = statistics.median(f for _, f in pairs)
        classic_tracks = corner_tracks(classic_job.output_dir / "video.mp4", (1280, 720))
        ffmpeg_tracks = corner_tracks(ffmpeg_out, (1280, 720))
        results["push_in"] = {
            "frames": FPS * SECONDS,
            "classic_s": classic_s,
            "ffmpeg_s": ffmpeg_s,
            "ratio": classic_s / ffmpeg_s,
            "ratio_of_each_pair": [round(c / f, 3) for c, f in pairs],
            "classic_jitter_px": jitter(classic_tracks),
            "ffmpeg_jitter_px": jitter(ffmpeg_tracks),
            "classic_zoom": zoom_end(classic_tracks),
            "ffmpeg_zoom": zoom_end(ffmpeg_tracks),
            "classic_bytes": (classic_job.output_dir / "video.mp4").stat().st_size,
            "ffmpeg_bytes": ffmpeg_out.stat().st_size,
        }
        print(json.dumps(results["push_in"], indent=2), flush=True)

        # Frames per second of every task.
        refs = {
            "image_list[0].image": save(root / "s0.png", subject_rgba(2, 700)),
            "image_list[1].image": save(root / "s1.png", subject_rgba(3, 600)),
            "image_list[2].image": save(root / "scene.png", photo_like(4, 1920, 1080)),
        }
        subjects = {
            "subject_image_list[0].subject_image": refs["image_list[0].image"],
            "subject_image_list[1].subject_image": refs["image_list[1].image"],
            "scene_image": refs["image_list[2].image"],
        }
        mask = np.zeros((1080, 1920), np.uint8)
        cv2.circle(mask, (700, 540), 220, 255, -1)
        mask_path = save(root / "mask.png", mask)
        features = ClassicEngine.capabilities.features
        variants: list[tuple[str, TaskKind, dict[str, Path], dict[str, Any]]] = [
            ("image2video (push-in)", TaskKind.IMAGE2VIDEO, {"image": source}, {}),
        ]
        if Feature.IMAGE_TAIL in features:
            tail = save(root / "tail.png", photo_like(5, 1920, 1080))
            images = {"image": source, "image_tail": tail}
            variants.append(("image2video + image_tail", TaskKind.IMAGE2VIDEO, images, {}))
        if Feature.STATIC_MASK in features:
            images = {"image": source, "static_mask": mask_path}
            variants.append(("image2video + static_mask", TaskKind.IMAGE2VIDEO, images, {}))
        if Feature.DYNAMIC_MASKS in features:
            images = {"image": source, "dynamic_masks[0].mask": mask_path}
            points = [{"x": 700 + 60 * i, "y": 540 - 20 * i} for i in range(6)]
            params = {"dynamic_masks": [{"mask": "m", "trajectories": points}]}
            variants.append(("image2video + dynamic_masks", TaskKind.IMAGE2VIDEO, images, params))
        if Feature.CAMERA_CONTROL in features:
            control = {"camera_control": {"type": "simple", "config": {"pan": 6}}}
            variants.append(
                ("image2video + camera_control", TaskKind.IMAGE2VIDEO, {"image": source}, control)
            )
        variants.append(("multi_image2video (Elements)", TaskKind.MULTI_IMAGE2VIDEO, refs, {}))
        rows: list[dict[str, Any]] = []
        for name, kind, images, params in variants:
            row: dict[str, Any] = {"task": name}
            for short in (720, 1080):
                job = video_job(root / f"v{len(rows)}-{short}", kind, images, short, params)
                try:
                    seconds = timed(lambda job=job: run_job(job), 1)  # type: ignore[misc]
                    row[f"{short}p_fps"] = FPS * SECONDS / seconds
                except Exception as exc:  # a variant being built by someone else may fail
                    row[f"{short}p_fps"] = f"error: {exc}"
            rows.append(row)
            print(row, flush=True)
        row = {"task": "multi_image2image (images/s, n=1)"}
        for short, size in ((720, (1280, 720)), (1080, (1920, 1080))):
            spec = ImageSpec(size[0], size[1], 1)
            out = root / f"i-{short}"
            job = RenderJob(
                "bench", TaskKind.MULTI_IMAGE2IMAGE, "kling-v2", {}, subjects, out, 7, image=spec
            )
            row[f"{short}p_fps"] = 1.0 / timed(lambda job=job: run_job(job), args.repeat)  # type: ignore[misc]
        rows.append(row)
        print(row, flush=True)
        results["throughput"] = rows
        missing = [
            f
            for f in (
                Feature.IMAGE_TAIL,
                Feature.STATIC_MASK,
                Feature.DYNAMIC_MASKS,
                Feature.CAMERA_CONTROL,
            )
            if f not in features
        ]
        results["features_missing"] = [str(f) for f in missing]

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
