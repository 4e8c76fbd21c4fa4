"""Small builders for Grafana dashboard JSON (schema version 39) with InfluxQL targets.

Dashboards are Python data here and JSON in ``dashboards/grafana/dashboards/``; the
JSON is generated (``station dashboards build``) and a test fails when it drifts.
"""

from __future__ import annotations

from typing import Any

DATASOURCE_UID = "la-station-influxdb"
DATASOURCE = {"type": "influxdb", "uid": DATASOURCE_UID}
SITE_FILTER = '"site" =~ /^$site$/'
SPACE_FILTER = '"space" =~ /^$space$/'
CO2_STEPS = [  # ppm bands: good, fair, poor, bad
    {"color": "green", "value": None},
    {"color": "yellow", "value": 800},
    {"color": "orange", "value": 1000},
    {"color": "red", "value": 1400},
]


def target(query: str, ref: str = "A", alias: str | None = None, fmt: str = "time_series") -> dict[str, Any]:
    t = {"refId": ref, "datasource": DATASOURCE, "rawQuery": True, "query": query, "resultFormat": fmt}
    if alias:
        t["alias"] = alias
    return t


def panel(kind: str, title: str, description: str, targets: list[dict], *, unit: str | None = None,
          steps: list[dict] | None = None, mappings: list[dict] | None = None, w: int = 12, h: int = 8,
          options: dict | None = None, min_: float | None = None, max_: float | None = None) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    if unit:
        defaults["unit"] = unit
    if steps:
        defaults["thresholds"] = {"mode": "absolute", "steps": steps}
        defaults["color"] = {"mode": "thresholds"}
    if mappings:
        defaults["mappings"] = mappings
    if min_ is not None:
        defaults["min"] = min_
    if max_ is not None:
        defaults["max"] = max_
    return {"type": kind, "title": title, "description": description, "datasource": DATASOURCE,
            "targets": targets, "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options or {}, "gridPos": {"w": w, "h": h, "x": 0, "y": 0}}


def layout(panels: list[dict]) -> list[dict]:
    """Give panels ids and a left-to-right, top-to-bottom grid position."""
    x = y = row_h = 0
    for i, p in enumerate(panels, 1):
        w, h = p["gridPos"]["w"], p["gridPos"]["h"]
        if x + w > 24:
            x, y, row_h = 0, y + row_h, 0
        p["id"] = i
        p["gridPos"].update(x=x, y=y)
        x += w
        row_h = max(row_h, h)
    return panels


def query_variable(name: str, label: str, query: str, *, include_all: bool = False) -> dict[str, Any]:
    return {"name": name, "label": label, "type": "query", "datasource": DATASOURCE, "query": query,
            "definition": query, "refresh": 1, "includeAll": include_all, "multi": include_all,
            "allValue": ".*" if include_all else None, "sort": 1,
            "current": {}, "options": [], "hide": 0}


SITE_VARIABLE = query_variable("site", "Site", 'SHOW TAG VALUES FROM "occupancy" WITH KEY = "site"')
SPACE_VARIABLE = query_variable(
    "space", "Space", 'SHOW TAG VALUES FROM "occupancy" WITH KEY = "space" WHERE "site" =~ /^$site$/')


def dashboard(uid: str, title: str, description: str, panels: list[dict], variables: list[dict], *,
              time_from: str = "now-24h", refresh: str = "30s", tags: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"uid": uid, "title": title, "description": description, "tags": ["la-station", *tags],
            "timezone": "browser", "schemaVersion": 39, "version": 1, "editable": True,
            "refresh": refresh, "time": {"from": time_from, "to": "now"},
            "templating": {"list": variables}, "annotations": {"list": []},
            "panels": layout(panels)}


ONLINE_MAPPING = [{"type": "value", "options": {"0": {"text": "offline", "color": "red"},
                                                  "1": {"text": "online", "color": "green"}}}]
OCCUPIED_MAPPING = [{"type": "value", "options": {"0": {"text": "free", "color": "green"},
                                                    "1": {"text": "occupied", "color": "red"}}}]
