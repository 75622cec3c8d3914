"""multi_image2video (Elements): cut-out references acting in one scene under a moving camera.

Every reference is analysed once (``scene.analyse``): its own alpha channel, a keyable flat
border or a compact GrabCut subject gives a cut-out; otherwise the whole picture is kept with
softly rounded edges. A reference without a subject that is also wide or much larger than the
others becomes the scene (cover-cropped to the frame); without one, a backdrop is generated
from the references (see ``scene.py`` for the heuristic).

Each element is colour-matched part of the way towards the scene (Reinhard in L*a*b*), gets a
soft drop shadow, and moves on its own seeded rhythm (a slow drift, a bob, breathing scale and
a staggered scale-in) while the camera slowly pushes in; elements are nearer the camera than
the scene, so they zoom a little more (parallax). Layers are only scaled and translated, so
every element stays undistorted and recognisable. Frames are streamed to the H.264 writer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from openreel.engines.base import (
    EngineError,
    GenerationOutput,
    OutputFile,
    ProgressFn,
    RenderJob,
)
from openreel.engines.classic.camera import render_window
from openreel.engines.classic.color import lab_stats, transfer
from openreel.engines.classic.cutout import Cutout
from openreel.engines.classic.image2video import VIDEO_NAME, video_spec
from openreel.engines.classic.layout import Rect, grid_layout
from openreel.engines.classic.scene import Reference, analyse, generated_backdrop, pick_scene
from openreel.engines.imaging.canvas import ASPECTS, cover_crop
from openreel.engines.imaging.easing import smoothstep
from openreel.engines.imaging.loading import indexed_images, load_rgba
from openreel.media.video import VideoWriter, even_size_for

SCENE_ZOOM = 1.04  # camera push-in as seen on the scene
ELEMENT_ZOOM = 1.06  # elements are nearer the camera: they grow a little more (parallax)
BREATHE = 0.012  # element scale oscillation amplitude
BOB = 0.012  # vertical bob amplitude, fraction of the frame's shorter side
DRIFT = 0.018  # half the slow drift's travel, fraction of the frame's shorter side
GAP = 0.05  # between elements, fraction of the shorter side (> 2 x (BOB + DRIFT) + breathing)
SCENE_TOP = 0.18  # on a real scene, elements keep off the top of the frame (sky, horizon)
ENTRANCE_S = 0.6  # seconds of scale-in per element
ENTRANCE_FROM = 0.94
HARMONY = 0.3  # how far a cut-out's colours move towards the scene's
FRAME_HARMONY = 0.15  # the same for whole pictures (kept closer to the original)
SHADOW_OPACITY = 0.45


def frame_size(aspect_ratio: object, short_side: int) -> tuple[int, int]:
    ratio = ASPECTS.get(str(aspect_ratio or "16:9"))
    if ratio is None:
        raise EngineError(f"aspect_ratio {aspect_ratio!r} is not supported")
    return even_size_for(ratio[0], ratio[1], short_side)


@dataclass(frozen=True)
class Motion:
    delay: float
    drift: tuple[float, float]  # unit direction of the slow drift
    bob_period: float
    bob_phase: float
    breathe_period: float
    breathe_phase: float


@dataclass(frozen=True)
class Element:
    sprite: np.ndarray  # HxWx4 uint8: premultiplied RGB + alpha (layer and its shadow)
    anchor: tuple[float, float]  # layer centre in sprite pixel-index coordinates
    max_scale: float  # display scale the sprite was rendered at, relative to the layout
    home: Rect  # layer rectangle on the canvas at scale 1
    motion: Motion


def _sprite(layer: Cutout, rect: Rect, scale: float) -> tuple[np.ndarray, tuple[float, float]]:
    """Premultiplied RGBA sprite of ``layer`` fitted to ``rect`` x ``scale``, with its shadow."""
    src_h, src_w = layer.rgb.shape[:2]
    fit = min(rect.w * scale / src_w, rect.h * scale / src_h)
    w, h = max(2, round(src_w * fit)), max(2, round(src_h * fit))
    interpolation = cv2.INTER_AREA if fit < 1.0 else cv2.INTER_LINEAR
    rgb = cv2.resize(layer.rgb, (w, h), interpolation=interpolation)
    alpha = cv2.resize(layer.alpha, (w, h), interpolation=interpolation)

    offset = (max(1, round(0.012 * h)), max(1, round(0.03 * h)))
    sigma = max(1.0, 0.03 * min(w, h))
    pad = math.ceil(3 * sigma) + max(offset) + 2
    sprite_h, sprite_w = h + 2 * pad, w + 2 * pad

    a = np.zeros((sprite_h, sprite_w), np.float32)
    a[pad : pad + h, pad : pad + w] = alpha.astype(np.float32) * np.float32(1 / 255)
    shadow = np.zeros_like(a)
    shadow[pad + offset[1] : pad + offset[1] + h, pad + offset[0] : pad + offset[0] + w] = a[
        pad : pad + h, pad : pad + w
    ]
    shadow = cv2.GaussianBlur(shadow, (0, 0), sigmaX=sigma) * np.float32(SHADOW_OPACITY)
    total = a + shadow * (np.float32(1) - a)

    sprite = np.zeros((sprite_h, sprite_w, 4), np.uint8)
    premultiplied = rgb.astype(np.float32) * a[pad : pad + h, pad : pad + w, None]
    sprite[pad : pad + h, pad : pad + w, :3] = np.clip(premultiplied + 0.5, 0, 255).astype(np.uint8)
    sprite[..., 3] = np.clip(total * 255 + 0.5, 0, 255).astype(np.uint8)
    return sprite, (pad + (w - 1) / 2, pad + (h - 1) / 2)


def _motion(rng: np.random.Generator, index: int) -> Motion:
    angle = float(rng.uniform(0, 2 * math.pi))
    return Motion(
        delay=0.12 * index,
        drift=(math.cos(angle), math.sin(angle)),
        bob_period=float(rng.uniform(2.4, 3.8)),
        bob_phase=float(rng.uniform(0, 2 * math.pi)),
        breathe_period=float(rng.uniform(3.0, 4.5)),
        breathe_phase=float(rng.uniform(0, 2 * math.pi)),
    )


def _margins(size: tuple[int, int]) -> tuple[float, float]:
    """Margins that keep every element inside the frame through push-in, drift and breathing."""
    short = min(size)
    wobble = (DRIFT + BOB + BREATHE / 2 + 0.01) * short
    width, height = size
    return (
        ((ELEMENT_ZOOM - 1) * width / 2 + wobble) / ELEMENT_ZOOM,
        ((ELEMENT_ZOOM - 1) * height / 2 + wobble) / ELEMENT_ZOOM,
    )


def _homes(layers: list[Cutout], size: tuple[int, int], on_scene: bool) -> list[Rect]:
    """Non-overlapping layer rectangles; on a real scene, in the frame's lower part."""
    width, height = size
    short = min(size)
    margin = _margins(size)
    top = round(SCENE_TOP * height) if on_scene else 0
    placements = grid_layout(
        (width, height - top), [layer.aspect for layer in layers], margin, gap=GAP * short
    )
    homes = []
    for placement, layer in zip(placements, layers, strict=True):
        item = placement.item
        if on_scene and layer.method != "frame":
            # Cut-outs stand on the ground: bottom of their cell rather than its middle.
            item = Rect(item.x, placement.cell.y + placement.cell.h - item.h, item.w, item.h)
        homes.append(Rect(item.x, item.y + top, item.w, item.h))
    return homes


