"""Business metrics as CloudWatch Embedded Metric Format (Powertools Metrics).

Pages sent and dead, reconciled messages and calls, ACK latency. Recorded
where they happen, flushed once at the end of each request or sweep (one
EMF log line; no API call). Powertools is imported on first use only.
"""
from __future__ import annotations

NAMESPACE = "FridayNight"
_metrics = None


def _get():
    global _metrics
    if _metrics is None:
        from aws_lambda_powertools import Metrics

        _metrics = Metrics(namespace=NAMESPACE, service="friday-night-engine")
    return _metrics


def count(name: str, value: float = 1, unit: str = "Count") -> None:
    _get().add_metric(name=name, unit=unit, value=value)


def flush() -> None:
    """Writes what was recorded (nothing when nothing was)."""
    if _metrics is not None and _metrics.metric_set:
        _metrics.flush_metrics()
