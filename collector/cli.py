"""`station collector …`: the collector process."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from station.cli_common import (InventoryOpt, MqttHostOpt, MqttPortOpt, VerboseOpt, fail, load_or_fail,
                                setup_logging, wait_for_signal)
from station.inventory import ConfigError

app = typer.Typer(help="The collector: MQTT in, occupancy and time series out.", no_args_is_help=True)


@app.command("run")
def collector_run(inventory: Path = InventoryOpt, mqtt_host: str = MqttHostOpt, mqtt_port: int = MqttPortOpt,
                  verbose: bool = VerboseOpt) -> None:
    """Ingest node messages and publish room occupancy."""
    from collector.service import Collector
    from station.mqtt import MqttSettings

    setup_logging(verbose)
    inv = load_or_fail(inventory)
    settings = MqttSettings(host=mqtt_host, port=mqtt_port, username=os.environ.get("STATION_MQTT_USERNAME"),
                            password=os.environ.get("STATION_MQTT_PASSWORD"))
    collector = Collector(inv, settings).start(wait=None)
    wait_for_signal()
    collector.stop()
