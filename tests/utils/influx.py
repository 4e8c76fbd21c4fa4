"""A real InfluxDB for the tests: Debian's ``influxd`` 1.6 behind Debian's nginx.

InfluxDB 1.6 has no ``/api/v2/write``, which influxdb-client writes to. InfluxDB 1.8+
translates it to the 1.x write itself; here nginx does the same translation::

    /api/v2/write?bucket=B&precision=P  →  /write?db=B&precision=P'   (P' in n/u/ms/s)
    /query, /ping, everything else      →  passed through

so that influxdb-client writes into a real storage engine and InfluxQL reads it back.
Both run in a temporary directory on free loopback ports; ``stop()``/``start()`` stop and
restart ``influxd`` alone (nginx then answers 502), for outage tests.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx

from station.broker.dev import BrokerError, free_port, terminate, wait_for_port

INFLUXD = "/usr/bin/influxd"
NGINX = "/usr/sbin/nginx"

INFLUXD_CONF = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{dir}/meta"
  logging-enabled = false

[data]
  dir = "{dir}/data"
  wal-dir = "{dir}/wal"
  query-log-enabled = false
  trace-logging-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false
"""

NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  client_max_body_size 64m;
  # Bodies stay in memory and stream to InfluxDB: nginx's workers run as an unprivileged
  # user that may not write into a root-owned temporary directory.
  client_body_buffer_size 64m;
  proxy_request_buffering off;
  proxy_buffering off;
  map $arg_precision $v1_precision {{ default n; ns n; us u; ms ms; s s; }}
  upstream influxdb {{ server 127.0.0.1:{influx_port}; keepalive 8; }}
  server {{
    listen 127.0.0.1:{port};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    location = /api/v2/write {{
      proxy_pass http://influxdb/write?db=$arg_bucket&precision=$v1_precision;
    }}
    location / {{
      proxy_pass http://influxdb;
    }}
  }}
}}
"""


class InfluxServer:
    """``influxd`` 1.6 and an nginx front; ``url`` is what influxdb-client talks to."""

    def __init__(self, workdir: Path, bucket: str = "station"):
        self.workdir = workdir
        self.bucket = bucket
        self.http_port, self.rpc_port, self.port = free_port(), free_port(), free_port()
        self.influxd: subprocess.Popen | None = None
        self.nginx: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The nginx front: /api/v2/write, /query, /ping."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def raw_url(self) -> str:
        """InfluxDB 1.6 itself."""
        return f"http://127.0.0.1:{self.http_port}"

    # -- processes ----------------------------------------------------------------------
    def start(self) -> "InfluxServer":
        """Start influxd (and nginx, the first time); wait until both answer /ping."""
        for binary in (INFLUXD, NGINX):
            if not Path(binary).exists():
                raise BrokerError(f"{binary} not found (Debian: apt-get install influxdb nginx-light)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.influxd is None or self.influxd.poll() is not None:
            conf = self.workdir / "influxdb.conf"
            conf.write_text(INFLUXD_CONF.format(dir=self.workdir / "influxdb", rpc_port=self.rpc_port,
                                                http_port=self.http_port))
            log = open(self.workdir / "influxd.log", "ab")
            self.influxd = subprocess.Popen([INFLUXD, "-config", str(conf)], stdout=log, stderr=subprocess.STDOUT)
            log.close()
            wait_for_port("127.0.0.1", self.http_port, 30, self.influxd)
        if self.nginx is None or self.nginx.poll() is not None:
            ndir = self.workdir / "nginx"
            ndir.mkdir(exist_ok=True)
            conf = ndir / "nginx.conf"
            conf.write_text(NGINX_CONF.format(dir=ndir, port=self.port, influx_port=self.http_port))
            log = open(ndir / "nginx.out", "ab")
            self.nginx = subprocess.Popen([NGINX, "-p", str(ndir), "-c", str(conf)], stdout=log,
                                          stderr=subprocess.STDOUT)
            log.close()
            wait_for_port("127.0.0.1", self.port, 15, self.nginx)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/ping", timeout=1).status_code == 204:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise BrokerError("InfluxDB does not answer /ping through nginx")
        self.create_bucket(self.bucket)
        return self

    def stop(self) -> None:
        """Stop influxd only (an outage); nginx keeps answering, with 502."""
        terminate(self.influxd)

    def close(self) -> None:
        terminate(self.influxd)
        terminate(self.nginx)

    # -- helpers ------------------------------------------------------------------------
    def create_bucket(self, name: str) -> str:
        """Create a database (1.x's bucket); idempotent. Returns its name."""
        self.query(f'CREATE DATABASE "{name}"', method="POST", db=None)
        return name

    def query(self, influxql: str, *, db: str | None = "", method: str = "GET") -> list[dict]:
        """Run InfluxQL on InfluxDB itself; return the first result's series."""
        params = {"q": influxql, "epoch": "ns"}
        if db is not None:
            params["db"] = db or self.bucket
        response = httpx.request(method, f"{self.raw_url}/query", params=params, timeout=30)
        response.raise_for_status()
        result = response.json()["results"][0]
        if "error" in result:
            raise AssertionError(f"InfluxQL error: {result['error']} in {influxql!r}")
        return result.get("series", [])

    def count(self, measurement: str, field: str, *, db: str | None = None, where: str = "") -> int:
        """``count(field)`` over a whole measurement (0 when it has no points)."""
        series = self.query(f'SELECT count("{field}") FROM "{measurement}" {where}', db=db or self.bucket)
        return int(series[0]["values"][0][1]) if series else 0


def influx_available() -> str | None:
    """Why the InfluxDB fixture cannot run here, or None."""
    for binary in (INFLUXD, NGINX):
        if not shutil.which(binary) and not Path(binary).exists():
            return f"{binary} not found"
    return None
