"""A stand-in for InfluxDB 2.x's management API: organisations, buckets, DBRP mappings.

InfluxDB 2 cannot be installed on these machines (Debian ships 1.6; no registry here
carries a 2.x server), so ``station influx setup``'s 2.x path — bucket and DBRP mapping
through influxdb-client's own APIs — is exercised against this: the request and
response shapes of the endpoints it calls, as InfluxDB's OpenAPI document (and
influxdb-client's generated models) describe them, with token checks and state kept
in memory. It proves our calls and the client's parsing agree with the documented API;
it cannot prove a real 2.x server agrees. Used by ``tests/collector/test_influx.py`` only.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class InfluxV2Api:
    VERSION = "v2.7.11"

    def __init__(self, token: str = "setup-token", orgs: tuple[str, ...] = ("station",)):
        self.token = token
        self.orgs = [{"id": f"{k + 1:016x}", "name": name} for k, name in enumerate(orgs)]
        self.buckets: list[dict] = []
        self.dbrps: list[dict] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) in order
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                api._serve(self, "GET")

            def do_POST(self):
                api._serve(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "InfluxV2Api":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- the API ------------------------------------------------------------------------
    def _serve(self, http: BaseHTTPRequestHandler, method: str) -> None:
        url = urlparse(http.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.requests.append((method, url.path))
        length = int(http.headers.get("Content-Length") or 0)
        body = json.loads(http.rfile.read(length)) if length else None
        if url.path == "/ping":
            return self._reply(http, 204, None)
        if http.headers.get("Authorization") != f"Token {self.token}":
            return self._reply(http, 401, {"code": "unauthorized", "message": "unauthorized access"})
        route = {("GET", "/api/v2/orgs"): self._orgs, ("GET", "/api/v2/buckets"): self._find_buckets,
                 ("POST", "/api/v2/buckets"): self._create_bucket, ("GET", "/api/v2/dbrps"): self._find_dbrps,
                 ("POST", "/api/v2/dbrps"): self._create_dbrp}.get((method, url.path))
        if route is None:
            return self._reply(http, 404, {"code": "not found", "message": f"path not found: {url.path}"})
        status, reply = route(query, body)
        self._reply(http, status, reply)

    def _reply(self, http: BaseHTTPRequestHandler, status: int, body) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        http.send_response(status)
        http.send_header("X-Influxdb-Version", self.VERSION)
        http.send_header("X-Influxdb-Build", "OSS")
        if data:
            http.send_header("Content-Type", "application/json; charset=utf-8")
        http.send_header("Content-Length", str(len(data)))
        http.end_headers()
        http.wfile.write(data)

    def _orgs(self, query, body):
        return 200, {"orgs": [o for o in self.orgs if query.get("org") in (None, o["name"])]}

    def _find_buckets(self, query, body):
        return 200, {"buckets": [b for b in self.buckets if query.get("name") in (None, b["name"])]}

    def _create_bucket(self, query, body):
        if not body or not body.get("name") or not body.get("orgID"):
            return 400, {"code": "invalid", "message": "bucket name and orgID are required"}
        if any(b["name"] == body["name"] and b["orgID"] == body["orgID"] for b in self.buckets):
            return 422, {"code": "conflict", "message": f"bucket with name {body['name']} already exists"}
        bucket = {"id": f"b{len(self.buckets) + 1:015x}", "type": "user", "name": body["name"],
                  "orgID": body["orgID"], "retentionRules": body.get("retentionRules") or []}
        self.buckets.append(bucket)
        return 201, bucket

    def _find_dbrps(self, query, body):
        if not query.get("orgID"):
            return 400, {"code": "invalid", "message": "either orgID or org must be provided"}
        found = [d for d in self.dbrps if d["orgID"] == query["orgID"] and query.get("db") in (None, d["database"])]
        return 200, {"content": found}

    def _create_dbrp(self, query, body):
        required = ("orgID", "bucketID", "database", "retention_policy")
        if not body or any(not body.get(k) for k in required):
            return 400, {"code": "invalid", "message": f"{', '.join(required)} are required"}
        if not any(b["id"] == body["bucketID"] for b in self.buckets):
            return 404, {"code": "not found", "message": "bucket not found"}
        dbrp = {"id": f"d{len(self.dbrps) + 1:015x}", "orgID": body["orgID"], "bucketID": body["bucketID"],
                "database": body["database"], "retention_policy": body["retention_policy"],
                "default": bool(body.get("default")), "virtual": False}
        self.dbrps.append(dbrp)
        return 201, dbrp  # POST answers the DBRP itself (GET by id wraps it in "content")
