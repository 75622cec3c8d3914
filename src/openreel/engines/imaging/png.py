"""Writing result pictures."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image


def save_png(image: np.ndarray, path: Path) -> Path:
    """Write under a temporary name and rename, so a crash never leaves half a PNG at ``path``."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        Image.fromarray(image).save(partial, format="PNG", compress_level=4)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path
