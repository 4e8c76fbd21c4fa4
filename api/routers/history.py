"""``GET /api/v1/rooms/{room}/history``: CO2, people estimate, occupancy of a space over time.

Reads through the shared history interface (:mod:`station.history`): the embedded
SQLite file or InfluxDB, whichever the collector writes to (settings ``history_*``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from station.history import HistoryError

from ..deps import ClockDep, InventoryDep, RuntimeDep, unprocessable
from ..fields import Identifier, When, errors

router = APIRouter(prefix="/api/v1/rooms", tags=["rooms"])


class Metric(str, Enum):
    co2_ppm = "co2_ppm"
    people_estimate = "people_estimate"
    occupied = "occupied"
    temperature_c = "temperature_c"
    humidity_pct = "humidity_pct"


SOURCE = {Metric.co2_ppm: ("telemetry", "co2_ppm"), Metric.people_estimate: ("occupancy", "people_estimate"),
          Metric.occupied: ("occupancy", "occupied"), Metric.temperature_c: ("telemetry", "temperature_c"),
          Metric.humidity_pct: ("telemetry", "humidity_pct")}


class HistoryPoint(BaseModel):
    time: datetime
    value: float | None


class HistoryPublic(BaseModel):
    room: str
    metric: Metric
    every_minutes: int
    points: list[HistoryPoint]


@router.get("/{room_id}/history", response_model=HistoryPublic, summary="A metric of a space over time",
            responses=errors((404, "No such space"), (503, "No history store configured")))
def read_room_history(room_id: Identifier, runtime: RuntimeDep, inventory: InventoryDep, clock: ClockDep,
                      metric: Metric = Metric.co2_ppm, start: When | None = None,
                      end: When | None = None,
                      every_minutes: int = Query(default=10, ge=1, le=24 * 60)) -> HistoryPublic:
    try:
        inventory.space(room_id)
    except KeyError:
        raise HTTPException(404, f"no room {room_id!r}") from None
    history = runtime.history
    if history is None:
        raise HTTPException(503, "no history store configured (STATION_HISTORY_SQLITE or STATION_HISTORY_INFLUX_URL)")
    end = end or clock.now()
    start = start or end - timedelta(hours=24)
    if start >= end:
        raise unprocessable("start must be before end")
    if (end - start) / timedelta(minutes=every_minutes) > 2000:
        raise unprocessable("too many points: widen every_minutes or shorten the range (2000 at most)")
    measurement, field = SOURCE[metric]
    try:
        series = history.series(room_id, measurement, field, start, end, timedelta(minutes=every_minutes))
    except HistoryError as exc:
        raise unprocessable(str(exc)) from None
    return HistoryPublic(room=room_id, metric=metric, every_minutes=every_minutes,
                         points=[HistoryPoint(time=t, value=v) for t, v in series])
