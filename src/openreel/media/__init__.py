"""Media: fetching and decoding user images, encoding video."""

from __future__ import annotations
