"""The embedded history: one SQLite file, no server (``station demo``, a laptop, a small site)."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterable

from station.sqlite import open_wal

from .base import NS_MAX, NS_MIN, PointRejected, as_number, check_query, from_ns, series_key, to_ns
from .retention import PERSON_EVENT_KINDS, ROLLUP, fold, rollup_tags
from .schema import Point


class SqliteHistory:
    """The embedded history: one SQLite file (WAL), safe to share between threads."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = threading.Lock()
        # FULL: the collector acknowledges a batch's messages once this commit returns, so
        # the commit must survive a power cut too, not only a crash (one fsync a batch).
        # A file locked by another process is an outage: fail within a second, retry later.
        self._db = open_wal(self.path, synchronous="FULL", busy_timeout_s=1.0)
        self._db.execute("""CREATE TABLE IF NOT EXISTS point (
            measurement TEXT NOT NULL, series TEXT NOT NULL, time_ns INTEGER NOT NULL,
            space TEXT, tags TEXT NOT NULL, fields TEXT NOT NULL,
            PRIMARY KEY (measurement, series, time_ns)) WITHOUT ROWID""")
        self._db.execute("CREATE INDEX IF NOT EXISTS point_space_time ON point (measurement, space, time_ns)")

    def write(self, points: Iterable[Point]) -> None:
        """Store a batch in one transaction. PointRejected (naming the points, nothing
        written) when a point cannot be held: a time outside 1677–2262, a value JSON
        cannot carry (NaN, infinity); sqlite3's own errors (disk full, read-only or locked
        file) mean "not now" and propagate."""
        rows, bad, why = [], set(), ""
        for k, p in enumerate(points):
            try:
                ns = to_ns(p.time)
                if not NS_MIN <= ns <= NS_MAX:
                    raise OverflowError(f"{p.time.isoformat()} is outside what 64-bit nanoseconds hold "
                                        "(1677-09-21 … 2262-04-11)")
                rows.append((p.measurement, series_key(p), ns, p.tags.get("space") or None,
                             json.dumps(p.tags, sort_keys=True), json.dumps(p.fields, sort_keys=True, allow_nan=False)))
            except (OverflowError, ValueError, TypeError) as exc:
                bad.add(k)
                why = why or f"{p.measurement}: {type(exc).__name__}: {exc}"
        if bad:
            raise PointRejected(why, bad)
        if not rows:
            return
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany("INSERT OR REPLACE INTO point VALUES (?, ?, ?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:  # SQLite may have rolled back itself (disk full)
                    self._db.execute("ROLLBACK")
                if isinstance(exc, (OverflowError, sqlite3.IntegrityError, sqlite3.DataError)):
                    raise PointRejected(f"{type(exc).__name__}: {exc}") from exc
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
        return [(from_ns(first + k * width), as_number(found.get(k))) for k in range(n)]

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

    def forget_people(self, before: datetime, kinds=PERSON_EVENT_KINDS) -> int:
        """Fold the person-linked events of whole days before ``before`` into per-day
        counts and delete them, in one transaction (see :mod:`.retention`); how many went."""
        from station.privacy import day_floor

        cut = to_ns(day_floor(before))
        marks = ",".join("?" * len(kinds))
        where = f"measurement = 'event' AND time_ns < ? AND json_extract(tags, '$.kind') IN ({marks})"
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                events = [(ns, json.loads(tags)) for ns, tags in self._db.execute(
                    f"SELECT time_ns, tags FROM point WHERE {where}", (cut, *kinds))]
                counts = fold(events)
                rows = []
                for key, n in counts.items():
                    p = Point(ROLLUP, rollup_tags(key), {"count": n}, from_ns(key[0]))
                    series = series_key(p)
                    old = self._db.execute("SELECT fields FROM point WHERE measurement = ? AND series = ? "
                                           "AND time_ns = ?", (ROLLUP, series, key[0])).fetchone()
                    total = n + (json.loads(old[0])["count"] if old else 0)
                    rows.append((ROLLUP, series, key[0], p.tags.get("space") or None,
                                 json.dumps(p.tags, sort_keys=True), json.dumps({"count": total})))
                self._db.executemany("INSERT OR REPLACE INTO point VALUES (?, ?, ?, ?, ?, ?)", rows)
                self._db.execute(f"DELETE FROM point WHERE {where}", (cut, *kinds))
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        return len(events)

    def held(self, kinds=PERSON_EVENT_KINDS) -> list[tuple[str, int, datetime | None]]:
        """(what, rows, oldest point) per measurement; person-linked events apart."""
        marks = ",".join("?" * len(kinds))
        with self._lock:
            people = self._db.execute(f"SELECT count(*), min(time_ns) FROM point WHERE measurement = 'event' AND "
                                      f"json_extract(tags, '$.kind') IN ({marks})", kinds).fetchone()
            other = self._db.execute(f"SELECT count(*), min(time_ns) FROM point WHERE measurement = 'event' AND "
                                     f"json_extract(tags, '$.kind') NOT IN ({marks})", kinds).fetchone()
            rows = self._db.execute("SELECT measurement, count(*), min(time_ns) FROM point "
                                    "WHERE measurement != 'event' GROUP BY measurement ORDER BY measurement").fetchall()
        found = [("event (person-linked: " + ", ".join(kinds) + ")", *people), ("event (other kinds)", *other), *rows]
        return [(m, n, None if oldest is None else from_ns(oldest)) for m, n, oldest in found]

    def close(self) -> None:
        with self._lock:
            self._db.close()

