"""The task domain: families, Kling's per-model rules, routing, and the create/query service."""

from __future__ import annotations
