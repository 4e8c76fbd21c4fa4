"""Alert rules for facility staff, as Grafana unified-alerting rules with InfluxQL queries.

Each rule is: an InfluxQL query over a relative window (A), a reduction per series (B),
and a threshold (C) — with a math step where two signals combine (CO2 *and* occupied).
Rendered both as a provisioning file (``dashboards/grafana/provisioning/alerting/``)
and as the HTTP API's body (``station dashboards provision``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .panels import DATASOURCE_UID

FOLDER_UID = "la-station"
FOLDER_TITLE = "La Station"
RULE_GROUP = "la-station-facility"


@dataclass(frozen=True)
class Query:
    ref: str
    influxql: str
    window_s: int


@dataclass(frozen=True)
class AlertRule:
    uid: str
    title: str
    summary: str
    queries: tuple[Query, ...]
    condition: str  # math expression over the reduced series, e.g. "$B > 1000"
    for_: str
    severity: str = "warning"
    reducer: str = "last"
    labels: dict[str, str] = field(default_factory=dict)

    def data(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for q in self.queries:
            out.append({"refId": q.ref, "relativeTimeRange": {"from": q.window_s, "to": 0},
                        "datasourceUid": DATASOURCE_UID,
                        "model": {"refId": q.ref, "rawQuery": True, "query": q.influxql,
                                  "resultFormat": "time_series", "intervalMs": 60000, "maxDataPoints": 43200}})
        for q in self.queries:
            out.append({"refId": f"{q.ref}_last", "relativeTimeRange": {"from": 0, "to": 0},
                        "datasourceUid": "__expr__",
                        "model": {"refId": f"{q.ref}_last", "type": "reduce", "expression": q.ref,
                                  "reducer": self.reducer, "settings": {"mode": "dropNN"}}})
        expression = self.condition
        for q in self.queries:
            expression = expression.replace(f"${q.ref}", f"${q.ref}_last")
        out.append({"refId": "ALERT", "relativeTimeRange": {"from": 0, "to": 0}, "datasourceUid": "__expr__",
                    "model": {"refId": "ALERT", "type": "math", "expression": expression}})
        return out

    def provisioning(self) -> dict[str, Any]:
        """The rule as it appears in a Grafana alerting provisioning file."""
        return {"uid": self.uid, "title": self.title, "condition": "ALERT", "data": self.data(),
                "for": self.for_, "noDataState": "OK", "execErrState": "Error",
                "labels": {"severity": self.severity, "team": "facility", **self.labels},
                "annotations": {"summary": self.summary}}

    def api_body(self) -> dict[str, Any]:
        """The rule as the provisioning HTTP API takes it (``/api/v1/provisioning/alert-rules``)."""
        body = self.provisioning()
        body.update({"folderUID": FOLDER_UID, "ruleGroup": RULE_GROUP, "orgID": 1})
        return body


def _count(kind: str, window_s: int, by: str = "door") -> Query:
    return Query("A", f'SELECT count("count") FROM "event" WHERE "kind" = \'{kind}\' AND $timeFilter '
                      f'GROUP BY "site", "{by}"', window_s)


RULES: tuple[AlertRule, ...] = (
    AlertRule("co2-high-occupied", "CO2 above 1,000 ppm in an occupied space",
              "{{ $labels.space }}: CO2 above 1,000 ppm for 10 minutes while occupied — ventilate.",
              (Query("A", 'SELECT mean("co2_ppm") FROM "telemetry" WHERE $timeFilter '
                          'GROUP BY time(1m), "site", "space" fill(none)', 600),
               Query("B", 'SELECT last("occupied") FROM "occupancy" WHERE $timeFilter GROUP BY "site", "space"',
                     600)),
              "$A > 1000 && $B > 0", "10m"),
    AlertRule("node-offline", "Edge node offline",
              "{{ $labels.node }} has been offline for more than 2 minutes.",
              (Query("A", 'SELECT last("online") FROM "node_status" WHERE $timeFilter GROUP BY "site", "node"',
                     86400),),
              "$A < 1", "2m", severity="critical"),
    AlertRule("door-held-open", "Door held open",
              "{{ $labels.door }} has been held open longer than 2 minutes.",
              (_count("door_held_open", 300),), "$A > 0", "0s"),
    AlertRule("door-forced", "Door forced",
              "{{ $labels.door }} opened without a badge, exit request or command.",
              (_count("door_forced", 120),), "$A > 0", "0s", severity="critical"),
    AlertRule("badges-denied-burst", "Five or more denied badges at one door within a minute",
              "{{ $labels.door }}: repeated denied badges — a cloned card being tried, or a stale grant list.",
              (_count("access_denied", 60),), "$A >= 5", "0s"),
    AlertRule("fire-release", "Fire release",
              "The fire input released {{ $labels.door }}.",
              (_count("fire_release", 120),), "$A > 0", "0s", severity="critical"),
)


def provisioning_file() -> dict[str, Any]:
    return {"apiVersion": 1, "groups": [{"orgId": 1, "name": RULE_GROUP, "folder": FOLDER_TITLE, "interval": "1m",
                                         "rules": [r.provisioning() for r in RULES]}]}
