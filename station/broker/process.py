"""Run Mosquitto from a generated configuration file (tests, ``station broker check``).

    with ConfiguredBroker(Path("out/mosquitto.conf"), port=8883, log=Path("broker.log")):
        ...

Unlike :class:`station.broker.dev.DevBroker`, the file is used exactly as generated.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .dev import start_mosquitto, terminate


class ConfiguredBroker:
    """A Mosquitto process started with ``mosquitto -c CONFIG``; stop() and start() again at will."""

    def __init__(self, config: Path, *, port: int, log: Path, host: str = "127.0.0.1"):
        self.config = Path(config)
        self.port = port
        self.host = host
        self.log_path = Path(log)
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> "ConfiguredBroker":
        self.proc = start_mosquitto(self.config, self.log_path, self.host, self.port, timeout)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        terminate(self.proc, timeout)
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> "ConfiguredBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
