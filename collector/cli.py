"""`station collector …`, `station influx setup` and `station occupancy-eval`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer

from station.cli_common import (InventoryOpt, MqttHostOpt, MqttPortOpt, MqttTlsCaOpt, VerboseOpt, load_or_fail,
                                setup_logging, wait_for_signal)

app = typer.Typer(help="The collector: MQTT in, occupancy and time series out.", no_args_is_help=True)
influx_app = typer.Typer(help="InfluxDB, where the collector writes its time series.", no_args_is_help=True)

StateDirOpt = typer.Option(Path("var/collector"), "--state-dir", envvar="STATION_COLLECTOR_STATE",
                           help="Embedded history, dead letters and the InfluxDB spool live here.")
InfluxUrlOpt = typer.Option(None, "--influx-url", envvar="STATION_INFLUX_URL",
                            help="Write to this InfluxDB instead of the embedded SQLite history.")
BucketOpt = typer.Option("station", "--influx-bucket", envvar="STATION_INFLUX_BUCKET")
OrgOpt = typer.Option("station", "--influx-org", envvar="STATION_INFLUX_ORG")


def _influx_settings(url: str, bucket: str, org: str):
    from collector.influx import InfluxSettings

    return InfluxSettings(url=url, bucket=bucket, org=org, token=os.environ.get("STATION_INFLUX_TOKEN"))


@app.command("run")
def collector_run(inventory: Path = InventoryOpt, mqtt_host: str = MqttHostOpt, mqtt_port: int = MqttPortOpt,
                  mqtt_tls_ca: Optional[Path] = MqttTlsCaOpt, state_dir: Path = StateDirOpt, influx_url: Optional[str] = InfluxUrlOpt,
                  influx_bucket: str = BucketOpt, influx_org: str = OrgOpt,
                  metrics_port: Optional[int] = typer.Option(None, "--metrics-port", envvar="STATION_METRICS_PORT",
                                                             help="Serve Prometheus /metrics on this port."),
                  client_id: str = typer.Option("collector", "--client-id", envvar="STATION_MQTT_CLIENT_ID",
                                                help="MQTT client id: also the persistent session's name."),
                  site: Optional[list[str]] = typer.Option(None, "--site", help="Only these sites (repeat): "
                                                           "one collector per group of sites scales out."),
                  verbose: bool = VerboseOpt) -> None:
    """Ingest node messages, store time series, publish room occupancy."""
    from collector.service import Collector
    from station.mqtt import MqttSettings

    setup_logging(verbose)
    inv = load_or_fail(inventory)
    settings = MqttSettings(host=mqtt_host, port=mqtt_port, username=os.environ.get("STATION_MQTT_USERNAME"),
                            password=os.environ.get("STATION_MQTT_PASSWORD"),
                            tls_ca=str(mqtt_tls_ca) if mqtt_tls_ca else None)
    influx = _influx_settings(influx_url, influx_bucket, influx_org) if influx_url else None
    collector = Collector(inv, settings, client_id=client_id, state_dir=state_dir, influx=influx,
                          metrics_port=metrics_port, sites=site or None).start(wait=None)
    if collector.metrics_port is not None:
        typer.echo(f"metrics: http://127.0.0.1:{collector.metrics_port}/metrics", err=True)
    wait_for_signal()
    collector.stop()


@app.command("dead-letters")
def dead_letters(state_dir: Path = StateDirOpt, limit: int = typer.Option(20, "--limit"),
                 reason: Optional[str] = typer.Option(None, "--reason")) -> None:
    """List the latest rejected messages (newest first), one JSON object per line."""
    from collector.deadletter import DeadLetters

    path = state_dir / "dead-letters.sqlite"
    if not path.exists():
        typer.echo(f"{path}: no dead-letter store here", err=True)
        raise typer.Exit(1)
    store = DeadLetters(path)
    for letter in store.latest(limit, reason):
        typer.echo(json.dumps({"id": letter.id, "received_at": letter.received_at.isoformat(), "topic": letter.topic,
                               "reason": letter.reason, "detail": letter.detail,
                               "payload": letter.payload[:500].decode("utf-8", "replace")}, ensure_ascii=False))
    store.close()


@influx_app.command("setup")
def influx_setup(url: str = typer.Option(..., "--url", envvar="STATION_INFLUX_URL"), bucket: str = BucketOpt,
                 org: str = OrgOpt,
                 retention_days: int = typer.Option(0, "--retention-days", help="0 keeps the data forever.")) -> None:
    """Create the bucket and, on InfluxDB 2.x, the DBRP mapping InfluxQL needs. Idempotent."""
    from collector.influx import setup_bucket

    try:
        for step in setup_bucket(_influx_settings(url, bucket, org), retention_s=retention_days * 86400):
            typer.echo(step)
    except Exception as exc:  # noqa: BLE001 - unreachable server, refused token…
        typer.echo(f"{url}: {type(exc).__name__}: {str(exc)[:300]}", err=True)
        raise typer.Exit(1)


def occupancy_eval(file: Path = typer.Argument(..., help="CSV: date,Temperature,Humidity,Light,CO2,"
                                                        "HumidityRatio,Occupancy (1-minute rows)."),
                   signals: str = typer.Option("all", "--signals", help="co2 | co2,light | all"),
                   volume_m3: float = typer.Option(25.0, "--volume", help="Room volume (m³)."),
                   ventilation_ach: float = typer.Option(2.0, "--ach", help="Air changes per hour.")) -> None:
    """Replay labelled readings through the occupancy engine; print one JSON object of scores."""
    from collector.evaluate import EvalError, evaluate_csv

    try:
        scores = evaluate_csv(file, signals=signals, volume_m3=volume_m3, ventilation_ach=ventilation_ach)
    except EvalError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)
    typer.echo(json.dumps(scores))
