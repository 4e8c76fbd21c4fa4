"""Liveness ``GET /healthz`` and Prometheus ``GET /metrics``."""

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from ..deps import StationDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The API process is up")
def read_health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics")
def read_metrics(station: StationDep) -> str:
    registry = CollectorRegistry()
    Gauge("station_api_mqtt_connected", "1 when the API is connected to the broker", registry=registry).set(
        1 if station.bus is not None and station.bus.connected.is_set() else 0)
    Gauge("station_api_grant_lists_published", "Grant lists issued since start", registry=registry).set(
        station.grants.published)
    Gauge("station_api_sse_clients", "Connected SSE clients", registry=registry).set(station.hub.clients)
    rejected = Gauge("station_api_rejected_messages", "Malformed MQTT messages dropped", ["reason"], registry=registry)
    for reason, n in (station.rejected + station.board.rejected).items():
        rejected.labels(reason).set(n)
    return generate_latest(registry).decode()
