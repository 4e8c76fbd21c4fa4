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
    station privacy report           per store: personal data held, the oldest row, its horizon

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
privacy_app = typer.Typer(help="Personal data: what each store holds, retention (docs/privacy.md).",
                          no_args_is_help=True)
app.add_typer(inventory_app, name="inventory")
app.add_typer(edge_app, name="edge")
app.add_typer(collector_app, name="collector")
app.add_typer(influx_app, name="influx")
app.command("occupancy-eval")(occupancy_eval)
app.add_typer(api_app, name="api")
app.add_typer(protocol_app, name="protocol")
app.add_typer(broker_app, name="broker")
app.add_typer(dashboards_app, name="dashboards")
app.add_typer(privacy_app, name="privacy")


# --------------------------------------------------------------------------- inventory
@inventory_app.command("check")
def inventory_check(file: Path = typer.Argument(..., help="Inventory YAML file to check.")) -> None:
    """Validate an inventory; print one line per problem (file:line: field: reason)."""
    inv = load_or_fail(file)
    spaces, doors, nodes = len(inv.spaces()), len(inv.doors()), len(inv.nodes())
    typer.echo(f"{file}: ok — {len(inv.sites)} sites, {spaces} spaces, {doors} doors, {nodes} nodes")


# --------------------------------------------------------------------------- privacy
@privacy_app.command("report")
def privacy_report(api: bool = typer.Option(True, "--api/--no-api", help="The API's database (STATION_DATABASE_URL)."),
                   collector: bool = typer.Option(True, "--collector/--no-collector",
                                                  help="The collector's history and dead letters."),
                   state_dir: Optional[Path] = typer.Option(None, "--state-dir", help="The collector's "
                                                            "(STATION_STATE_DIR)."),
                   edge_data_dir: list[Path] = typer.Option([], "--edge-data-dir", help="A node's data_dir "
                                                            "(repeat for several)."),
                   as_json: bool = typer.Option(False, "--json", help="One JSON object per line.")) -> None:
    """Per store: what personal data is held, how many rows, the oldest, its retention
    horizon (days; "kept" when it holds no person) and how many rows are past it."""
    import json

    from api.cli import privacy_held as api_held
    from collector.cli import privacy_held as collector_held
    from edge.cli import privacy_held as edge_held

    rows: list[dict] = []
    if api:
        rows += api_held()
    if collector:
        rows += collector_held(state_dir)
    for data_dir in edge_data_dir:
        rows += edge_held(data_dir)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    for row in rows:
        horizon = "kept" if row.get("horizon_days") is None else f"{row['horizon_days']} d"
        past = f", {row['past_horizon']} past it" if row.get("past_horizon") else ""
        typer.echo(f"{row['store']:<28} {row['what']:<60} {row['rows']:>8}  oldest {row['oldest'] or '-':<32} "
                   f"{horizon}{past}")


@privacy_app.command("forget-card")
def privacy_forget_card(card_hash: list[str] = typer.Argument(..., help="Card hashes (64 hex digits) of an erased "
                                                                         "member (shown in their file before)."),
                        state_dir: Optional[Path] = typer.Option(None, "--state-dir",
                                                                 help="The collector's (STATION_STATE_DIR).")) -> None:
    """After an erasure: delete the collector's dead letters holding these card hashes
    (the API erases its own stores; the collector's letters otherwise expire in 92 days)."""
    import re

    from collector.cli import forget_card_hashes

    bad = [h for h in card_hash if not re.fullmatch(r"[0-9a-f]{64}", h)]
    if bad:
        typer.echo(f"not a card hash (64 hex digits): {', '.join(bad)}", err=True)
        raise typer.Exit(2)
    typer.echo(f"collector dead letters deleted: {forget_card_hashes(card_hash, state_dir)}")


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
         port: int = typer.Option(8000, "--port", min=1, max=65535, help="HTTP port of the API and board."),
         mqtt_port: Optional[int] = typer.Option(None, "--mqtt-port", min=1, max=65535,
                                                 help="Broker port (default: a free one)."),
         speed: float = typer.Option(10.0, "--speed", min=0.1, max=1000.0,
                                     help="Clock acceleration of the simulated building (10: an hour lasts 6 "
                                          "minutes, a person can follow a booking)."),
         duration: Optional[float] = typer.Option(None, "--for", min=1.0, max=365 * 86400.0,
                                                  help="Stop after this many seconds."),
         verbose: bool = VerboseOpt) -> None:
    """Run the broker, the simulated La Station, the collector and the API together."""
    from lastation.demo import PortTaken, run_demo

    load_or_fail(inventory)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(name)s: %(message)s")
    try:
        run_demo(inventory, port=port, mqtt_port=mqtt_port, speed=speed, duration_s=duration)
    except PortTaken as exc:
        typer.echo(f"station demo: {exc}", err=True)
        raise typer.Exit(2) from None


def main() -> None:
    app()


if __name__ == "__main__":
    main()
