"""The run as the JSON results file: medians, ratios, targets and every sample."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bench.deliveries import SUBSCRIPTIONS
from bench.results import (
    LIMIT,
    MAIN_PHASE,
    PEER,
    PG_PEER,
    PG_PROJECT,
    POSTGRES_PHASE,
    PROJECT,
    Results,
)
from bench.rounds import OPERATIONS, READS, WRITES
from bench.targets import scale_ratio, targets, webhooks_ratio


def as_json(results: Results) -> dict[str, Any]:
    phases = sorted({(s.phase, s.operation, s.service) for s in results.samples})
    medians: dict[str, dict[str, dict[str, Any]]] = {}
    for phase, operation, service in phases:
        summary = results.summary(phase, operation, service)
        if summary is not None:
            medians.setdefault(phase, {}).setdefault(operation, {})[service] = asdict(summary)
    return {
        "settings": results.settings,
        "environment": results.environment,
        "seconds": round(results.seconds, 1),
        "medians": medians,
        "ratios": {
            operation.key: {
                "project/limit": results.ratio(MAIN_PHASE, operation.key, PROJECT, LIMIT),
                "project/peer": results.ratio(MAIN_PHASE, operation.key, PROJECT, PEER),
                "cpu project/limit": results.cpu_ratio(MAIN_PHASE, operation.key, PROJECT, LIMIT),
                "cpu project/peer": results.cpu_ratio(MAIN_PHASE, operation.key, PROJECT, PEER),
            }
            for operation in OPERATIONS
        },
        "postgres": {
            "server": results.postgres_server,
            "ratios": {
                operation.key: {
                    "project/peer": results.ratio(
                        POSTGRES_PHASE, operation.key, PG_PROJECT, PG_PEER
                    ),
                    "cpu project/peer": results.cpu_ratio(
                        POSTGRES_PHASE, operation.key, PG_PROJECT, PG_PEER
                    ),
                }
                for operation in OPERATIONS
            },
        },
        "webhooks": {
            "subscriptions": SUBSCRIPTIONS,
            "deliveries_received": results.webhook_deliveries,
            "ratios": {
                operation.key: {"with/without": webhooks_ratio(results, operation.key)}
                for operation in WRITES
            },
        },
        "scale": {
            "events": results.scale_events,
            "loads": [asdict(load) for load in results.scale_load],
            "ratios": {operation.key: scale_ratio(results, operation.key) for operation in READS},
        },
        "scale_error": results.scale_error,
        "failures": results.failures,
        "skipped": results.skipped,
        "errors": [asdict(count) for count in results.error_counts()],
        "worker_rss_mb": results.worker_rss_mb,
        "bare_read": None
        if results.bare_read is None
        else {
            **asdict(results.bare_read),
            "events_per_second": results.bare_read.events_per_second,
        },
        "rebuild": None if results.rebuild is None else asdict(results.rebuild),
        "targets": [asdict(row) for row in targets(results)],
        "samples": [
            {
                "phase": s.phase,
                "operation": s.operation,
                "service": s.service,
                "round": s.round,
                **asdict(s.result),
                "cpu_us_per_request": s.cpu_us_per_request,
                "worker_cpu_shares": s.worker_cpu_shares,
                "helper_cpu_us_per_request": s.helper_cpu_us_per_request,
                "bench_cpu_us_per_request": s.bench_cpu_us_per_request,
                "drain": None if s.drain is None else asdict(s.drain),
            }
            for s in results.samples
        ],
    }
