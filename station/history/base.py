"""The history interface: where the collector's points go, and how the API and boards read them back.

One small interface, two implementations (in this package, so that the collector that
writes and the API that reads share them without importing each other):

- :class:`SqliteHistory` — the embedded default (``station demo``, a laptop): one SQLite
  file, no server;
- :class:`InfluxHistory` — reads InfluxDB with InfluxQL (1.x, 2.x with a DBRP mapping,
  3.x); writing to InfluxDB goes through the collector's ``InfluxWriter``, which
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

from datetime import datetime, timedelta, timezone
from typing import Iterable, Protocol, runtime_checkable

from .schema import FLOAT, INT, SCHEMA, Point

#: Aggregates every implementation understands (InfluxQL function names).
AGGREGATES = ("mean", "sum", "min", "max", "count", "last")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class HistoryError(ValueError):
    """A history query that cannot be answered (unknown measurement or field, bad range)."""


class PointRejected(ValueError):
    """The store can never take (some of) these points: a time beyond its range, a field
    whose type clashes with what it holds, a value it cannot represent.

    Raised by ``write`` for the data, never for the store's health: anything else a
    ``write`` raises (disk full, read-only file, server away) means "not stored *yet*",
    and the writer retries. ``indexes`` names the refused points (positions in what was
    given to ``write``) when the store knows them; then nothing was written. Without
    them the collector splits the batch to find the refused messages, stores the rest
    and dead-letters those.
    """

    def __init__(self, detail: str, indexes: set[int] | None = None):
        super().__init__(detail)
        self.indexes = indexes


@runtime_checkable
class History(Protocol):
    """Write points; read one field of one space as a bucketed series."""

    def write(self, points: Iterable[Point]) -> None:
        """Store the points, or raise: PointRejected for data it can never take, anything
        else when it cannot store them now."""

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


#: What both stores can hold: nanoseconds since 1970 in a signed 64-bit integer.
NS_MIN, NS_MAX = -(2**63), 2**63 - 1


def to_ns(at: datetime) -> int:
    delta = at - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def from_ns(ns: int) -> datetime:
    return EPOCH + timedelta(microseconds=ns // 1_000)


def series_key(point: Point) -> str:
    """The series a point belongs to: its tags, sorted, without empty values."""
    return ",".join(f"{k}={v}" for k, v in sorted(point.tags.items()) if v not in (None, ""))


def as_number(value) -> float | None:
    return None if value is None else float(value)
