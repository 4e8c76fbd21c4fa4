"""The `station` command: one entry point for every component.

    station demo                     the whole system on embedded defaults
    station inventory check FILE     validate a site inventory
    station edge run --config FILE   run one edge node
    station edge simulate            every node of a site on mock pins
    station collector run            MQTT in, occupancy out
    station influx setup             create the InfluxDB bucket (and DBRP mapping)
    station occupancy-eval FILE      score the occupancy engine on labelled data
    station api run                  the API and the board
    station protocol export DIR      JSON Schemas and the topic table
    station broker gen / check       broker config from the inventory; ACL audit
    station dashboards provision     push Grafana boards and alerts

Each component owns its sub-command in its own package (``edge/cli.py``,
``collector/cli.py``, ``api/cli.py``); this module only assembles them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import typer

from api.cli import app as api_app
from collector.cli import app as collector_app
from collector.cli import influx_app, occupancy_eval
from edge.cli import app as edge_app
from station.broker.cli import app as broker_app
from station.cli_common import InventoryOpt, VerboseOpt, load_or_fail
from station.dashboards.cli import app as dashboards_app

app = typer.Typer(help="La Station: building occupancy and smart access.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
inventory_app = typer.Typer(help="The site inventory.", no_args_is_help=True)
protocol_app = typer.Typer(help="The MQTT contract.", no_args_is_help=True)
app.add_typer(inventory_app, name="inventory")
app.add_typer(edge_app, name="edge")
app.add_typer(collector_app, name="collector")
app.add_typer(influx_app, name="influx")
app.command("occupancy-eval")(occupancy_eval)
app.add_typer(api_app, name="api")
app.add_typer(protocol_app, name="protocol")
app.add_typer(broker_app, name="broker")
app.add_typer(dashboards_app, name="dashboards")


# --------------------------------------------------------------------------- inventory
@inventory_app.command("check")
def inventory_check(file: Path = typer.Argument(..., help="Inventory YAML file to check.")) -> None:
    """Validate an inventory; print one line per problem (file:line: field: reason)."""
    inv = load_or_fail(file)
    spaces, doors, nodes = len(inv.spaces()), len(inv.doors()), len(inv.nodes())
    typer.echo(f"{file}: ok — {len(inv.sites)} sites, {spaces} spaces, {doors} doors, {nodes} nodes")


# --------------------------------------------------------------------------- protocol
@protocol_app.command("export")
def protocol_export(directory: Path = typer.Argument(Path("docs/protocol"))) -> None:
    """Write the JSON Schemas and the topic table of the MQTT contract."""
    from station.contract.docs import export

    for path in export(directory):
        typer.echo(f"wrote {path}")


# --------------------------------------------------------------------------- demo
@app.command("demo")
def demo(inventory: Path = InventoryOpt,
         port: int = typer.Option(8000, "--port", help="HTTP port of the API and board."),
         mqtt_port: Optional[int] = typer.Option(None, "--mqtt-port", help="Broker port (default: a free one)."),
         speed: float = typer.Option(60.0, "--speed", help="Clock acceleration of the simulated building."),
         duration: Optional[float] = typer.Option(None, "--for", help="Stop after this many seconds."),
         verbose: bool = VerboseOpt) -> None:
    """Run the broker, the simulated La Station, the collector and the API together."""
    from station.demo import run_demo

    load_or_fail(inventory)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(name)s: %(message)s")
    run_demo(inventory, port=port, mqtt_port=mqtt_port, speed=speed, duration_s=duration)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
