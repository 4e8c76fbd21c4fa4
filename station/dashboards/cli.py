"""`station dashboards …`: generate the Grafana files, or push them to a running Grafana."""

from __future__ import annotations

import os

import typer

app = typer.Typer(help="Grafana boards and alert rules for facility staff.", no_args_is_help=True)


@app.command("build")
def build() -> None:
    """Rewrite dashboards/grafana/ (provisioning files and dashboard JSON) from the code."""
    from .build import write

    for path in write():
        typer.echo(f"wrote {path}")


@app.command("provision")
def provision(
    grafana_url: str = typer.Option(..., "--grafana-url", help="e.g. http://grafana.la-station.lan:3000"),
    token: str = typer.Option(None, "--token", envvar="GRAFANA_TOKEN",
                              help="Service-account token (or GRAFANA_TOKEN in the environment)."),
    influx_url: str = typer.Option("http://influxdb:8086", "--influx-url", help="InfluxDB as Grafana reaches it."),
    influx_database: str = typer.Option("station", "--influx-db", help="Bucket / database (DBRP) name."),
) -> None:
    """Push data source, folder, dashboards and alert rules; a second run changes nothing."""
    from grafana_client.client import GrafanaException

    from .provision import Provisioner

    if not token:
        typer.echo("no Grafana token: pass --token or set GRAFANA_TOKEN", err=True)
        raise typer.Exit(2)
    influx_token = os.environ.get("STATION_INFLUX_TOKEN", "")
    try:
        report = Provisioner(grafana_url, token, influx_url=influx_url, influx_database=influx_database,
                             influx_token=influx_token).run()
    except GrafanaException as exc:
        typer.echo(f"Grafana refused ({exc.status_code}): {exc}", err=True)
        raise typer.Exit(1) from None
    for kind, items in (("created", report.created), ("updated", report.updated)):
        for item in items:
            typer.echo(f"{kind}: {item}")
    typer.echo(f"{len(report.unchanged)} unchanged" + ("" if report.changed else " — nothing to do"))
