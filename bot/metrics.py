"""Prometheus metrics of the running bot: requests and ack latency, posts, errors, data age."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Slack allows 3 s for an acknowledgement; the buckets resolve the part that matters.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)


class Metrics:
    """One registry per running bot (tests build their own, so counts never leak between them)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "slabot_requests",
            "Slack requests handled, by kind (command word, action, view, event) and outcome.",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "slabot_ack_seconds",
            "Time from receiving a Slack request to acknowledging it, by kind.",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self.posts = Counter(
            "slabot_posts",
            "Messages posted to Slack, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.errors = Counter(
            "slabot_errors",
            "Failures, by where they happened.",
            ["where"],
            registry=self.registry,
        )
        self.source_age = Gauge(
            "slabot_source_data_age_seconds",
            "Seconds since each KPI source last synced successfully.",
            ["source"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
