"""Prometheus metrics of one openreel process (``GET /metrics``; ``openreel worker
--metrics-port``).

Each process has its own registry (not prometheus-client's global one), so several apps in one
process (tests, embedding) keep separate counts, and every node of a scale-out deployment
exposes what it did itself. Label values come from closed sets (families, engines, statuses,
route templates, refusal kinds): nothing a client sends becomes a label, so the number of
series stays bounded.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["CONTENT_TYPE", "Metrics"]

RENDER_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.tasks_created = Counter(
            "openreel_tasks_created", "Tasks created", ["family", "engine"], registry=r
        )
        self.tasks_finished = Counter(
            "openreel_tasks_finished",
            "Tasks that reached succeed or failed",
            ["family", "engine", "status"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "openreel_queue_depth", "Tasks waiting for a worker", ["engine"], registry=r
        )
        self.render_seconds = Histogram(
            "openreel_render_seconds",
            "Time an engine spent on one render",
            ["engine", "kind"],
            buckets=RENDER_BUCKETS,
            registry=r,
        )
        self.callback_deliveries = Counter(
            "openreel_callback_deliveries",
            "Callback attempts by outcome (delivered, retry, failed, gone)",
            ["outcome"],
            registry=r,
        )
        self.fetch_refusals = Counter(
            "openreel_fetch_refusals",
            "User-supplied URLs refused or failed (image and callback URLs), by reason",
            ["reason"],
            registry=r,
        )
        self.http_requests = Counter(
            "openreel_http_requests",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "openreel_http_request_seconds",
            "HTTP request duration by route template",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
