"""The `station` command: one entry point for every component.

    station demo                     the whole system on embedded defaults
    station inventory check FILE     validate a site inventory
    station edge run --config FILE   run one edge node
    station edge simulate            every node of a site on mock pins
    station collector run            MQTT in, occupancy out
    station api run                  the API and the board
    station protocol export DIR      JSON Schemas and the topic table
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from typing import Optional

import typer

from station.inventory import DEFAULT_INVENTORY, ConfigError, load_inventory

app = typer.Typer(help="La Station: building occupancy and smart access.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
inventory_app = typer.Typer(help="The site inventory.", no_args_is_help=True)
edge_app = typer.Typer(help="Edge nodes (Raspberry Pi) and the building simulator.", no_args_is_help=True)
collector_app = typer.Typer(help="The collector: MQTT in, occupancy and time series out.", no_args_is_help=True)
api_app = typer.Typer(help="The API and the web board.", no_args_is_help=True)
protocol_app = typer.Typer(help="The MQTT contract.", no_args_is_help=True)
app.add_typer(inventory_app, name="inventory")
app.add_typer(edge_app, name="edge")
app.add_typer(collector_app, name="collector")
app.add_typer(api_app, name="api")
app.add_typer(protocol_app, name="protocol")

InventoryOpt = typer.Option(DEFAULT_INVENTORY, "--inventory", help="Site inventory (YAML).")
MqttHostOpt = typer.Option("127.0.0.1", "--mqtt-host", envvar="STATION_MQTT_HOST")
MqttPortOpt = typer.Option(1883, "--mqtt-port", envvar="STATION_MQTT_PORT")


def _logging(verbose: bool) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(name)s: %(message)s",
                        handlers=[RichHandler(show_path=False, rich_tracebacks=True)])


def _fail(error: ConfigError) -> None:
    for line in error.problems:
        typer.echo(line, err=True)
    raise typer.Exit(2)


def _wait_for_signal() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass


def _load(path: Path):
    try:
        return load_inventory(path)
    except ConfigError as exc:
        _fail(exc)


# --------------------------------------------------------------------------- inventory
@inventory_app.command("check")
def inventory_check(file: Path = typer.Argument(..., help="Inventory YAML file to check.")) -> None:
    """Validate an inventory; print one line per problem (file:line: field: reason)."""
    inv = _load(file)
    spaces, doors, nodes = len(inv.spaces()), len(inv.doors()), len(inv.nodes())
    typer.echo(f"{file}: ok — {len(inv.sites)} sites, {spaces} spaces, {doors} doors, {nodes} nodes")


# --------------------------------------------------------------------------- protocol
@protocol_app.command("export")
def protocol_export(directory: Path = typer.Argument(Path("docs/protocol"))) -> None:
    """Write the JSON Schemas and the topic table of the MQTT contract."""
    from station.contract.docs import export

    for path in export(directory):
        typer.echo(f"wrote {path}")


# --------------------------------------------------------------------------- edge
@edge_app.command("run")
def edge_run(config: Path = typer.Option(..., "--config", help="Edge node configuration (YAML)."),
             validate_config: bool = typer.Option(False, "--validate-config", help="Check the config and exit."),
             verbose: bool = typer.Option(False, "-v", "--verbose")) -> None:
    """Run one edge node on its GPIO pins (GPIOZERO_PIN_FACTORY=mock on a laptop)."""
    from edge.config import load_edge_config, mqtt_settings
    from edge.profiles import load_profile

    try:
        cfg, inv, digest = load_edge_config(config)
        _, node = inv.node(cfg.node)
        profile = load_profile(cfg.profile or node.profile.value)
        mqtt = mqtt_settings(cfg)
    except ConfigError as exc:
        _fail(exc)
    if validate_config:
        typer.echo(f"{config}: ok — node {cfg.node} ({node.profile.value}), config hash {digest}")
        return
    _logging(verbose)
    from edge.node import EdgeNode

    node_agent = EdgeNode(inv, cfg.node, mqtt, profile=profile, config_hash=digest,
                          telemetry_interval_s=cfg.telemetry_interval_s).start(wait=None)
    _wait_for_signal()
    node_agent.stop()


@edge_app.command("simulate")
def edge_simulate(inventory: Path = InventoryOpt, mqtt_host: str = MqttHostOpt, mqtt_port: int = MqttPortOpt,
                  site: Optional[list[str]] = typer.Option(None, "--site", help="Site(s) to simulate; default all."),
                  speed: float = typer.Option(60.0, "--speed", help="Clock acceleration."),
                  truth: Optional[Path] = typer.Option(None, "--truth", help="Write ground truth CSV here."),
                  seed: int = typer.Option(7, "--seed"),
                  verbose: bool = typer.Option(False, "-v", "--verbose")) -> None:
    """Run every node of the inventory's sites on mock pins against a real broker."""
    from edge.simulator import BuildingSimulator
    from station.clock import AcceleratedClock
    from station.demo import demo_start
    from station.mqtt import MqttSettings

    _logging(verbose)
    inv = _load(inventory)
    clock = AcceleratedClock(demo_start(inv), speed)
    sim = BuildingSimulator(inv, MqttSettings(host=mqtt_host, port=mqtt_port), clock=clock, sites=site,
                            seed=seed, truth_csv=truth).start()
    _wait_for_signal()
    sim.stop()


# --------------------------------------------------------------------------- collector
@collector_app.command("run")
def collector_run(inventory: Path = InventoryOpt, mqtt_host: str = MqttHostOpt, mqtt_port: int = MqttPortOpt,
                  verbose: bool = typer.Option(False, "-v", "--verbose")) -> None:
    """Ingest node messages and publish room occupancy."""
    from collector.service import Collector
    from station.mqtt import MqttSettings

    _logging(verbose)
    inv = _load(inventory)
    settings = MqttSettings(host=mqtt_host, port=mqtt_port, username=os.environ.get("STATION_MQTT_USERNAME"),
                            password=os.environ.get("STATION_MQTT_PASSWORD"))
    collector = Collector(inv, settings).start(wait=None)
    _wait_for_signal()
    collector.stop()


# --------------------------------------------------------------------------- api
@api_app.command("run")
def api_run(host: str = typer.Option("127.0.0.1", "--host"), port: int = typer.Option(8000, "--port")) -> None:
    """Serve the API and the board (settings from STATION_* environment variables)."""
    import uvicorn

    from api.app import create_app
    from api.settings import ApiSettings

    try:
        application = create_app(ApiSettings())
    except ConfigError as exc:
        _fail(exc)
    uvicorn.run(application, host=host, port=port)


# --------------------------------------------------------------------------- demo
@app.command("demo")
def demo(inventory: Path = InventoryOpt,
         port: int = typer.Option(8000, "--port", help="HTTP port of the API and board."),
         mqtt_port: Optional[int] = typer.Option(None, "--mqtt-port", help="Broker port (default: a free one)."),
         speed: float = typer.Option(60.0, "--speed", help="Clock acceleration of the simulated building."),
         duration: Optional[float] = typer.Option(None, "--for", help="Stop after this many seconds."),
         verbose: bool = typer.Option(False, "-v", "--verbose")) -> None:
    """Run the broker, the simulated La Station, the collector and the API together."""
    from station.demo import run_demo

    _load(inventory)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(name)s: %(message)s")
    run_demo(inventory, port=port, mqtt_port=mqtt_port, speed=speed, duration_s=duration)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
