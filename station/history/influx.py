"""Reading InfluxDB with InfluxQL (``/query``), which InfluxDB 1.x, 2.x (DBRP mapping) and 3.x answer."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Iterable

from .base import HistoryError, as_number, check_query, from_ns, to_ns
from .retention import DAY_NS, PERSON_EVENT_KINDS, ROLLUP, ROLLUP_TAGS, fold, rollup_tags
from .schema import Point


class InfluxHistory:
    """Reads series from InfluxDB with InfluxQL (``/query``), which 1.x, 2.x (DBRP) and 3.x answer.

    ``writer`` (the collector's ``InfluxWriter``) receives ``write``; without it
    this history is read-only.
    """

    def __init__(self, url: str, database: str, *, token: str | None = None, writer=None, timeout_s: float = 10.0):
        import httpx

        self.url, self.database, self.writer = url.rstrip("/"), database, writer
        headers = {"Authorization": f"Token {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout_s)

    def write(self, points: Iterable[Point]) -> None:
        if self.writer is None:
            raise HistoryError("this InfluxDB history is read-only (no writer configured)")
        self.writer.write(points)

    def query(self, influxql: str, bind: dict | None = None, method: str = "GET") -> list[dict]:
        """Run one InfluxQL statement; return its series (``name``, ``columns``, ``values``).

        Values come in ``bind`` (``$name`` in the statement, InfluxDB's bound parameters),
        never pasted into the statement's text. ``POST`` for statements that change data
        (``DELETE``)."""
        params = {"db": self.database, "q": influxql, "epoch": "ns"}
        if bind:
            params["params"] = json.dumps(bind)
        response = self._http.request(method, "/query", params=params)
        response.raise_for_status()
        result = response.json()["results"][0]
        if "error" in result:
            raise HistoryError(f"InfluxDB: {result['error']}")
        return result.get("series", [])

    def series(self, space: str | None, measurement: str, field: str, start: datetime, end: datetime,
               every: timedelta, agg: str = "mean") -> list[tuple[datetime, float | None]]:
        first, begin, stop, width = check_query(measurement, field, start, end, every, agg)
        where, bind = f"time >= {begin} AND time < {stop}", {}
        if space is not None:
            where += ' AND "space" = $space'
            bind["space"] = space
        q = (f'SELECT {agg}("{field}") FROM "{measurement}" WHERE {where} '
             f"GROUP BY time({width // 1_000_000_000}s) fill(null)")
        found: dict[int, float | None] = {}
        for s in self.query(q, bind):
            for t, v in s["values"]:
                found[int(t)] = v
        n = (stop - first + width - 1) // width
        return [(from_ns(first + k * width), as_number(found.get(first + k * width))) for k in range(n)]

    def forget_people(self, before: datetime, kinds=PERSON_EVENT_KINDS) -> int:
        """Fold the person-linked events of whole days before ``before`` into per-day
        ``access_daily`` counts (added to any already there), then delete them (see
        :mod:`.retention`); how many went. InfluxQL ``DELETE`` and the 1.x ``/write``:
        InfluxDB 1.x (2.x and 3.x answer ``/write``; their deletes go through the bucket's
        retention, see docs/privacy.md)."""
        from station.privacy import day_floor

        version = self._http.get("/ping").headers.get("X-Influxdb-Version", "")
        if not version.startswith("1."):  # nothing written: a failed DELETE after the write would count twice
            raise HistoryError(f"InfluxDB {version or '?'}: InfluxQL DELETE is a 1.x statement; give the bucket a "
                               "retention period instead (docs/privacy.md)")
        cut = to_ns(day_floor(before))
        kind, bind = _kinds(kinds)
        first = self.query(f'SELECT first("count") FROM "event" WHERE {kind} AND time < {cut}', bind)
        if not first:
            return 0
        lo = first[0]["values"][0][0] // DAY_NS * DAY_NS
        by = ", ".join(f'"{t}"' for t in ROLLUP_TAGS)
        events = []
        for series in self.query(f'SELECT "count" FROM "event" WHERE {kind} AND time >= {lo} AND time < {cut} '
                                 f"GROUP BY {by}", bind):
            events += [(int(t), series.get("tags", {})) for t, _ in series["values"]]
        existing = {}
        for series in self.query(f'SELECT "count" FROM "{ROLLUP}" WHERE time >= {lo} AND time < {cut} GROUP BY {by}'):
            tags = series.get("tags", {})
            for t, n in series["values"]:
                existing[(int(t), *(tags.get(k) or "" for k in ROLLUP_TAGS))] = int(n)
        counts = fold(events, {k: v for k, v in existing.items()})
        lines = [f"{ROLLUP}," + ",".join(f"{k}={_tag(v)}" for k, v in sorted(rollup_tags(key).items()))
                 + f" count={n}i {key[0]}" for key, n in counts.items()]
        if lines:
            response = self._http.post("/write", params={"db": self.database, "precision": "ns"},
                                       content="\n".join(lines).encode())
            response.raise_for_status()
        self.query(f'DELETE FROM "event" WHERE {kind} AND time < {cut}', bind, method="POST")
        return len(events)

    def held(self, kinds=PERSON_EVENT_KINDS) -> list[tuple[str, int, datetime | None]]:
        """(what, rows, oldest point) per measurement; person-linked events apart."""
        from .schema import SCHEMA

        kind, bind = _kinds(kinds)
        out = []
        for label, m, where in [("event (person-linked: " + ", ".join(kinds) + ")", "event", f"WHERE {kind}"),
                                ("event (other kinds)", "event", ""),
                                *[(m, m, "") for m in SCHEMA if m != "event"]]:
            field = next(iter(SCHEMA[m][1]))
            rows = self.query(f'SELECT count("{field}") FROM "{m}" {where}', bind if where else None)
            n = int(rows[0]["values"][0][1]) if rows else 0
            first = self.query(f'SELECT first("{field}") FROM "{m}" {where}', bind if where else None) if n else []
            out.append((label, n, from_ns(int(first[0]["values"][0][0])) if first else None))
        people = out[0][1]
        out[1] = (out[1][0], out[1][1] - people, out[1][2])  # all events minus the person-linked ones
        return out

    def close(self) -> None:
        self._http.close()
        if self.writer is not None:
            self.writer.close()


def _tag(value: str) -> str:
    """A tag value in line protocol (commas, spaces and equals signs escaped)."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace(" ", "\\ ").replace("=", "\\=")


def _kinds(kinds) -> tuple[str, dict]:
    """``("kind" = $k0 OR …)`` and its bound values."""
    bind = {f"k{i}": str(k) for i, k in enumerate(kinds)}
    return "(" + " OR ".join(f'"kind" = ${name}' for name in bind) + ")", bind
