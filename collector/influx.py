"""Writing to InfluxDB through influxdb-client, losing nothing during an outage.

:class:`InfluxWriter` has the :class:`collector.history.History` ``write``: it returns
once the points are *safely stored* — written to InfluxDB, or spooled to disk — so the
collector may acknowledge the MQTT messages they came from.

- Batching is the collector's (its store thread groups messages by ``batch_size`` and
  ``flush_interval``), because a message may be acknowledged only after its batch is
  stored; each batch goes out through influxdb-client's ``WriteApi`` (synchronous mode),
  gzip-compressed, with urllib3 retries and exponential backoff for 429/5xx.
- A batch that still fails goes to the :class:`collector.spool.Spool`; while the spool
  is not empty every new batch goes there too, so that order is kept. A replay thread
  sends the spool oldest first as soon as InfluxDB answers again.
- Points carry the message time, so a replay overwrites instead of double-counting.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .history import to_ns
from .schema import Point
from .spool import Spool

log = logging.getLogger(__name__)


@dataclass
class InfluxSettings:
    """Where the time series go. The token comes from the environment (``STATION_INFLUX_TOKEN``)."""

    url: str
    bucket: str = "station"
    org: str = "station"
    token: str | None = None
    timeout_s: float = 10.0
    retries: int = 2
    backoff_s: float = 0.2
    gzip: bool = True
    replay_every_s: float = 1.0


# --------------------------------------------------------------------------- line protocol
def _escape_key(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _field(value) -> str:
    if isinstance(value, bool):
        return f"{int(value)}i"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


# Tag keys and values, field keys and measurements come from a small set (the schema,
# the inventory's ids): their escaped forms are remembered, not recomputed per point.
_escaped: dict[str, str] = {}
_ESCAPED_MAX = 100_000


def _escaped_key(value: str) -> str:
    try:
        return _escaped[value]
    except KeyError:
        escaped = _escape_key(value)
        if len(_escaped) < _ESCAPED_MAX:
            _escaped[value] = escaped
        return escaped


def line(point: Point) -> str:
    """One point as InfluxDB line protocol (nanosecond precision, empty tags left out)."""
    head = point.measurement.replace(",", "\\,").replace(" ", "\\ ")
    tags = point.tags
    for key in sorted(tags):
        value = tags[key]
        if value:
            head += f",{_escaped_key(key)}={_escaped_key(value)}"
    fields = ",".join(f"{_escaped_key(k)}={_field(v)}" for k, v in point.fields.items())
    return f"{head} {fields} {to_ns(point.time)}"


def lines(points: Iterable[Point]) -> bytes:
    return "\n".join(map(line, points)).encode()


# --------------------------------------------------------------------------- the writer
class InfluxWriter:
    """Write batches to InfluxDB or, failing that, to the disk spool; replay in order."""

    def __init__(self, settings: InfluxSettings, spool_dir: Path | str, *,
                 on_spool_change: Callable[[int], None] | None = None):
        from influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS
        from urllib3 import Retry

        self.settings = settings
        self.spool = Spool(spool_dir)
        self.on_spool_change = on_spool_change or (lambda depth: None)
        retries = Retry(total=settings.retries, backoff_factor=settings.backoff_s, allowed_methods=None,
                        status_forcelist=(429, 500, 502, 503, 504), raise_on_status=False)
        self.client = InfluxDBClient(url=settings.url, token=settings.token or "", org=settings.org,
                                     timeout=int(settings.timeout_s * 1000), enable_gzip=settings.gzip,
                                     retries=retries)
        self.write_api = self.client.write_api(write_options=SYNCHRONOUS)
        self.written_batches = 0
        self.spooled_batches = 0
        self.rejected_batches = 0
        self._lock = threading.Lock()  # one batch at a time, in order
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._replayer = threading.Thread(target=self._replay_loop, name="influx-replay", daemon=True)
        self._replayer.start()
        self.on_spool_change(len(self.spool))

    def write(self, points: Iterable[Point]) -> None:
        """Store a batch: in InfluxDB if it answers and nothing waits in the spool, else on disk."""
        data = lines(points)
        if not data:
            return
        with self._lock:
            if len(self.spool) == 0:
                outcome = self._send(data)
                if outcome == "ok":
                    self.written_batches += 1
                    return
                if outcome == "rejected":
                    self.spool.reject(self.spool.push(data))
                    self.rejected_batches += 1
                    return
            self.spool.push(data)
            self.spooled_batches += 1
            self.on_spool_change(len(self.spool))
        self._wake.set()

    def _send(self, data: bytes) -> str:
        """'ok', 'failed' (try again later) or 'rejected' (InfluxDB will never take it)."""
        from influxdb_client.rest import ApiException

        try:
            self.write_api.write(bucket=self.settings.bucket, org=self.settings.org, record=data)
            return "ok"
        except ApiException as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status not in (401, 403, 404, 408, 429):
                log.error("InfluxDB refused a batch for good (%s): %s", exc.status, str(exc.body)[:300])
                return "rejected"
            log.warning("InfluxDB write failed (%s); spooling", exc.status)
            return "failed"
        except Exception as exc:  # noqa: BLE001 - connection refused, timeouts, DNS…
            log.warning("InfluxDB unreachable (%s); spooling", type(exc).__name__)
            return "failed"

    def _replay_loop(self) -> None:
        delay = self.settings.replay_every_s
        while not self._stop.is_set():
            self._wake.wait(delay)
            self._wake.clear()
            if self._stop.is_set():
                break
            if self.replay():
                delay = self.settings.replay_every_s
            else:
                delay = min(30.0, delay * 2)

    def replay(self) -> bool:
        """Send the spool oldest first; True when it is empty."""
        while not self._stop.is_set():
            with self._lock:
                oldest = self.spool.oldest()
                if oldest is None:
                    return True
                path, data = oldest
                outcome = self._send(data)
                if outcome == "failed":
                    return False
                if outcome == "ok":
                    self.spool.pop(path)
                else:
                    self.spool.reject(path)
                    self.rejected_batches += 1
                self.on_spool_change(len(self.spool))
            if outcome == "ok":
                log.info("replayed a spooled batch; %d left", len(self.spool))
        return False

    def drain(self, timeout_s: float = 30.0) -> bool:
        """Try to empty the spool now (tests, shutdown); True when it is empty."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.replay():
                return True
            time.sleep(0.2)
        return False

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._replayer.join(timeout=5)
        self.client.close()


