"""Several API and collector *processes* on one broker and one database (tests, bench/scale.py).

Each process is started as an operator would: ``python -m lastation api run`` /
``collector run``, its broker account from the env file ``station broker gen`` wrote
(``env/api-1.env`` …), everything else from ``STATION_*`` variables.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from station.access.keys import paths_in
from station.broker.dev import free_port, terminate

REPO = Path(__file__).resolve().parents[2]


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines (what systemd's ``EnvironmentFile=`` reads)."""
    out = {}
    for line in Path(path).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


class ServiceProcess:
    """One ``station`` subprocess, its output in ``log``; stopped with SIGTERM."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path):
        self.name, self.argv, self.log = name, argv, log
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("STATION_")}
        self.env.update(env)
        self.env["PYTHONPATH"] = str(REPO)
        self.proc: subprocess.Popen | None = None

    def start(self) -> "ServiceProcess":
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "lastation", *self.argv], cwd=REPO, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        terminate(self.proc, timeout)
        return self.proc.returncode if self.proc else None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class ApiProcess(ServiceProcess):
    def __init__(self, name: str, env: dict[str, str], log: Path):
        self.port = free_port()
        super().__init__(name, ["api", "run", "--port", str(self.port)], env, log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> "ApiProcess":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited: {self.log_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready in {timeout:.0f} s: {self.log_text()[-2000:]}")


def api_env(broker_dir: Path, account: str, *, mqtt_port: int, database_url: str, keys_dir: Path,
            admin: tuple[str, str], **extra: str) -> dict[str, str]:
    env = read_env_file(broker_dir / "env" / f"{account}.env")
    env.update({"STATION_ENVIRONMENT": "production", "STATION_DATABASE_URL": database_url,
                "STATION_MQTT_PORT": str(mqtt_port), "STATION_SIGNING_KEY_FILE": str(paths_in(keys_dir).private),
                "STATION_SITE_KEY_FILE": str(paths_in(keys_dir).hmac),
                "STATION_ADMIN_EMAIL": admin[0], "STATION_ADMIN_PASSWORD": admin[1]})
    env.update({f"STATION_{k.upper()}": v for k, v in extra.items()})
    return env


def collector_env(broker_dir: Path, account: str, *, mqtt_port: int, state_dir: Path, **extra: str) -> dict[str, str]:
    env = read_env_file(broker_dir / "env" / f"{account}.env")
    env.update({"STATION_MQTT_PORT": str(mqtt_port), "STATION_STATE_DIR": str(state_dir)})
    env.update({f"STATION_{k.upper()}": v for k, v in extra.items()})
    return env


def collector_process(name: str, env: dict[str, str], log: Path) -> ServiceProcess:
    return ServiceProcess(name, ["collector", "run"], env, log)


def stored_event_ids(path: Path) -> list[str]:
    """The ids of the events a collector's SQLite history holds (one per stored event)."""
    db = sqlite3.connect(path)
    try:
        return [r[0] for r in db.execute("SELECT json_extract(fields, '$.id') FROM point WHERE measurement = 'event'")]
    finally:
        db.close()
