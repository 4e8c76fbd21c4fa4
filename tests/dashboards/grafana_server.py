"""A local HTTP server implementing the Grafana endpoints `station dashboards provision` calls.

It stands in for Grafana because no Grafana build installs on these machines (no
Debian package, no download). It keeps what it is sent, answers like Grafana's HTTP API
(404 for missing objects, 401 without the token, ids and versions added on write) and
records every request so tests can check paths, methods and bodies.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeGrafana:
    def __init__(self, token: str = "test-token"):
        self.token = token
        self.requests: list[tuple[str, str, dict | None]] = []
        self.datasources: dict[str, dict] = {}
        self.folders: dict[str, dict] = {}
        self.dashboards: dict[str, dict] = {}
        self.rules: dict[str, dict] = {}
        self._ids = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    # -- routing ------------------------------------------------------------------------
    def route(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
        m = re.fullmatch
        if method == "GET" and (g := m(r"/api/datasources/uid/([^/]+)", path)):
            ds = self.datasources.get(g[1])
            return (200, ds) if ds else (404, {"message": "Data source not found"})
        if method == "POST" and path == "/api/datasources":
            ds = {k: v for k, v in body.items() if k != "secureJsonData"}
            ds.update(id=self._next_id(), orgId=1, readOnly=False,
                      secureJsonFields={k: True for k in body.get("secureJsonData", {})})
            self.datasources[ds["uid"]] = ds
            return 200, {"datasource": ds, "id": ds["id"], "message": "Datasource added"}
        if method == "PUT" and (g := m(r"/api/datasources/uid/([^/]+)", path)):
            if g[1] not in self.datasources:
                return 404, {"message": "Data source not found"}
            self.datasources[g[1]].update({k: v for k, v in body.items() if k != "secureJsonData"})
            return 200, {"message": "Datasource updated"}
        if method == "GET" and (g := m(r"/api/folders/([^/]+)", path)):
            f = self.folders.get(g[1])
            return (200, f) if f else (404, {"message": "folder not found"})
        if method == "POST" and path == "/api/folders":
            f = {"uid": body["uid"], "title": body["title"], "id": self._next_id(), "version": 1}
            self.folders[f["uid"]] = f
            return 200, f
        if method == "GET" and (g := m(r"/api/dashboards/uid/([^/]+)", path)):
            d = self.dashboards.get(g[1])
            return (200, d) if d else (404, {"message": "Dashboard not found"})
        if method == "POST" and path == "/api/dashboards/db":
            board = dict(body["dashboard"])
            folder = body.get("folderUid")
            if folder and folder not in self.folders:
                return 400, {"message": "folder not found"}
            old = self.dashboards.get(board["uid"])
            board["id"] = old["dashboard"]["id"] if old else self._next_id()
            board["version"] = old["dashboard"]["version"] + 1 if old else 1
            self.dashboards[board["uid"]] = {"dashboard": board, "meta": {"folderUid": folder}}
            return 200, {"uid": board["uid"], "version": board["version"], "status": "success"}
        if method == "GET" and (g := m(r"/api/v1/provisioning/alert-rules/([^/]+)", path)):
            r = self.rules.get(g[1])
            return (200, r) if r else (404, {"message": "rule not found"})
        if method in ("POST", "PUT") and (g := m(r"/api/v1/provisioning/alert-rules(?:/([^/]+))?", path)):
            if body.get("folderUID") not in self.folders:
                return 400, {"message": "folder does not exist"}
            if method == "PUT" and g[1] not in self.rules:
                return 404, {"message": "rule not found"}
            rule = dict(body, id=self.rules.get(body["uid"], {}).get("id") or self._next_id(), provenance="api")
            self.rules[body["uid"]] = rule
            return (201 if method == "POST" else 200), rule
        return 404, {"message": f"not implemented here: {method} {path}"}

    def _handler(self):
        grafana = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                path = self.path.split("?")[0]
                grafana.requests.append((self.command, path, body))
                if self.headers.get("Authorization") != f"Bearer {grafana.token}":
                    status, answer = 401, {"message": "Unauthorized"}
                else:
                    status, answer = grafana.route(self.command, path, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return Handler
