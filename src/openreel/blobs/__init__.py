"""Blob storage for inputs and results behind the BlobStore port, with signed URLs."""

from __future__ import annotations
