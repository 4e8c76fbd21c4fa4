"""Writing to InfluxDB through influxdb-client, losing nothing during an outage.

:class:`InfluxWriter` has the :class:`station.history.History` ``write``: it returns
once the points are *safely stored* — written to InfluxDB, or spooled to disk — so the
collector may acknowledge the MQTT messages they came from.

- Batching is the collector's (its store thread groups messages by ``batch_size`` and
  ``flush_interval``), because a message may be acknowledged only after its batch is
  stored; each batch goes out through influxdb-client's ``WriteService`` (synchronous),
  gzip-compressed at ``gzip_level``, with urllib3 retries and exponential backoff for 429/5xx.
- A batch that still fails goes to the :class:`collector.spool.Spool`; while the spool
  is not empty every new batch goes there too, so that order is kept. A replay thread
  sends the spool oldest first as soon as InfluxDB answers again.
- Points InfluxDB will never take raise :class:`station.history.PointRejected` (the
  collector then dead-letters their messages and stores the rest): times outside
  64-bit nanoseconds and non-finite floats are caught while writing the line
  protocol, before sending; an HTTP 4xx
  answer (a field type conflict, a partial write, a parse error) is a refusal, and the
  field type conflicts it names are remembered for ``conflict_memory_s`` so that the
  next points that clash are named at once, without a round trip. 401/403/404/408/429
  and 5xx are an outage: spooled and retried.
- The spool holds at most ``spool_max_bytes``; a batch beyond raises
  :class:`collector.spool.SpoolFull` ("not now": the store thread retries and holds the
  acknowledgements, the broker keeps the messages).
- A spooled batch InfluxDB later refuses is sent again in halves until the refused
  lines stand alone; those go to ``on_rejected`` (the collector's dead letters).
- Points carry the message time, so a replay overwrites instead of double-counting.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

from station.history import NS_MAX, NS_MIN, Point, PointRejected, to_ns
from .settings import InfluxSettings
from .spool import Spool

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- line protocol
class Unsendable(ValueError):
    """A point line protocol cannot carry (its time, a non-finite number)."""


def _escape_key(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _string(value) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _field(value) -> str:
    if isinstance(value, bool):
        return f"{int(value)}i"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        if value - value != 0.0:  # NaN or ±infinity: line protocol has no such number
            raise Unsendable(f"{value} (line protocol has no such number)")
        return repr(value)
    return _string(value)


#: field value formatters by exact type (a subclass, e.g. an IntEnum, goes through _field)
def _finite(value: float) -> str:
    if value - value != 0.0:  # NaN or ±infinity: line protocol has no such number
        raise Unsendable(f"{value} (line protocol has no such number)")
    return repr(value)


_FORMAT = {float: _finite, int: lambda v: f"{v}i", bool: lambda v: f"{int(v)}i", str: _string}

# Measurements, tag sets and field keys come from a small set (the schema, the
# inventory's ids): a point's "measurement,tags" head and each "field=" prefix are
# built once and remembered, not re-escaped and re-sorted per point.
_escaped: dict[str, str] = {}
_heads: dict[tuple, str] = {}
_field_keys: dict[str, str] = {}
_CACHE_MAX = 100_000


def _escaped_key(value: str) -> str:
    try:
        return _escaped[value]
    except KeyError:
        escaped = _escape_key(value)
        if len(_escaped) < _CACHE_MAX:
            _escaped[value] = escaped
        return escaped


def _head(measurement: str, tags: dict[str, str]) -> str:
    key = (measurement, tuple(tags.items()))
    try:
        return _heads[key]
    except KeyError:
        head = measurement.replace(",", "\\,").replace(" ", "\\ ")
        for name in sorted(tags):
            value = tags[name]
            if value:
                head += f",{_escaped_key(name)}={_escaped_key(value)}"
        if len(_heads) < _CACHE_MAX:
            _heads[key] = head
        return head


def _field_key(name: str) -> str:
    try:
        return _field_keys[name]
    except KeyError:
        prefix = _escape_key(name) + "="
        if len(_field_keys) < _CACHE_MAX:
            _field_keys[name] = prefix
        return prefix


def line(point: Point) -> str:
    """One point as InfluxDB line protocol (nanosecond precision, tags sorted, empty tags left out)."""
    fmt = _FORMAT.get
    fields = ",".join([_field_key(k) + fmt(type(v), _field)(v) for k, v in point.fields.items()])
    ns = to_ns(point.time)
    if not NS_MIN <= ns <= NS_MAX:
        raise Unsendable(f"{point.time.isoformat()} is outside 64-bit nanoseconds")
    return f"{_head(point.measurement, point.tags)} {fields} {ns}"


def lines(points: Iterable[Point]) -> bytes:
    """Line protocol for the points; PointRejected naming those it cannot carry."""
    points = list(points)
    try:
        return "\n".join(map(line, points)).encode()
    except Unsendable:
        pass
    out, bad, why = [], set(), ""
    for k, point in enumerate(points):
        try:
            out.append(line(point))
        except Unsendable as exc:
            bad.add(k)
            why = why or f"{point.measurement}: {exc}"
    raise PointRejected(why, bad)


# --------------------------------------------------------------------------- refusals
_CONFLICT = re.compile(r'input field "(?P<field>[^"]+)" on measurement "(?P<measurement>[^"]+)" '
                       r'is type (?P<sent>\w+), already exists as type (?P<held>\w+)')
NEVER_RETRIED = (401, 403, 404, 408, 429)  # 4xx that mean "not now" (token, bucket, load), not "never"


def influx_type(value) -> str:
    """The InfluxDB type a field value is written as (see :func:`_field`)."""
    if isinstance(value, (bool, int)):
        return "integer"
    return "float" if isinstance(value, float) else "string"


def error_text(body) -> str:
    """InfluxDB's error message out of a response body (JSON ``{"error": …}`` or text)."""
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
    try:
        return str(json.loads(text).get("error", text))
    except (ValueError, AttributeError):
        return text


