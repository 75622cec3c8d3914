"""Peak memory of the classic engine rendering a 10 s 1080p clip (target: under 600 MB).

Not a test. Each case renders in a fresh Python process (so imports and earlier renders do
not count twice) and reports that process's peak resident set (``ru_maxrss``) and the size of
the same process before the render (imports only: the 1920x1080 test pictures are written
by another process), from a photo-like source::

    python bench/engine_memory.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

# Builds the test pictures once, in the parent, so the child's peak is imports plus render.
PICTURES = r"""
import sys
from pathlib import Path
import numpy as np
from PIL import Image

work = Path(sys.argv[1])
rng = np.random.default_rng(3)
y, x = np.mgrid[0:1080, 0:1920]
base = np.stack([x * 255 // 1919, y * 255 // 1079, (x // 7 + y // 5) % 256], -1)
noise = rng.normal(0, 6, (1080, 1920, 3))
photo = np.clip(base + noise, 0, 255).astype(np.uint8)
Image.fromarray(photo).save(work / "image.png")
Image.fromarray(np.roll(photo, 40, axis=1)).save(work / "tail.png")
mask = np.zeros((1080, 1920), np.uint8)
mask[:, :600] = 255
Image.fromarray(mask).save(work / "mask.png")
subject = np.zeros((700, 700, 4), np.uint8)
subject[100:600, 150:550] = (200, 60, 40, 255)
subject[250:450, 250:450] = (30, 90, 220, 255)
Image.fromarray(subject).save(work / "subject.png")
"""

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from openreel.engines.base import RenderJob, TaskKind, VideoSpec
from openreel.engines.classic import ClassicEngine
import av, cv2  # what a render imports, loaded before the baseline is taken

case, work = sys.argv[1], Path(sys.argv[2])
kind = TaskKind.IMAGE2VIDEO
images = {"image": work / "image.png"}
params = {"prompt": "zoom in"}
if case == "tail":
    images["image_tail"] = work / "tail.png"
if case == "static_mask":
    images["static_mask"] = work / "mask.png"
if case == "dynamic_masks":
    images["dynamic_masks[0].mask"] = work / "mask.png"
    points = [{"x": 300 + 200 * i, "y": 540} for i in range(5)]
    params = {"dynamic_masks": [{"mask": "m", "trajectories": points}]}
if case == "camera_control":
    params = {"camera_control": {"type": "simple", "config": {"pan": 6}}}
if case == "elements":
    kind = TaskKind.MULTI_IMAGE2VIDEO
    images = {
        "image_list[0].image": work / "subject.png",
        "image_list[1].image": work / "subject.png",
        "image_list[2].image": work / "image.png",
    }
    params = {"aspect_ratio": "16:9"}
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out = work / ("out-" + case)
out.mkdir()
job = RenderJob("m", kind, "kling-v1-6", params, images, out, 7,
                    video=VideoSpec(1080, 24, 10))
started = time.perf_counter()
ClassicEngine().run(job, lambda _: None)
print(json.dumps({"case": case, "seconds": time.perf_counter() - started,
                  "baseline_mib": baseline,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

CASES = ("push_in", "tail", "static_mask", "dynamic_masks", "camera_control", "elements")


def main() -> None:
    results = []
    with tempfile.TemporaryDirectory(prefix="openreel-mem-") as work:
        subprocess.run([sys.executable, "-c", PICTURES, work], check=True, timeout=120)
        for case in CASES:
            done = subprocess.run(
                [sys.executable, "-c", CHILD, case, work],
                capture_output=True,
                text=True,
                check=True,
                timeout=600,
            )
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print("| case (10 s, 1080p) | render s | peak RSS before render MiB | peak RSS MiB |")
    print("|---|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['case']} | {r['seconds']:.1f} | {r['baseline_mib']:.0f} | {r['peak_mib']:.0f} |"
        )
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/engine_memory.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
