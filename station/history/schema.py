"""The time-series point schema: what the collector writes, and what boards may read.

One table for InfluxDB and the embedded SQLite history alike. Grafana dashboards are
checked against it in the tests, so renaming a field breaks the build, not the boards.

| measurement | tags | fields |
| --- | --- | --- |
| ``telemetry`` | site, space, node | co2_ppm, temperature_c, humidity_pct, light_lux (float); faults (int) |
| ``event`` | site, node, kind, space, door, machine | seq (int), count (int, always 1), id (string), reason (string), duration_s (float, machine_off) |
| ``occupancy`` | site, space | occupied (int 0/1), unknown (int 0/1), confidence, people_estimate, co2_ppm (float) |
| ``availability`` | site, space | status (string), reserved (int 0/1), free (int 0/1) |
| ``node_status`` | site, node | online (int 0/1), uptime_s (float), outbox_depth (int), version, config_hash (string) |
| ``node_grant`` | site, node, door | version (int) |
| ``access_daily`` | site, space, door, kind | count (int): person-linked events of one day (00:00 UTC), no id, no node — what retention keeps of ``event`` rows past their horizon |

Points are timestamped with the message's ``ts`` (not the arrival time), so a replayed
message writes the same series at the same time: InfluxDB and the SQLite history both
overwrite, and nothing is double-counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

FLOAT, INT, STRING = "float", "int", "string"

#: measurement → (tag keys, {field: type})
SCHEMA: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "telemetry": (("site", "space", "node"),
                  {"co2_ppm": FLOAT, "temperature_c": FLOAT, "humidity_pct": FLOAT, "light_lux": FLOAT,
                   "faults": INT}),
    "event": (("site", "node", "kind", "space", "door", "machine"),
              {"seq": INT, "count": INT, "id": STRING, "reason": STRING, "duration_s": FLOAT}),
    "occupancy": (("site", "space"),
                  {"occupied": INT, "unknown": INT, "confidence": FLOAT, "people_estimate": FLOAT,
                   "co2_ppm": FLOAT}),
    "availability": (("site", "space"), {"status": STRING, "reserved": INT, "free": INT}),
    "node_status": (("site", "node"),
                    {"online": INT, "uptime_s": FLOAT, "outbox_depth": INT, "version": STRING,
                     "config_hash": STRING}),
    "node_grant": (("site", "node", "door"), {"version": INT}),
    "access_daily": (("site", "space", "door", "kind"), {"count": INT}),
}

_ALLOWED = {m: (frozenset(tags), frozenset(fields)) for m, (tags, fields) in SCHEMA.items()}


@dataclass(frozen=True)
class Point:
    """One time-series point; ``fields`` must follow :data:`SCHEMA`."""

    measurement: str
    tags: dict[str, str]
    fields: dict[str, float | int | str]
    time: datetime

    def check(self) -> "Point":
        allowed = _ALLOWED.get(self.measurement)
        if allowed is None:
            raise ValueError(f"unknown measurement {self.measurement!r}")
        if self.tags.keys() <= allowed[0] and self.fields.keys() <= allowed[1]:
            return self  # the common case, a set comparison per point
        tag_keys, field_types = SCHEMA[self.measurement]
        extra_tags = set(self.tags) - set(tag_keys)
        extra_fields = set(self.fields) - set(field_types)
        if extra_tags or extra_fields:
            raise ValueError(f"{self.measurement}: not in the schema: {sorted(extra_tags | extra_fields)}")
        return self
