"""The collector's settings: one tree, from the environment (``STATION_*``) and the command line.

    STATION_MQTT_HOST / _PORT / _USERNAME / _PASSWORD / _TLS_CA / _CLIENT_ID   the broker (shared model)
    STATION_STATE_DIR        embedded history, dead letters, seen ids, the spool, the learned model
    STATION_INFLUX_URL / _BUCKET / _ORG / _TOKEN                               InfluxDB (else SQLite)
    STATION_INFLUX_SPOOL_MAX_BYTES   the spool's ceiling while InfluxDB is away (1 GiB)
    STATION_METRICS_PORT     Prometheus /metrics
    STATION_SITES            only these sites (comma-separated): one collector per group of sites
    STATION_PARTITION        k/M: collector k of M takes the sites station.partition gives it

``station collector run`` options override these (``--mqtt-port``, ``--site``, …).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode
from typing import Annotated

from station.inventory import DEFAULT_INVENTORY, Inventory
from station.partition import Partition, partition_sites
from station.privacy import RetentionPolicy
from station.settings import ENV, MqttSettings


class InfluxSettings(BaseModel):
    """Where the time series go, when InfluxDB is used. The token comes from the
    environment (``STATION_INFLUX_TOKEN``), never from a file in the repository."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, description="InfluxDB 2.x/3.x or 1.8+; unset: the embedded SQLite history.")
    bucket: str = "station"
    org: str = "station"
    token: str | None = Field(default=None, repr=False)
    timeout_s: float = Field(default=10.0, gt=0)
    retries: int = Field(default=2, ge=0)
    backoff_s: float = Field(default=0.2, ge=0)
    gzip: bool = True
    #: 1: a twelfth of level 9's CPU (influxdb-client's own), the body 4 % of the raw
    #: lines instead of 2.7 % (the bench's telemetry, 2,000-line batches).
    gzip_level: int = Field(default=1, ge=1, le=9)
    replay_every_s: float = Field(default=1.0, gt=0)
    #: The spool's ceiling (line protocol on disk while InfluxDB is away): beyond it the
    #: store is down — nothing more acknowledged, the broker keeps the rest. 1 GiB is
    #: months of the seed building's traffic (~150 bytes a point, ~10 MB a day).
    spool_max_bytes: int = Field(default=1 << 30, gt=0)
    conflict_memory_s: float = Field(default=600.0, ge=0)


class CollectorSettings(BaseSettings):
    model_config = ENV

    inventory: Path = DEFAULT_INVENTORY
    mqtt: MqttSettings = Field(default_factory=lambda: MqttSettings(client_id="collector"))
    state_dir: Path = Path("var/collector")
    influx: InfluxSettings = Field(default_factory=InfluxSettings)
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    sites: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: ``k/M``: this collector is the k-th of M and takes the sites
    #: :func:`station.partition.partition_sites` gives it (instead of naming ``sites``).
    partition: str | None = None
    session_expiry_s: int = Field(default=7 * 86400, ge=3600)
    #: How long person-linked data is kept (station/privacy.py): access events in the
    #: history (then folded into per-day counts), dead letters. ``STATION_RETENTION_*``.
    retention: RetentionPolicy = Field(default_factory=RetentionPolicy)
    #: Fold the history's old access events. Collectors partitioned by site that share one
    #: InfluxDB: leave it on for one of them only (``STATION_HISTORY_RETENTION=false``).
    history_retention: bool = True
    #: Run the occupancy engine in a process of its own, beside the collector's
    #: (``collector/occupancy/worker.py``): it then uses a second core.
    #: ``STATION_ENGINE_PROCESS=false`` keeps it in the collector's process.
    engine_process: bool = True

    @field_validator("sites", mode="before")
    @classmethod
    def _comma_separated(cls, value):
        if isinstance(value, str):
            return [s.strip() for s in value.split(",") if s.strip()]
        return value

    @field_validator("partition")
    @classmethod
    def _partition_spec(cls, value):
        if value is not None:
            Partition.parse(value)  # ValueError names the spec
        return value

    @model_validator(mode="after")
    def _sites_or_partition(self):
        if self.sites and self.partition:
            raise ValueError("give sites or partition, not both")
        return self

    def own_sites(self, inventory: Inventory) -> list[str] | None:
        """The sites this collector takes; ``None``: every site."""
        if self.partition:
            return partition_sites([s.id for s in inventory.sites], Partition.parse(self.partition))
        return list(self.sites) or None

    @property
    def client_id(self) -> str:
        return self.mqtt.client_id or self.mqtt.username or "collector"
