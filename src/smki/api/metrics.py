"""Prometheus metrics of one service process, in memory (R-X-3, R-PERF-1).

Counters, gauges and histograms with labels, written in the Prometheus text exposition format
(version 0.0.4) at ``GET /metrics``. They live in the process: with ``--workers N`` each worker
answers with its own numbers, and a scraper sums them; the persistent per-request records that
the monthly performance report needs come with the reporting work (docs/api.md).
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

EXPOSITION_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
#: Request latency buckets in seconds; 30 s is the single-CSR target (SEC L8, R-PERF-1).
LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

Labels = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _label_text(names: Sequence[str], values: Labels, extra: str = "") -> str:
    pairs = [f'{name}="{_escape(value)}"' for name, value in zip(names, values, strict=True)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


@dataclass
class _Metric:
    name: str
    help: str
    label_names: tuple[str, ...]
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _check(self, labels: Labels) -> Labels:
        if len(labels) != len(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}, got {labels}")
        return labels


@dataclass
class Counter(_Metric):
    values: dict[Labels, float] = field(default_factory=dict)

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        key = self._check(labels)
        with self.lock:
            self.values[key] = self.values.get(key, 0.0) + amount

    def value(self, *labels: str) -> float:
        with self.lock:
            return self.values.get(labels, 0.0)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        with self.lock:
            items = sorted(self.values.items())
        for labels, value in items:
            yield f"{self.name}{_label_text(self.label_names, labels)} {_number(value)}"


@dataclass
class Gauge(_Metric):
    values: dict[Labels, float] = field(default_factory=dict)

    def add(self, amount: float, *labels: str) -> None:
        key = self._check(labels)
        with self.lock:
            self.values[key] = self.values.get(key, 0.0) + amount

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} gauge"
        with self.lock:
            items = sorted(self.values.items())
        for labels, value in items:
            yield f"{self.name}{_label_text(self.label_names, labels)} {_number(value)}"


@dataclass
class _Series:
    buckets: list[int]
    count: int = 0
    total: float = 0.0


@dataclass
class Histogram(_Metric):
    bounds: tuple[float, ...] = LATENCY_BUCKETS
    series: dict[Labels, _Series] = field(default_factory=dict)

    def observe(self, value: float, *labels: str) -> None:
        key = self._check(labels)
        with self.lock:
            series = self.series.get(key)
            if series is None:
                series = self.series[key] = _Series([0] * len(self.bounds))
            index = bisect.bisect_left(self.bounds, value)
            if index < len(self.bounds):
                series.buckets[index] += 1
            series.count += 1
            series.total += value

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        with self.lock:
            items = sorted(
                (k, _Series(list(s.buckets), s.count, s.total)) for k, s in self.series.items()
            )
        for labels, series in items:
            cumulative = 0
            for bound, count in zip(self.bounds, series.buckets, strict=True):
                cumulative += count
                le = _label_text(self.label_names, labels, f'le="{_number(bound)}"')
                yield f"{self.name}_bucket{le} {cumulative}"
            inf = _label_text(self.label_names, labels, 'le="+Inf"')
            yield f"{self.name}_bucket{inf} {series.count}"
            plain = _label_text(self.label_names, labels)
            yield f"{self.name}_sum{plain} {_number(series.total)}"
            yield f"{self.name}_count{plain} {series.count}"


class Metrics:
    """The service's metrics; one per application object."""

    def __init__(self) -> None:
        self.requests = Counter(
            "smki_http_requests_total",
            "HTTP requests answered, by endpoint (route template), method and status.",
            ("endpoint", "method", "status"),
        )
        self.latency = Histogram(
            "smki_http_request_duration_seconds",
            "Time from receipt of a request to the end of its response (R-PERF-1).",
            ("endpoint",),
        )
        self.in_flight = Gauge(
            "smki_http_requests_in_flight",
            "Requests received and not yet answered (the service's queue depth).",
            (),
        )
        self.problems = Counter(
            "smki_http_problems_total",
            "Problem responses by stable problem code.",
            ("code",),
        )
        self.issued = Counter(
            "smki_certificates_issued_total",
            "Certificates issued through the Service Interface, by kind.",
            ("kind",),
        )
        self.revoked = Counter(
            "smki_certificates_revoked_total",
            "Certificates revoked through the Service Interface, by reason.",
            ("reason",),
        )
        self.fast_lookups = Counter(
            "smki_repository_fast_lookups_total",
            "Repository look-ups answered by the fast path (R-REP-4), by route template.",
            ("endpoint",),
        )

    def render(self) -> str:
        lines: list[str] = []
        for metric in (
            self.requests,
            self.latency,
            self.in_flight,
            self.problems,
            self.issued,
            self.revoked,
            self.fast_lookups,
        ):
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"


def metrics_of(request: Request) -> Metrics:
    metrics = request.app.state.metrics
    assert isinstance(metrics, Metrics)
    return metrics


router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {EXPOSITION_TYPE: {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request) -> PlainTextResponse:
    """This process's metrics in the Prometheus text format (R-X-3)."""
    return PlainTextResponse(metrics_of(request).render(), media_type=EXPOSITION_TYPE)
