"""Real services for the tests: Mosquitto with the project's config, a private PostgreSQL.

Every service runs on a free loopback port in a temporary directory and is stopped at
the end; the tests never use a broker or database the machine happens to run.
When a service cannot run here, :func:`unavailable` skips — or fails, when
``STATION_REQUIRE_SERVICES=1`` (CI), so CI can never pass by skipping.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from station.broker.dev import BrokerError, free_port, terminate, wait_for_port


def unavailable(service: str, reason: str) -> None:
    message = f"{service} not available: {reason}"
    if os.environ.get("STATION_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (STATION_REQUIRE_SERVICES=1 forbids skipping)", pytrace=False)
    pytest.skip(message)


def postgres_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in candidates:
        if Path(c, "initdb").exists() and Path(c, "postgres").exists():
            return Path(c)
    return None


class PostgresServer:
    """``initdb`` + ``postgres`` on a free port, owned by an unprivileged user when root."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.bindir = postgres_bindir()

    def _as_user(self, argv: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--"] + argv
        return argv

    def start(self) -> "PostgresServer":
        if self.bindir is None:
            raise BrokerError("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
        data = self.workdir / "pgdata"
        self.workdir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres")
            os.chmod(self.workdir, 0o755)
        init = subprocess.run(self._as_user([str(self.bindir / "initdb"), "-D", str(data), "-U", "station",
                                             "--auth=trust", "-E", "UTF8", "--no-sync"]),
                              capture_output=True, text=True)
        if init.returncode != 0:
            raise BrokerError(f"initdb failed: {init.stderr.strip()[-300:]}")
        log = open(self.workdir / "postgres.log", "ab")
        self.proc = subprocess.Popen(
            self._as_user([str(self.bindir / "postgres"), "-D", str(data), "-p", str(self.port),
                           "-h", "127.0.0.1", "-k", str(self.workdir), "-c", "fsync=off"]),
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for_port("127.0.0.1", self.port, 30, self.proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ok = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "station", "-d", "postgres",
                                 "-Atc", "select 1"], capture_output=True)
            if ok.returncode == 0:
                break
            time.sleep(0.2)
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "station", "-d", "postgres",
                        "-c", "create database station"], check=True, capture_output=True)
        return self

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://station@127.0.0.1:{self.port}/station"

    def stop(self) -> None:
        terminate(self.proc, 15)
        self.proc = None
