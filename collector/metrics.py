"""Prometheus metrics of one collector (its own registry, so tests can run several).

``station collector run --metrics-port 9108`` serves them at ``/metrics``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class CollectorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter("station_collector_messages", "Valid messages received, by channel.",
                                ["channel"], registry=r)
        self.rejects = Counter("station_collector_rejects", "Messages rejected, by channel and reason.",
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
        self.store_errors = Counter("station_collector_store_errors", "Batches the store could not take (retried).",
                                    registry=r)
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
