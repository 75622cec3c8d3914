"""Sorting Elements references into one optional scene and the subjects that act in it.

Heuristic (deliberately simple and deterministic):

* a reference with its own transparency, a flat keyable border or a *compact* GrabCut subject
  (see ``cutout.find_subject``) is always a subject;
* a reference without such a subject is a *scene candidate* when it is also shaped like a
  backdrop: wide (width / height >= ``WIDE_ASPECT``) or large (pixel area >=
  ``LARGE_AREA`` x the median area of the other references);
* with at least two references, the candidate with the largest area becomes the scene; every
  other reference is an element. Without a candidate, a backdrop is generated from the
  references (a heavy blur of the largest one over a palette gradient).

A set of same-sized photos without clear subjects therefore stays a set of framed pictures over
a generated backdrop, never silently loses one of them to the background.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from openreel.engines.classic.cutout import Cutout, find_subject, framed
from openreel.engines.imaging.canvas import blurred_backdrop, palette_gradient

WIDE_ASPECT = 1.5
LARGE_AREA = 2.0


@dataclass(frozen=True)
class Reference:
    rgb: np.ndarray  # HxWx3 uint8
    subject: Cutout | None  # a confident cut-out, or None

    @property
    def area(self) -> int:
        return int(self.rgb.shape[0] * self.rgb.shape[1])

    @property
    def aspect(self) -> float:
        return float(self.rgb.shape[1] / self.rgb.shape[0])

    def layer(self) -> Cutout:
        """What an element shows: the cut-out subject, or the whole picture softly framed."""
        return self.subject if self.subject is not None else framed(self.rgb)


def analyse(rgb: np.ndarray, alpha: np.ndarray | None, seed: int) -> Reference:
    return Reference(rgb, find_subject(rgb, alpha, seed))


def pick_scene(references: list[Reference]) -> int | None:
    """Index of the reference to use as the scene, or None (see the module docstring)."""
    if len(references) < 2:
        return None
    candidates = []
    for index, ref in enumerate(references):
        if ref.subject is not None:
            continue
        others = [r.area for i, r in enumerate(references) if i != index]
        large = ref.area >= LARGE_AREA * float(np.median(others))
        if ref.aspect >= WIDE_ASPECT or large:
            candidates.append(index)
    if not candidates:
        return None
    return max(candidates, key=lambda i: (references[i].area, -i))


def _mean_colour(layer: Cutout) -> np.ndarray:
    mask = (layer.alpha > 127).astype(np.uint8)
    return np.asarray(cv2.mean(layer.rgb, mask=mask)[:3], dtype=np.float32)


def generated_backdrop(references: list[Reference], size: tuple[int, int]) -> np.ndarray:
    """A quiet backdrop from the references: palette gradient under a blur of the largest one."""
    gradient = palette_gradient(size, [_mean_colour(r.layer()) for r in references])
    largest = max(references, key=lambda r: r.area)
    blurred = blurred_backdrop(largest.rgb, size, darken=0.75)
    mixed: np.ndarray = cv2.addWeighted(gradient, 0.5, blurred, 0.5, 0.0)
    return mixed
