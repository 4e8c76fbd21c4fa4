"""Every InfluxQL query of the boards and alerts: listing, macro expansion, references.

Used by the tests to run each query, with Grafana's macros expanded, on a real
InfluxDB, and to check every measurement, field and tag against the collector's schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from .alerts import RULES
from .boards import all_boards


@dataclass(frozen=True)
class BoardQuery:
    where: str  # "overview: CO2 per space [A]" or "alert co2-high-occupied [B]"
    influxql: str


def board_queries() -> list[BoardQuery]:
    out = []
    for name, board in all_boards().items():
        for panel in board["panels"]:
            for t in panel["targets"]:
                out.append(BoardQuery(f"{name}: {panel['title']} [{t['refId']}]", t["query"]))
        for var in board["templating"]["list"]:
            out.append(BoardQuery(f"{name}: variable ${var['name']}", var["query"]))
    for rule in RULES:
        for q in rule.queries:
            out.append(BoardQuery(f"alert {rule.uid} [{q.ref}]", q.influxql))
    return out


def _duration(seconds: float) -> str:
    seconds = max(1, int(seconds))
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def expand(query: str, *, start: datetime, end: datetime, variables: dict[str, str],
           max_points: int = 1000) -> str:
    """Expand Grafana's InfluxQL macros the way Grafana does before sending the query."""
    interval = max(10.0, (end - start).total_seconds() / max_points)
    interval = next((s for s in (10, 30, 60, 300, 600, 1800, 3600, 21600, 86400) if s >= interval), 86400)
    time_filter = f"time >= {int(start.timestamp() * 1000)}ms and time <= {int(end.timestamp() * 1000)}ms"
    out = query.replace("$timeFilter", time_filter)
    out = out.replace("$__interval_ms", str(interval * 1000)).replace("$__interval", _duration(interval))
    for name, value in variables.items():
        out = out.replace(f"${name}", re.escape(value))
    return out


_FROM = re.compile(r'FROM\s+"([^"]+)"')
_FIELD = re.compile(r'\b(?:mean|last|max|min|sum|count|first|median)\("([^"]+)"\)')
_WHERE_TAG = re.compile(r'"([a-z_]+)"\s*(?:=~|!~|=|!=|>|<|>=|<=)')
_GROUP = re.compile(r'GROUP BY\s+(.*?)(?:\s+fill\(|$)')
_KEY = re.compile(r'WITH KEY = "([^"]+)"')


def references(influxql: str) -> tuple[str, set[str], set[str]]:
    """(measurement, fields read, tags or fields named in WHERE / GROUP BY / WITH KEY)."""
    measurement = _FROM.search(influxql)[1]
    fields = set(_FIELD.findall(influxql))
    names = set(_WHERE_TAG.findall(influxql)) | set(_KEY.findall(influxql))
    group = _GROUP.search(influxql)
    if group:
        names |= set(re.findall(r'"([^"]+)"', group[1]))
    return measurement, fields, names


def unexpanded_variables(influxql: str) -> set[str]:
    return set(re.findall(r"\$([A-Za-z_]+)", influxql)) - {"timeFilter", "__interval", "__interval_ms"} - {
        v for v in re.findall(r"\$(tag_[a-z_]+)", influxql)}