def setup_bucket(settings: InfluxSettings, *, retention_s: int = 0) -> list[str]:
    """Create the bucket and, on InfluxDB 2.x, the DBRP mapping that InfluxQL needs.

    Uses influxdb-client's own APIs; on InfluxDB 1.x (no /api/v2 management) the bucket is
    a database, created with ``CREATE DATABASE`` through the client's query endpoint.
    Returns what was done, one line per step.
    """
    from influxdb_client import InfluxDBClient
    from influxdb_client.rest import ApiException

    done: list[str] = []
    with InfluxDBClient(url=settings.url, token=settings.token or "", org=settings.org,
                        timeout=int(settings.timeout_s * 1000)) as client:
        version = _version(client)
        if version.startswith("1."):
            _influxql_v1(settings, f'CREATE DATABASE "{settings.bucket}"')
            return [f"InfluxDB {version}: database {settings.bucket!r} ready (InfluxQL works natively)"]
        buckets = client.buckets_api()
        orgs = client.organizations_api().find_organizations(org=settings.org)
        if not orgs:
            raise RuntimeError(f"no organisation {settings.org!r} on {settings.url}")
        org = orgs[0]
        bucket = buckets.find_bucket_by_name(settings.bucket)
        if bucket is None:
            from influxdb_client import BucketRetentionRules

            rules = [BucketRetentionRules(type="expire", every_seconds=retention_s)] if retention_s else []
            bucket = buckets.create_bucket(bucket_name=settings.bucket, org=org, retention_rules=rules)
            done.append(f"created bucket {settings.bucket!r}")
        else:
            done.append(f"bucket {settings.bucket!r} exists")
        from influxdb_client.service.dbr_ps_service import DBRPsService
        from influxdb_client.domain.dbrp_create import DBRPCreate

        dbrps = DBRPsService(client.api_client)
        try:
            existing = dbrps.get_dbr_ps(org_id=org.id, db=settings.bucket).content or []
        except ApiException:
            existing = []
        if existing:
            done.append(f"DBRP mapping {settings.bucket}/autogen exists")
        else:
            dbrps.post_dbrp(DBRPCreate(org_id=org.id, database=settings.bucket, retention_policy="autogen",
                                       bucket_id=bucket.id, default=True))
            done.append(f"created DBRP mapping {settings.bucket}/autogen → bucket {settings.bucket!r}")
    return done


def _version(client) -> str:
    """The server's version, from the ``X-Influxdb-Version`` header of ``/ping`` (1.x and 2.x)."""
    version = client.version()
    if not version:
        raise RuntimeError(f"{client.url} does not answer like InfluxDB (no version on /ping)")
    return version


def _influxql_v1(settings: InfluxSettings, statement: str) -> None:
    import httpx

    headers = {"Authorization": f"Token {settings.token}"} if settings.token else {}
    response = httpx.post(f"{settings.url.rstrip('/')}/query", params={"q": statement}, headers=headers,
                          timeout=settings.timeout_s)
    response.raise_for_status()
    result = response.json()["results"][0]
    if "error" in result:
        raise RuntimeError(f"InfluxDB: {result['error']}")
