"""Shared pieces of the `station` command: options, logging, error reporting."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import typer

from station.inventory import DEFAULT_INVENTORY, ConfigError, load_inventory

InventoryOpt = typer.Option(DEFAULT_INVENTORY, "--inventory", help="Site inventory (YAML).")
MqttHostOpt = typer.Option("127.0.0.1", "--mqtt-host", envvar="STATION_MQTT_HOST")
MqttPortOpt = typer.Option(1883, "--mqtt-port", envvar="STATION_MQTT_PORT")
MqttTlsCaOpt = typer.Option(None, "--mqtt-tls-ca", envvar="STATION_MQTT_TLS_CA", exists=True, dir_okay=False,
                            readable=True, help="Connect over TLS, trusting this CA (PEM): a broker "
                                                "reached across a network, not on loopback.")
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


def wait_for_signal() -> None:
    """Block until SIGTERM or Ctrl-C."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass


def load_or_fail(path: Path):
    try:
        return load_inventory(path)
    except ConfigError as exc:
        fail(exc)
