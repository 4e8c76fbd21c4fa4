"""History: where the collector's points go, and how the API and boards read them back.

One small interface, two implementations:

- :class:`SqliteHistory` — the embedded default (``station demo``, a laptop): one SQLite
  file, no server;
- :class:`InfluxHistory` — reads InfluxDB with InfluxQL (1.x, 2.x with a DBRP mapping,
  3.x); writing to InfluxDB goes through :class:`collector.influx.InfluxWriter`, which
  batches, spools and replays, and exposes the same ``write``.

Usage (the API's history endpoints)::

    history = SqliteHistory("history.sqlite")
    history.series("salle-aiguillage", "telemetry", "co2_ppm",
                   start, end, timedelta(minutes=10))
    # → [(datetime(…, 10:00, UTC), 612.4), (datetime(…, 10:10, UTC), None), …]

Buckets are aligned on multiples of ``every`` since the Unix epoch (as InfluxQL's
``GROUP BY time()`` does), cover ``[floor(start), end)``, and hold ``None`` when empty.
Writes are idempotent: a point with the same measurement, tags and time replaces the
previous one, so a replayed message never counts twice.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Protocol, runtime_checkable

from station.sqlite import open_wal

from .schema import FLOAT, INT, SCHEMA, Point

#: Aggregates every implementation understands (InfluxQL function names).
AGGREGATES = ("mean", "sum", "min", "max", "count", "last")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class HistoryError(ValueError):
    """A history query that cannot be answered (unknown measurement or field, bad range)."""


@runtime_checkable
class History(Protocol):
    """Write points; read one field of one space as a bucketed series."""

    def write(self, points: Iterable[Point]) -> None: ...

    def series(self, space: str | None, measurement: str, field: str, start: datetime, end: datetime,
               every: timedelta, agg: str = "mean") -> list[tuple[datetime, float | None]]: ...

    def close(self) -> None: ...


def check_query(measurement: str, field: str, start: datetime, end: datetime, every: timedelta,
                agg: str, max_buckets: int = 10_000) -> tuple[int, int, int, int]:
    """Validate a series query; return (first bucket, start, end, width) in ns since the epoch."""
    if measurement not in SCHEMA:
        raise HistoryError(f"unknown measurement {measurement!r}; known: {', '.join(SCHEMA)}")
    field_type = SCHEMA[measurement][1].get(field)
    if field_type is None:
        raise HistoryError(f"{measurement} has no field {field!r}; known: {', '.join(SCHEMA[measurement][1])}")
    if field_type not in (FLOAT, INT):
        raise HistoryError(f"{measurement}.{field} is a {field_type}, not a number")
    if agg not in AGGREGATES:
        raise HistoryError(f"unknown aggregate {agg!r}; use one of {', '.join(AGGREGATES)}")
    if start.tzinfo is None or end.tzinfo is None:
        raise HistoryError("start and end must be aware datetimes")
    if end <= start:
        raise HistoryError("end must be after start")
    width = int(every.total_seconds() * 1e9)
    if width < 1_000_000_000 or width % 1_000_000_000:
        raise HistoryError("bucket width must be a whole number of seconds")
    first = to_ns(start) // width * width
    stop = to_ns(end)
    if (stop - first) // width > max_buckets:
        raise HistoryError(f"more than {max_buckets} buckets: widen 'every' or shorten the range")
    return first, to_ns(start), stop, width


def to_ns(at: datetime) -> int:
    delta = at - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def from_ns(ns: int) -> datetime:
    return EPOCH + timedelta(microseconds=ns // 1_000)


def series_key(point: Point) -> str:
    """The series a point belongs to: its tags, sorted, without empty values."""
    return ",".join(f"{k}={v}" for k, v in sorted(point.tags.items()) if v not in (None, ""))


class SqliteHistory:
    """The embedded history: one SQLite file (WAL), safe to share between threads."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = threading.Lock()
        # FULL: the collector acknowledges a batch's messages once this commit returns, so
        # the commit must survive a power cut too, not only a crash (one fsync a batch).
        self._db = open_wal(self.path, synchronous="FULL")
        self._db.execute("""CREATE TABLE IF NOT EXISTS point (
            measurement TEXT NOT NULL, series TEXT NOT NULL, time_ns INTEGER NOT NULL,
            space TEXT, tags TEXT NOT NULL, fields TEXT NOT NULL,
            PRIMARY KEY (measurement, series, time_ns)) WITHOUT ROWID""")
        self._db.execute("CREATE INDEX IF NOT EXISTS point_space_time ON point (measurement, space, time_ns)")

    def write(self, points: Iterable[Point]) -> None:
        rows = [(p.measurement, series_key(p), to_ns(p.time), p.tags.get("space") or None,
                 json.dumps(p.tags, sort_keys=True), json.dumps(p.fields, sort_keys=True)) for p in points]
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany("INSERT OR REPLACE INTO point VALUES (?, ?, ?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def series(self, space: str | None, measurement: str, field: str, start: datetime, end: datetime,
               every: timedelta, agg: str = "mean") -> list[tuple[datetime, float | None]]:
        first, begin, stop, width = check_query(measurement, field, start, end, every, agg)
        value = f"json_extract(fields, '$.{field}')"
        sql_agg = {"mean": f"avg({value})", "sum": f"sum({value})", "min": f"min({value})",
                   "max": f"max({value})", "count": f"count({value})", "last": f"{value}"}[agg]
        where = "measurement = ? AND time_ns >= ? AND time_ns < ?"
        args: list = [measurement, begin, stop]
        if space is not None:
            where += " AND space = ?"
            args.append(space)
        if agg == "last":  # SQLite returns the bare column of the row holding max(time_ns)
            sql = (f"SELECT (time_ns - ?) / ? AS b, {value}, max(time_ns) FROM point "
                   f"WHERE {where} AND {value} IS NOT NULL GROUP BY b")
        else:
            sql = f"SELECT (time_ns - ?) / ? AS b, {sql_agg} FROM point WHERE {where} GROUP BY b"
        with self._lock:
            rows = self._db.execute(sql, [first, width, *args]).fetchall()
        found = {int(r[0]): r[1] for r in rows}
        n = (stop - first + width - 1) // width
        return [(from_ns(first + k * width), _number(found.get(k))) for k in range(n)]

    def count(self, measurement: str) -> int:
        """How many points of a measurement are stored (tests and `station` diagnostics)."""
        with self._lock:
            return self._db.execute("SELECT count(*) FROM point WHERE measurement = ?", (measurement,)).fetchone()[0]

    def spaces(self, measurement: str) -> set[str]:
        """The spaces a measurement has points for."""
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT space FROM point WHERE measurement = ? AND space IS NOT NULL",
                                    (measurement,)).fetchall()
        return {r[0] for r in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _number(value) -> float | None:
    return None if value is None else float(value)


class InfluxHistory:
    """Reads series from InfluxDB with InfluxQL (``/query``), which 1.x, 2.x (DBRP) and 3.x answer.

    ``writer`` (an :class:`collector.influx.InfluxWriter`) receives ``write``; without it
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

    def query(self, influxql: str) -> list[dict]:
        """Run one InfluxQL statement; return its series (``name``, ``columns``, ``values``)."""
        response = self._http.get("/query", params={"db": self.database, "q": influxql, "epoch": "ns"})
        response.raise_for_status()
        result = response.json()["results"][0]
        if "error" in result:
            raise HistoryError(f"InfluxDB: {result['error']}")
        return result.get("series", [])

    def series(self, space: str | None, measurement: str, field: str, start: datetime, end: datetime,
               every: timedelta, agg: str = "mean") -> list[tuple[datetime, float | None]]:
        first, begin, stop, width = check_query(measurement, field, start, end, every, agg)
        where = f"time >= {begin} AND time < {stop}"
        if space is not None:
            where += f" AND \"space\" = '{_quote(space)}'"
        q = (f'SELECT {agg}("{field}") FROM "{measurement}" WHERE {where} '
             f"GROUP BY time({width // 1_000_000_000}s) fill(null)")
        found: dict[int, float | None] = {}
        for s in self.query(q):
            for t, v in s["values"]:
                found[int(t)] = v
        n = (stop - first + width - 1) // width
        return [(from_ns(first + k * width), _number(found.get(first + k * width))) for k in range(n)]

    def close(self) -> None:
        self._http.close()
        if self.writer is not None:
            self.writer.close()


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
