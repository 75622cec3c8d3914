"""Finding a reference image inside a rendered frame (ORB features + RANSAC homography)."""

from __future__ import annotations

import cv2
import numpy as np

_ORB = cv2.ORB.create(nfeatures=3000)


def find(reference: np.ndarray, scene: np.ndarray) -> tuple[int, np.ndarray | None]:
    """ORB + ratio test + RANSAC homography: (inliers, reference corners in ``scene``)."""
    ref_grey = cv2.cvtColor(reference, cv2.COLOR_RGB2GRAY)
    scene_grey = cv2.cvtColor(scene, cv2.COLOR_RGB2GRAY)
    kp_ref, des_ref = _ORB.detectAndCompute(ref_grey, None)
    kp_scene, des_scene = _ORB.detectAndCompute(scene_grey, None)
    if des_ref is None or des_scene is None:
        return 0, None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(des_ref, des_scene, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
    if len(good) < 8:
        return 0, None
    src = np.array([kp_ref[m.queryIdx].pt for m in good], np.float32).reshape(-1, 1, 2)
    dst = np.array([kp_scene[m.trainIdx].pt for m in good], np.float32).reshape(-1, 1, 2)
    homography, inliers = cv2.findHomography(src, dst, cv2.RANSAC, 4.0)
    if homography is None:
        return 0, None
    h, w = reference.shape[:2]
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32).reshape(-1, 1, 2)
    return int(inliers.sum()), cv2.perspectiveTransform(corners, homography).reshape(4, 2)
