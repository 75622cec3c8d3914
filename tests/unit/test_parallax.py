"""The default push-in moves two layers: a subject nearer the camera grows faster than the
background behind it (measured on the decoded video)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from openreel.engines.base import TaskKind, VideoSpec
from tests.support.classic import decode, run, save, video_job
from tests.support.helpers import shapes_image

RED = (220, 30, 40)


def subject_picture() -> np.ndarray:
    picture = shapes_image(11, 960, 540, noise=3)
    cv2.circle(picture, (480, 280), 150, RED, -1)
    cv2.circle(picture, (480, 280), 60, (250, 220, 40), -1)  # texture inside the subject
    return picture


def red_area(frame: np.ndarray) -> int:
    r, g, b = (frame[..., i].astype(np.int16) for i in range(3))
    return int(np.count_nonzero((r > 170) & (g < 90) & (b < 100)))


def background_scale(first: np.ndarray, last: np.ndarray) -> float:
    """Magnification of what lies outside the subject, from ORB matches (RANSAC similarity)."""
    orb = cv2.ORB.create(nfeatures=4000)
    keep = np.full(first.shape[:2], 255, np.uint8)
    cv2.circle(keep, (first.shape[1] // 2, int(first.shape[0] * 280 / 540)), 150, 0, -1)
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in (first, last)]
    kp1, des1 = orb.detectAndCompute(grey[0], keep)
    kp2, des2 = orb.detectAndCompute(grey[1], None)
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(des1, des2, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
    src = np.array([kp1[m.queryIdx].pt for m in good], dtype=np.float32)
    dst = np.array([kp2[m.trainIdx].pt for m in good], dtype=np.float32)
    matrix, inliers = cv2.estimateAffinePartial2D(src, dst, ransacReprojThreshold=2.0)
    assert matrix is not None and int(inliers.sum()) > 30
    return float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))


def test_push_in_magnifies_the_subject_more_than_the_background(tmp_path: Path) -> None:
    source = save(tmp_path / "subject.png", subject_picture())
    job = video_job(
        tmp_path / "out", TaskKind.IMAGE2VIDEO, {"image": source}, VideoSpec(540, 24, 5)
    )
    frames, _ = decode(run(job).output.files[0].path)
    first, last = frames[0], frames[-1]

    subject = float(np.sqrt(red_area(last) / red_area(first)))
    background = background_scale(first, last)
    assert 1.05 < background < 1.2  # the camera pushes in...
    assert subject > background * 1.03, (subject, background)  # ...and the subject comes closer