def build_elements(
    layers: list[Cutout], size: tuple[int, int], seed: int, on_scene: bool
) -> list[Element]:
    rng = np.random.default_rng(seed % 2**63)
    max_scale = ELEMENT_ZOOM * (1 + BREATHE)
    elements = []
    for index, (layer, home) in enumerate(zip(layers, _homes(layers, size, on_scene), strict=True)):
        sprite, anchor = _sprite(layer, home, max_scale)
        elements.append(Element(sprite, anchor, max_scale, home, _motion(rng, index)))
    return elements


def element_matrix(element: Element, size: tuple[int, int], seconds: float, t: float) -> np.ndarray:
    """Forward 2x3 map sprite pixel -> canvas pixel at time ``seconds`` (``t`` normalised)."""
    m = element.motion
    short = min(size)
    zoom = 1.0 + (ELEMENT_ZOOM - 1.0) * smoothstep(t)
    entrance = ENTRANCE_FROM + (1 - ENTRANCE_FROM) * smoothstep((seconds - m.delay) / ENTRANCE_S)
    breathe = 1.0 + BREATHE * math.sin(2 * math.pi * seconds / m.breathe_period + m.breathe_phase)
    travel = DRIFT * short * (2.0 * smoothstep(t) - 1.0)
    bob = BOB * short * math.sin(2 * math.pi * seconds / m.bob_period + m.bob_phase)
    dx = travel * m.drift[0]
    dy = travel * m.drift[1] + bob
    centre_x, centre_y = size[0] / 2, size[1] / 2
    px = centre_x + zoom * (element.home.cx + dx - centre_x)
    py = centre_y + zoom * (element.home.cy + dy - centre_y)
    s = zoom * entrance * breathe / element.max_scale
    ax, ay = element.anchor
    return np.array([[s, 0.0, px - 0.5 - s * ax], [0.0, s, py - 0.5 - s * ay]], dtype=np.float64)


