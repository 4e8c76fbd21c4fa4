"""Prometheus metrics of one collector (its own registry, so tests can run several).

``station collector run --metrics-port 9108`` serves them at ``/metrics``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector


class ReceivedCounts(Collector):
    """``station_collector_messages_total{channel}``, read from the collector's own tally
    when scraped: a counter the network thread increments for every message would take a
    lock each time (prometheus-client's counters do), the largest cost after validation."""

    def __init__(self, counts: Callable[[], Mapping[str, int]]):
        self.counts = counts

    def collect(self):
        family = CounterMetricFamily("station_collector_messages", "Valid messages received, by channel.",
                                     labels=["channel"])
        for channel, n in sorted(dict(self.counts()).items()):  # dict(): one atomic copy
            family.add_metric([channel], n)
        yield family


class CollectorMetrics:
    def __init__(self, received: Callable[[], Mapping[str, int]] = dict) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        r.register(ReceivedCounts(received))
        self.rejects = Counter("station_collector_rejects", "Messages rejected, by channel and reason "
                               "(on receipt, or store_rejected: the store refused their points).",
                               ["channel", "reason"], registry=r)
        self.duplicates = Counter("station_collector_duplicate_events", "Events seen again (redelivery, replay).",
                                  registry=r)
        self.write_seconds = Histogram("station_collector_write_seconds", "Time to store one batch of points.",
                                       buckets=(.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10), registry=r)
        self.points = Counter("station_collector_points_written", "Points stored.", registry=r)
        self.spool_depth = Gauge("station_collector_spool_batches", "Batches waiting in the InfluxDB spool.",
                                 registry=r)
        self.occupancy_changes = Counter("station_collector_occupancy_changes", "Occupancy judgements that changed.",
                                         registry=r)
        self.engine_restarts = Counter("station_collector_engine_restarts", "Times the occupancy engine's own "
                                       "process died or stalled and a new one was started.", registry=r)
        self.store_errors = Counter("station_collector_store_errors", "Writes the store could not take now "
                                    "(an outage: retried, nothing acknowledged meanwhile).", registry=r)
        self.unacked_at_stop = Counter("station_collector_unacknowledged_at_stop", "Messages left to the broker "
                                       "for redelivery because the store was down when the collector stopped.",
                                       registry=r)
        self.dead_letters = Counter("station_collector_dead_letters", "Rejected messages by what became of their "
                                    "dead letter: kept, rate_limited or queue_full (only counted), evicted "
                                    "(dropped, oldest first, to hold the cap), write_failed.", ["outcome"], registry=r)
        self.dead_letter_rows = Gauge("station_collector_dead_letters_stored", "Dead letters stored.", registry=r)
        self.dead_letter_bytes = Gauge("station_collector_dead_letters_stored_bytes",
                                       "Bytes the stored dead letters count for (excerpts, details, topics).",
                                       registry=r)
        self.clock_skew = Gauge("station_collector_clock_skew_seconds", "How far the last message of a node was "
                                "stamped ahead of (positive) or behind (negative, also delays) the collector's clock.",
                                ["node"], registry=r)
        self.clock_ahead = Counter("station_collector_clock_ahead", "Messages of a node stamped ahead of the "
                                   "collector's clock by more than the tolerance (the node's clock runs fast).",
                                   ["node"], registry=r)
        self._server = None

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve /metrics; return the port (a free one when ``port`` is 0)."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        self._server = server
        return server.server_address[1]

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