# --------------------------------------------------------------------------- the writer
class InfluxWriter:
    """Write batches to InfluxDB or, failing that, to the disk spool; replay in order."""

    def __init__(self, settings: InfluxSettings, spool_dir: Path | str, *,
                 on_spool_change: Callable[[int], None] | None = None,
                 on_rejected: Callable[[list[tuple[bytes, str]]], None] | None = None):
        from influxdb_client import InfluxDBClient, WriteService
        from urllib3 import Retry

        self.settings = settings
        self.spool = Spool(spool_dir, settings.spool_max_bytes)
        self.on_spool_change = on_spool_change or (lambda depth: None)
        self.on_rejected = on_rejected or self._log_rejected
        retries = Retry(total=settings.retries, backoff_factor=settings.backoff_s, allowed_methods=None,
                        status_forcelist=(429, 500, 502, 503, 504), raise_on_status=False)
        # gzip is done here, at settings.gzip_level: influxdb-client's own (enable_gzip) is
        # level 9, ten times the CPU of level 1 for a few per cent less on the wire
        self.client = InfluxDBClient(url=settings.url, token=settings.token or "", org=settings.org,
                                     timeout=int(settings.timeout_s * 1000), enable_gzip=False, retries=retries)
        self._writes = WriteService(self.client.api_client)
        self.written_batches = 0
        self.spooled_batches = 0
        self.rejected_batches = 0
        self.rejected_lines = 0  # of spooled batches, refused on replay
        self._conflicts: dict[tuple[str, str], tuple[str, float]] = {}  # (measurement, field) → (type held, when)
        self._lock = threading.Lock()  # one batch at a time, in order
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._replayer = threading.Thread(target=self._replay_loop, name="influx-replay", daemon=True)
        self._replayer.start()
        self.on_spool_change(len(self.spool))

    def write(self, points: Iterable[Point]) -> None:
        """Store a batch: in InfluxDB if it answers and nothing waits in the spool, else on disk.

        Raises PointRejected for points InfluxDB will never take (see the module docstring).
        """
        points = list(points)
        if not points:
            return
        bad, why = self.clashing(points)
        if bad:
            raise PointRejected(why, bad)
        data = lines(points)  # PointRejected for what line protocol cannot carry
        with self._lock:
            if len(self.spool) == 0:
                outcome, detail = self._send(data)
                if outcome == "ok":
                    self.written_batches += 1
                    return
                if outcome == "rejected":
                    self.rejected_batches += 1
                    self._learn(detail)
                    bad, _ = self.clashing(points)
                    raise PointRejected(f"InfluxDB: {detail[:300]}", bad or None)
            self.spool.push(data)
            self.spooled_batches += 1
            self.on_spool_change(len(self.spool))
        self._wake.set()

    def clashing(self, points: list[Point]) -> tuple[set[int], str]:
        """Positions of the points whose fields clash with a type InfluxDB reported, and why."""
        conflicts = self._live_conflicts()
        if not conflicts:
            return set(), ""
        bad: set[int] = set()
        why = ""
        for k, p in enumerate(points):
            for name, value in p.fields.items():
                held = conflicts.get((p.measurement, name))
                if held and held != influx_type(value):
                    bad.add(k)
                    why = why or (f"{p.measurement}: field type conflict: {name} is {held} in InfluxDB, "
                                  f"not {influx_type(value)}")
        return bad, why

    def _live_conflicts(self) -> dict[tuple[str, str], str]:
        if not self._conflicts:
            return {}
        now = time.monotonic()
        for key in [k for k, (_, at) in self._conflicts.items() if now - at > self.settings.conflict_memory_s]:
            del self._conflicts[key]
        return {k: held for k, (held, _) in self._conflicts.items()}

    def _learn(self, detail: str) -> None:
        for match in _CONFLICT.finditer(detail):
            self._conflicts[(match["measurement"], match["field"])] = (match["held"], time.monotonic())

    def _send(self, data: bytes) -> tuple[str, str]:
        """('ok' | 'failed' (try again later) | 'rejected' (InfluxDB will never take it), detail)."""
        from influxdb_client.rest import ApiException

        try:
            encoding = "identity"
            if self.settings.gzip:
                data, encoding = gzip.compress(data, self.settings.gzip_level), "gzip"
            self._writes.post_write(org=self.settings.org, bucket=self.settings.bucket, body=data, precision="ns",
                                    content_encoding=encoding, content_type="text/plain; charset=utf-8")
            return "ok", ""
        except ApiException as exc:
            detail = error_text(exc.body)
            if exc.status is not None and 400 <= exc.status < 500 and exc.status not in NEVER_RETRIED:
                log.error("InfluxDB refused points (%s): %s", exc.status, detail[:300])
                return "rejected", detail
            log.warning("InfluxDB write failed (%s); spooling", exc.status)
            return "failed", detail
        except Exception as exc:  # noqa: BLE001 - connection refused, timeouts, DNS…
            log.warning("InfluxDB unreachable (%s); spooling", type(exc).__name__)
            return "failed", str(exc)

    def _log_rejected(self, refused: list[tuple[bytes, str]]) -> None:
        for data, detail in refused:
            log.error("InfluxDB refused a spooled line for good (%s): %r", detail[:200], data[:200])

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
                outcome, _ = self._send(data)
                refused: list[tuple[bytes, str]] = []
                if outcome == "rejected":
                    self.rejected_batches += 1
                    outcome = self._send_halves(data.split(b"\n"), refused)
                if outcome == "failed":
                    return False
                self.spool.pop(path)
                self.on_spool_change(len(self.spool))
            if refused:
                self.rejected_lines += len(refused)
                self.on_rejected(refused)
            if outcome == "ok":
                log.info("replayed a spooled batch; %d left", len(self.spool))
        return False

    def _send_halves(self, chunk: list[bytes], refused: list[tuple[bytes, str]]) -> str:
        """Send lines in halves until the refused ones stand alone; 'ok' or 'failed' (an outage)."""
        outcome, detail = self._send(b"\n".join(chunk))
        if outcome != "rejected":
            return outcome
        if len(chunk) == 1:
            refused.append((chunk[0], detail))
            return "ok"
        half = len(chunk) // 2
        for part in (chunk[:half], chunk[half:]):
            if self._send_halves(part, refused) == "failed":
                return "failed"
        return "ok"

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
        self._replayer.join(timeout=2)
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
