"""Run Mosquitto with the project's development configuration on a chosen or free port.

Used by ``station demo`` and by the tests, so both run the broker the project ships::

    with DevBroker(workdir) as broker:
        print(broker.port)
"""

from __future__ import annotations

import logging
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DEV_CONFIG = Path(__file__).resolve().parents[2] / "broker_config" / "mosquitto.dev.conf"
log = logging.getLogger(__name__)


class BrokerError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BrokerError(f"process exited with code {proc.returncode} before listening on {host}:{port}")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise BrokerError(f"nothing listens on {host}:{port} after {timeout:.0f} s")


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None)
    if not found:
        raise BrokerError("mosquitto is not installed (Debian: apt-get install mosquitto)")
    return found


def terminate(proc: subprocess.Popen | None, timeout: float = 5.0) -> None:
    """Stop a child process: SIGTERM, then SIGKILL after ``timeout``."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_mosquitto(config: Path, log_path: Path, host: str, port: int, timeout: float = 10.0) -> subprocess.Popen:
    """Start ``mosquitto -c config`` logging to ``log_path``; return once it listens on host:port."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as logfile:
        # A session of its own: a Ctrl-C at the terminal reaches the clients, which stop
        # first, not the broker under them.
        proc = subprocess.Popen([mosquitto_binary(), "-c", str(config)], stdout=logfile,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_port(host, port, timeout, proc)
    except BrokerError as exc:
        terminate(proc)
        tail = log_path.read_text(errors="replace")[-600:]
        raise BrokerError(f"mosquitto did not start with {config}: {exc}\n{tail}") from exc
    return proc


def render_dev_config(port: int, data_dir: Path, source: Path = DEV_CONFIG) -> str:
    text = source.read_text()
    text, n = re.subn(r"^listener\s+\d+\s+127\.0\.0\.1\s*$", f"listener {port} 127.0.0.1", text, flags=re.M)
    if n != 1:
        raise BrokerError(f"{source}: expected exactly one 'listener PORT 127.0.0.1' line")
    return text + f"\npersistence_location {data_dir}/\n"


class DevBroker:
    """A Mosquitto process on loopback with the project's development configuration."""

    def __init__(self, workdir: Path, port: int | None = None, config: Path = DEV_CONFIG):
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.config = config
        self.proc: subprocess.Popen | None = None
        self.host = "127.0.0.1"
        self._data: Path | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "mosquitto.log"

    def _data_dir(self) -> Path:
        """Where Mosquitto persists; as root it drops to the ``mosquitto`` user, who must write it."""
        if self._data is None:
            if os.geteuid() == 0:
                self._data = Path(tempfile.mkdtemp(prefix="station-mosquitto-"))
                try:
                    account = pwd.getpwnam("mosquitto")
                    os.chown(self._data, account.pw_uid, account.pw_gid)
                except KeyError:
                    os.chmod(self._data, 0o777)
            else:
                self._data = self.workdir / "data"
                self._data.mkdir(parents=True, exist_ok=True)
        return self._data

    def start(self, timeout: float = 10.0) -> "DevBroker":
        data = self._data_dir()
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(render_dev_config(self.port, data, self.config))
        self.proc = start_mosquitto(conf, self.log_path, self.host, self.port, timeout)
        log.info("mosquitto listening on %s:%d (config %s)", self.host, self.port, conf)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        terminate(self.proc, timeout)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop and remove the persistence directory (restarts keep it until then)."""
        self.stop()
        if self._data is not None and os.geteuid() == 0:
            shutil.rmtree(self._data, ignore_errors=True)
        self._data = None

    def __enter__(self) -> "DevBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
