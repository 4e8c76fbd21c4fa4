"""Shared pieces of the `station` command: options, logging, error reporting."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path

import typer

from station.inventory import DEFAULT_INVENTORY, ConfigError, load_inventory

InventoryOpt = typer.Option(DEFAULT_INVENTORY, "--inventory", help="Site inventory (YAML).")
MqttHostOpt = typer.Option("127.0.0.1", "--mqtt-host", envvar="STATION_MQTT_HOST")
MqttPortOpt = typer.Option(1883, "--mqtt-port", envvar="STATION_MQTT_PORT")
MqttTlsCaOpt = typer.Option(None, "--mqtt-tls-ca", exists=True, dir_okay=False,
                            readable=True, help="Connect over TLS, trusting this CA (PEM): a broker "
                                                "reached across a network, not on loopback (STATION_MQTT_TLS_CA).")
VerboseOpt = typer.Option(False, "-v", "--verbose", help="Debug logging.")


def setup_logging(verbose: bool) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(name)s: %(message)s",
                        handlers=[RichHandler(show_path=False, rich_tracebacks=True)])


def fail(error: ConfigError) -> None:
    """Print one line per problem (file:line: field: reason) and exit with status 2."""
    for line in error.problems:
        typer.echo(line, err=True)
    raise typer.Exit(2)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def wait_for_signal() -> int:
    """Block until SIGTERM or SIGINT (Ctrl-C); return its number.

    The caller then stops its component (which must take seconds, not more). A second
    signal during that stop ends the process at once (exit status 128 + signal), so an
    operator is never left waiting on a stuck shutdown.
    """
    stop = threading.Event()
    received: list[int] = []

    def first(signum, _frame) -> None:
        received.append(signum)
        stop.set()

    for signum in STOP_SIGNALS:
        signal.signal(signum, first)
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:  # a SIGINT that arrived before our handler was in place
        received.append(signal.SIGINT)
    for signum in STOP_SIGNALS:
        signal.signal(signum, _now)
    logging.getLogger("station").info("stopping (%s); a second signal exits at once",
                                      signal.Signals(received[0]).name)
    return received[0]


def _now(signum, _frame) -> None:
    os._exit(128 + signum)


def load_or_fail(path: Path):
    try:
        return load_inventory(path)
    except ConfigError as exc:
        fail(exc)
