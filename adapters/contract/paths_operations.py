"""The paths of webhook subscriptions and of running the service: health, readiness, the
reference page, metrics and this document (a table of ``Operation`` records, as in
``paths.py``)."""

from __future__ import annotations

from adapters.contract.docs import text_content
from adapters.contract.examples import SCHEMA_EXAMPLES
from adapters.contract.operation import PROBLEM_JSON, Operation
from adapters.contract.webhooks import DeliveriesQuery

OPERATION_PATHS: dict[str, list[Operation]] = {
    "/api/webhooks": [
        Operation(
            method="get",
            operation_id="listWebhooks",
            tag="webhooks",
            summary="List webhook subscriptions",
            description="Every subscription, oldest first; secrets are never shown again.",
            ok="200",
            ok_description="The subscriptions.",
            body="WebhookList",
        ),
        Operation(
            method="post",
            operation_id="createWebhook",
            tag="webhooks",
            summary="Subscribe a URL to events",
            description=(
                "Each matching event after this moment is POSTed to `url` as the feed shows it, "
                "signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, "
                "`webhook-signature`), at least once and in log order. The `secret` is shown only "
                "here."
            ),
            ok="201",
            ok_description="Subscribed.",
            body="NewWebhookEnvelope",
            request="CreateWebhook",
            response_headers=("Location", "CacheControl"),
            errors=(400, 408, 413, 415, 503),
        ),
    ],
    "/api/webhooks/{webhook_id}": [
        Operation(
            method="get",
            operation_id="getWebhook",
            tag="webhooks",
            summary="Get a webhook subscription",
            description="Without its secret.",
            ok="200",
            ok_description="The subscription.",
            body="WebhookEnvelope",
            errors=(400, 404, 503),
        ),
        Operation(
            method="patch",
            operation_id="updateWebhook",
            tag="webhooks",
            summary="Change a webhook subscription",
            description=(
                "Any of `url`, `types`, `projectId`, `enabled`. A subscription that kept failing "
                "for the give-up time is disabled; enabling it resumes at the event where it "
                "stopped."
            ),
            ok="200",
            ok_description="The subscription after the change.",
            body="WebhookEnvelope",
            request="UpdateWebhook",
            response_headers=("CacheControl",),
            errors=(400, 404, 408, 413, 415, 503),
        ),
        Operation(
            method="delete",
            operation_id="deleteWebhook",
            tag="webhooks",
            summary="Delete a webhook subscription",
            description="Its progress and delivery log go with it.",
            ok="200",
            ok_description="Deleted.",
            body="DeletedWebhook",
            response_headers=("CacheControl",),
            errors=(400, 404, 503),
        ),
    ],
    "/api/webhooks/{webhook_id}/deliveries": [
        Operation(
            method="get",
            operation_id="listWebhookDeliveries",
            tag="webhooks",
            summary="A subscription's delivery log",
            description=(
                "The latest attempts, newest first: the event's `position`, the `attempt` at it, "
                "when, the receiver's HTTP `status` (null if none came), the `error`, and how long"
                " it took."
            ),
            ok="200",
            ok_description="The attempts.",
            body="DeliveryList",
            query=DeliveriesQuery,
            errors=(400, 404, 503),
        ),
    ],
    "/health": [
        Operation(
            method="get",
            operation_id="getHealth",
            tag="operations",
            summary="The process answers",
            description="200 while the process runs; for liveness probes.",
            ok="200",
            ok_description="Up.",
            body="Health",
            errors=(400,),
        ),
    ],
    "/ready": [
        Operation(
            method="get",
            operation_id="getReady",
            tag="operations",
            summary="Storage reachable, read model at the log's head",
            description=(
                "For readiness probes: 200 when the storage answers and the read model has every "
                "event of the log."
            ),
            ok="200",
            ok_description=(
                "Ready; the read model's position, the log's head and the lag between them."
            ),
            body="Readiness",
            errors=(400,),
            more={
                "503": {
                    "description": "Not ready.",
                    "content": {
                        PROBLEM_JSON: {
                            "schema": {"$ref": "#/components/schemas/ReadinessProblem"},
                            "example": SCHEMA_EXAMPLES["ReadinessProblem"],
                        }
                    },
                }
            },
        ),
    ],
    "/docs": [
        Operation(
            method="get",
            operation_id="getReference",
            tag="operations",
            summary="This document as an interactive reference",
            description=(
                "Swagger UI over `/openapi.json`, every file of it served by the service itself: "
                "it works offline."
            ),
            ok="200",
            ok_description="The reference page.",
            errors=(400,),
            content=text_content("text/html"),
        ),
    ],
    "/docs/{asset}": [
        Operation(
            method="get",
            operation_id="getReferenceAsset",
            tag="operations",
            summary="A file of the reference page",
            description=(
                "A style sheet, script or icon of `/docs`, from the pinned Swagger UI release."
            ),
            ok="200",
            ok_description="The file.",
            errors=(400, 404),
            content=text_content("text/css", "text/javascript", "image/png"),
        ),
    ],
    "/": [
        Operation(
            method="get",
            operation_id="getRoot",
            tag="operations",
            summary="Where to start",
            description="Redirects to the interactive reference, `/docs`.",
            ok="302",
            ok_description="Found: `Location` is `/docs`.",
            errors=(400,),
            response_headers=("Location",),
            bodiless=True,
        ),
    ],
    "/metrics": [
        Operation(
            method="get",
            operation_id="getMetrics",
            tag="operations",
            summary="Prometheus metrics",
            description=(
                "Requests by route, method and status; latency histograms; events appended by "
                "type; the read model's position and lag. Summed over all worker processes. A "
                "bearer token is required only when the service is configured to protect it."
            ),
            ok="200",
            ok_description="The Prometheus text exposition format.",
            errors=(400,),
        ),
    ],
    "/openapi.json": [
        Operation(
            method="get",
            operation_id="getOpenApi",
            tag="operations",
            summary="This document",
            description="The OpenAPI 3.1 document of the API, generated from the service's models.",
            ok="200",
            ok_description="The document.",
            body="OpenApiDocument",
            errors=(400,),
        ),
    ],
}