def draw(frame: np.ndarray, sprite: np.ndarray, matrix: np.ndarray) -> None:
    """Alpha-composite a premultiplied sprite onto ``frame`` in place, touching its ROI only."""
    height, width = frame.shape[:2]
    sprite_h, sprite_w = sprite.shape[:2]
    s, tx, ty = matrix[0, 0], matrix[0, 2], matrix[1, 2]
    x0 = max(0, math.floor(tx - 0.5 * s))
    y0 = max(0, math.floor(ty - 0.5 * s))
    x1 = min(width, math.ceil(tx + (sprite_w - 0.5) * s) + 1)
    y1 = min(height, math.ceil(ty + (sprite_h - 0.5) * s) + 1)
    if x1 <= x0 or y1 <= y0:
        return
    local = matrix.copy()
    local[0, 2] -= x0
    local[1, 2] -= y0
    warped = cv2.warpAffine(
        sprite,
        local,
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),
    )
    roi = frame[y0:y1, x0:x1]
    keep = cv2.merge([255 - warped[..., 3]] * 3)
    under = cv2.multiply(roi, keep, scale=1 / 255)
    roi[...] = cv2.add(under, np.ascontiguousarray(warped[..., :3]))


def _references(job: RenderJob, size: tuple[int, int]) -> list[Reference]:
    entries = indexed_images(job.images, "image_list", "image")
    if not entries:
        raise EngineError("image_list needs at least one image")
    references = []
    for field, path in entries:
        rgb, alpha = load_rgba(path, field, size)
        references.append(analyse(rgb, alpha, job.seed))
    return references


def _harmonised(reference: Reference, target_scene: np.ndarray) -> Cutout:
    layer = reference.layer()
    strength = FRAME_HARMONY if layer.method == "frame" else HARMONY
    own = lab_stats(layer.rgb, layer.alpha)
    rgb = transfer(layer.rgb, lab_stats(target_scene), strength, source=own)
    return Cutout(rgb, layer.alpha, layer.method)


class _Backdrop:
    """The scene behind the elements, rendered per frame under the camera's push-in."""

    def __init__(self, image: np.ndarray, size: tuple[int, int], sharp: bool) -> None:
        self.size = size
        # A generated backdrop is a heavy blur: render its move at half size and upscale (4x
        # fewer pixels to warp, no visible difference). A real scene keeps full detail: a
        # cover-crop at the most zoomed-in frame's resolution, sampled near 1:1.
        self.work = size if sharp else (max(2, size[0] // 2), max(2, size[1] // 2))
        cover = (
            math.ceil(self.work[0] * SCENE_ZOOM),
            math.ceil(self.work[1] * SCENE_ZOOM),
        )
        self.source = cover_crop(image, cover)

    def at(self, t: float) -> np.ndarray:
        # The window shrinks from the whole oversized source to 1 / SCENE_ZOOM of it.
        frame = render_window(self.source, self.work, SCENE_ZOOM ** smoothstep(t))
        if self.work == self.size:
            return frame
        return cv2.resize(frame, self.size, interpolation=cv2.INTER_LINEAR)


def render_multi_image2video(job: RenderJob, progress: ProgressFn) -> GenerationOutput:
    spec = video_spec(job)
    size = frame_size(job.params.get("aspect_ratio"), spec.short_side)
    references = _references(job, size)
    scene_index = pick_scene(references)
    actors = [r for i, r in enumerate(references) if i != scene_index]
    if scene_index is not None:
        backdrop = _Backdrop(references[scene_index].rgb, size, sharp=True)
    else:
        backdrop = _Backdrop(generated_backdrop(references, size), size, sharp=False)
    target = backdrop.at(0.5)
    layers = [_harmonised(r, target) for r in actors]
    elements = build_elements(layers, size, job.seed, on_scene=scene_index is not None)

    frames = spec.frame_count
    out = job.output_dir / VIDEO_NAME

    def rendered() -> Iterator[np.ndarray]:
        for index in range(frames):
            t = index / (frames - 1) if frames > 1 else 0.0
            frame = backdrop.at(t)
            for element in elements:
                draw(frame, element.sprite, element_matrix(element, size, index / spec.fps, t))
            yield frame

    with VideoWriter(out, size[0], size[1], spec.fps) as writer:
        writer.encode(rendered(), lambda done: progress(done / (frames + 1)))
    progress(1.0)
    return GenerationOutput([OutputFile(out, "video/mp4", duration=str(spec.seconds))])
