"""Decoding is bounded: the largest picture the rules admit (64 megapixels, 16-bit RGBA, a PNG
under 10 MB) is checked at create without holding its pixels, and loaded for a render at
about the output size, not at full size in float.

Memory is read from the kernel (VmHWM, the peak resident size) of a fresh interpreter that
does only that one thing, so the numbers belong to the code under test. The limits are far
from both sides: full-size decoding costs several times more.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any, cast

import pytest

from openreel.media.images import MAX_PIXELS

SIDE = 8000  # 8000 x 8000 = 64 megapixels, the pixel limit
MIB = 1024 * 1024


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def write_rgba16_png(path: Path, width: int, height: int) -> None:
    """A 16-bit RGBA PNG written row by row (never whole in memory): a horizontal gradient
    with a half-transparent right half, which deflate squeezes far under 10 MB."""
    row = bytearray(1 + width * 8)  # filter byte 0, then RGBA at 16 bits per channel
    for x in range(width):
        value = (x * 65535) // max(1, width - 1)
        alpha = 65535 if x < width // 2 else 32768
        struct.pack_into(">HHHH", row, 1 + x * 8, value, 65535 - value, 30000, alpha)
    # Rows after the first use PNG's "Up" filter: identical rows become zeros, which deflate
    # reduces to almost nothing (and fast).
    same_as_above = b"\x02" + bytes(width * 8)
    squeeze = zlib.compressobj(6)
    with path.open("wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n")
        out.write(_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)))
        data = bytearray()
        for y in range(height):
            data += squeeze.compress(bytes(row) if y == 0 else same_as_above)
            if len(data) > 1 << 20:
                out.write(_chunk(b"IDAT", bytes(data)))
                data.clear()
        data += squeeze.flush()
        out.write(_chunk(b"IDAT", bytes(data)))
        out.write(_chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def biggest_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bounds") / "big.png"
    write_rgba16_png(path, SIDE, SIDE)
    assert SIDE * SIDE <= MAX_PIXELS
    assert path.stat().st_size < 10 * 1024 * 1024
    return path


def peak_growth(code: str) -> dict[str, object]:
    """Run ``code`` (which sets ``result``) after the imports; report VmHWM growth."""
    script = f"""
import json, re
from pathlib import Path
import numpy, PIL.Image, cv2
from openreel.media.images import inspect_image
from openreel.engines.imaging.loading import load_rgba

def status(key):
    text = open("/proc/self/status").read()
    return int(re.search(key + r":\\s+(\\d+) kB", text).group(1)) * 1024

before = status("VmRSS")
{code}
print(json.dumps({{"growth": status("VmHWM") - before, "result": result}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True
    )
    parsed: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return parsed


def test_the_biggest_png_is_checked_without_decoding_it(biggest_png: Path) -> None:
    report = peak_growth(
        f"data = Path({str(biggest_png)!r}).read_bytes()\n"
        "image = inspect_image(data, 'image')\n"
        "result = [image.width, image.height, image.format]"
    )
    assert report["result"] == [SIDE, SIDE, "PNG"]
    # The file itself is read (< 10 MB); its 256 MB of 8-bit RGBA pixels are never made.
    assert isinstance(report["growth"], int) and report["growth"] < 64 * MIB, report


def test_a_corrupt_png_is_still_refused(biggest_png: Path) -> None:
    from openreel.errors import InputError
    from openreel.media.images import inspect_image

    data = bytearray(biggest_png.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside the picture data
    with pytest.raises(InputError, match="image: image could not be decoded"):
        inspect_image(bytes(data), "image")
    with pytest.raises(InputError, match="image: image could not be decoded"):
        inspect_image(bytes(data[: len(data) // 2]), "image")  # truncated


def test_a_render_loads_the_biggest_png_at_about_the_output_size(biggest_png: Path) -> None:
    report = peak_growth(
        f"rgb, alpha = load_rgba(Path({str(biggest_png)!r}), 'image', (1280, 720))\n"
        "result = [list(rgb.shape), rgb.dtype.str, alpha is not None]"
    )
    shape, dtype, has_alpha = cast(list[Any], report["result"])
    assert dtype == "|u1" and has_alpha
    assert 1280 <= shape[1] <= 1600 and 720 <= shape[0] <= 1600  # reduced by 5, not 64 MP
    # Pillow's decode of the PNG itself costs about 500 MB (its 8-bit RGBA picture and the
    # decoder's buffers); nothing bigger follows it. Converting and flattening at full size,
    # as before, peaked at 2.7 GB on this picture.
    assert isinstance(report["growth"], int) and report["growth"] < 640 * MIB, report
