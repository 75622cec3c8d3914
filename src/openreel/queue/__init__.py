"""Task queues: the in-process worker pool (embedded mode)."""

from __future__ import annotations
