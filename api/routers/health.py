"""Liveness ``GET /healthz`` and Prometheus ``GET /metrics``."""

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from ..deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The API process is up")
def read_health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
def read_metrics(runtime: RuntimeDep) -> str:
    registry = CollectorRegistry()
    Gauge("station_api_mqtt_connected", "1 when the API is connected to the broker", registry=registry).set(
        1 if runtime.bus is not None and runtime.bus.connected.is_set() else 0)
    Gauge("station_api_grant_lists_published", "Grant lists issued since start", registry=registry).set(
        runtime.grants.published)
    Gauge("station_api_sse_clients", "Connected SSE clients", registry=registry).set(runtime.hub.clients)
    Gauge("station_api_events_processed", "Node events processed since start", registry=registry).set(
        runtime.access_log.processed)
    Gauge("station_api_backlog_drained", "1 once a restart's session backlog is processed", registry=registry).set(
        1 if runtime.access_log.drained else 0)
    Gauge("station_api_no_shows_released", "Bookings released as no-shows since start", registry=registry).set(
        runtime.sweeper.released)
    Gauge("station_api_mqtt_messages_accepted", "MQTT messages taken by the intakes since start",
          registry=registry).set(runtime.accepted())
    rejected = Gauge("station_api_rejected_messages", "MQTT messages refused, by reason", ["reason"],
                     registry=registry)
    for reason, n in runtime.rejected().items():
        rejected.labels(reason).set(n)
    return generate_latest(registry).decode()
