"""The history of a site: time-series points written by the collector, read by the API and boards.

    from station.history import SqliteHistory
    history = SqliteHistory("history.sqlite")
    history.series("salle-aiguillage", "telemetry", "co2_ppm", start, end, timedelta(minutes=10))

See :mod:`station.history.base` for the interface and :mod:`station.history.schema` for
what is written.
"""

from .base import (AGGREGATES, EPOCH, NS_MAX, NS_MIN, History, HistoryError, PointRejected, as_number, check_query,
                   from_ns, series_key, to_ns)
from .influx import InfluxHistory
from .schema import FLOAT, INT, SCHEMA, STRING, Point
from .sqlite import SqliteHistory

__all__ = ["AGGREGATES", "EPOCH", "FLOAT", "INT", "NS_MAX", "NS_MIN", "SCHEMA", "STRING", "History", "HistoryError",
           "InfluxHistory", "Point", "PointRejected", "SqliteHistory", "as_number", "check_query", "from_ns",
           "series_key", "to_ns"]
