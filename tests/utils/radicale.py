"""A real Radicale CalDAV server for the calendar tests, on a free loopback port.

Started from the venv's own ``radicale`` package in a temporary folder (storage,
htpasswd file), never a machine service; ``stop()`` ends it, ``start()`` again brings it
back on the same port with the same data (to test the sync surviving an outage).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from station.broker.dev import free_port, terminate, wait_for_port


class RadicaleServer:
    def __init__(self, workdir: Path, user: str = "station", password: str = "caldav-password-1"):
        self.workdir, self.user, self.password = Path(workdir), user, password
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.users = {user: password}

    def add_user(self, user: str, password: str) -> None:
        self.users[user] = password
        self._write_htpasswd()

    def _write_htpasswd(self) -> None:
        (self.workdir / "htpasswd").write_text("".join(f"{u}:{p}\n" for u, p in self.users.items()))

    def start(self) -> "RadicaleServer":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._write_htpasswd()
        log = open(self.workdir / "radicale.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", "", "--server-hosts", f"127.0.0.1:{self.port}",
             "--storage-filesystem-folder", str(self.workdir / "collections"),
             "--auth-type", "htpasswd", "--auth-htpasswd-filename", str(self.workdir / "htpasswd"),
             "--auth-htpasswd-encryption", "plain", "--rights-type", "owner_only", "--logging-level", "warning"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for_port("127.0.0.1", self.port, 30, self.proc)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        terminate(self.proc, 10)
        self.proc = None
