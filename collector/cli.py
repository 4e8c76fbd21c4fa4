"""`station collector …`, `station influx setup` and `station occupancy-eval`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from station.cli_common import MqttTlsCaOpt, VerboseOpt, load_or_fail, setup_logging, wait_for_signal

app = typer.Typer(help="The collector: MQTT in, occupancy and time series out.", no_args_is_help=True)
influx_app = typer.Typer(help="InfluxDB, where the collector writes its time series.", no_args_is_help=True)

StateDirOpt = typer.Option(None, "--state-dir", help="Embedded history, dead letters and the InfluxDB spool live "
                                                        "here (STATION_STATE_DIR; default var/collector).")
BucketOpt = typer.Option(None, "--influx-bucket", help="STATION_INFLUX_BUCKET; default station.")
OrgOpt = typer.Option(None, "--influx-org", help="STATION_INFLUX_ORG; default station.")


def settings_from(**options):
    """The settings tree: STATION_* variables, then the options given on the command line.

    A variable that does not parse stops here, naming it (``environment: NAME: reason``)."""
    from pydantic import ValidationError

    from collector.settings import CollectorSettings

    try:
        settings = CollectorSettings()
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(f"environment: STATION_{'_'.join(map(str, error['loc'])).upper()}: {error['msg']}", err=True)
        raise typer.Exit(2)
    mqtt = {k: v for k, v in (("host", options.pop("mqtt_host", None)), ("port", options.pop("mqtt_port", None)),
                              ("tls_ca", options.pop("mqtt_tls_ca", None)),
                              ("client_id", options.pop("client_id", None))) if v is not None}
    influx = {k: v for k, v in (("url", options.pop("influx_url", None)), ("bucket", options.pop("influx_bucket", None)),
                                ("org", options.pop("influx_org", None))) if v is not None}
    update = {k: v for k, v in options.items() if v not in (None, [], ())}
    if update.get("partition"):  # the command line's choice of sites replaces the environment's
        from station.partition import Partition

        try:
            Partition.parse(update["partition"])
        except ValueError as exc:
            typer.echo(f"--partition: {exc}", err=True)
            raise typer.Exit(2) from None
        if update.get("sites"):
            typer.echo("give --site or --partition, not both", err=True)
            raise typer.Exit(2)
        update["sites"] = []
    elif update.get("sites"):
        update["partition"] = None
    if mqtt:
        update["mqtt"] = settings.mqtt.model_copy(update=mqtt)
    if influx:
        update["influx"] = settings.influx.model_copy(update=influx)
    return settings.model_copy(update=update)


@app.command("run")
def collector_run(inventory: Optional[Path] = typer.Option(None, "--inventory", help="Site inventory (YAML); "
                                                           "STATION_INVENTORY."),
                  mqtt_host: Optional[str] = typer.Option(None, "--mqtt-host", help="STATION_MQTT_HOST."),
                  mqtt_port: Optional[int] = typer.Option(None, "--mqtt-port", help="STATION_MQTT_PORT."),
                  mqtt_tls_ca: Optional[Path] = MqttTlsCaOpt, state_dir: Optional[Path] = StateDirOpt,
                  influx_url: Optional[str] = typer.Option(None, "--influx-url", help="Write to this InfluxDB "
                                                           "instead of the embedded SQLite history (STATION_INFLUX_URL)."),
                  influx_bucket: Optional[str] = BucketOpt, influx_org: Optional[str] = OrgOpt,
                  metrics_port: Optional[int] = typer.Option(None, "--metrics-port",
                                                             help="Serve Prometheus /metrics on this port "
                                                                  "(STATION_METRICS_PORT)."),
                  client_id: Optional[str] = typer.Option(None, "--client-id", help="MQTT client id: also the "
                                                          "persistent session's name (STATION_MQTT_CLIENT_ID)."),
                  site: Optional[list[str]] = typer.Option(None, "--site", help="Only these sites (repeat; "
                                                           "STATION_SITES): one collector per group of sites."),
                  partition: Optional[str] = typer.Option(None, "--partition", help="k/M: collector k of M takes "
                                                          "the sites the shared partition gives it "
                                                          "(STATION_PARTITION; instead of --site)."),
                  verbose: bool = VerboseOpt) -> None:
    """Ingest node messages, store time series, publish room occupancy."""
    from collector.service import Collector

    settings = settings_from(inventory=inventory, mqtt_host=mqtt_host, mqtt_port=mqtt_port, mqtt_tls_ca=mqtt_tls_ca,
                             state_dir=state_dir, influx_url=influx_url, influx_bucket=influx_bucket,
                             influx_org=influx_org, metrics_port=metrics_port, client_id=client_id, sites=site, partition=partition)
    setup_logging(verbose)
    inv = load_or_fail(settings.inventory)
    collector = Collector.from_settings(settings, inv).start(wait=None)
    if collector.metrics_port is not None:
        typer.echo(f"metrics: http://127.0.0.1:{collector.metrics_port}/metrics", err=True)
    wait_for_signal()
    collector.stop()


@app.command("dead-letters")
def dead_letters(state_dir: Optional[Path] = StateDirOpt, limit: int = typer.Option(20, "--limit"),
                 reason: Optional[str] = typer.Option(None, "--reason", help="Only this reason (e.g. bad_json)."),
                 sender: Optional[str] = typer.Option(None, "--sender", help="Only this sender (a node id, api…)."),
                 excerpt_bytes: int = typer.Option(300, "--excerpt-bytes", help="How much of each excerpt to print."),
                 summary: bool = typer.Option(False, "--summary", help="Print the totals instead: stored, "
                                                                       "bytes, caps, evicted, not kept.")) -> None:
    """List the latest rejected messages (newest first), one JSON object per line: id, received_at,
    topic, channel, sender, reason, detail, size (of the whole payload), sha256 (of the whole
    payload) and excerpt (its first bytes, as text)."""
    from collector.deadletter import DeadLetters

    path = settings_from(state_dir=state_dir).state_dir / "dead-letters.sqlite"
    if not path.exists():
        typer.echo(f"{path}: no dead-letter store here", err=True)
        raise typer.Exit(1)
    store = DeadLetters(path)
    try:
        if summary:
            typer.echo(json.dumps(store.summary()))
            return
        for letter in store.latest(limit, reason, sender):
            typer.echo(json.dumps({"id": letter.id, "received_at": letter.received_at.isoformat(),
                                   "topic": letter.topic, "channel": letter.channel, "sender": letter.sender,
                                   "reason": letter.reason, "detail": letter.detail, "size": letter.size,
                                   "sha256": letter.sha256,
                                   "excerpt": letter.excerpt[:excerpt_bytes].decode("utf-8", "replace")},
                                  ensure_ascii=False))
    finally:
        store.close()


@influx_app.command("setup")
def influx_setup(url: Optional[str] = typer.Option(None, "--url", help="STATION_INFLUX_URL."),
                 bucket: Optional[str] = BucketOpt, org: Optional[str] = OrgOpt,
                 retention_days: int = typer.Option(0, "--retention-days", help="0 keeps the data forever.")) -> None:
    """Create the bucket and, on InfluxDB 2.x, the DBRP mapping InfluxQL needs. Idempotent."""
    from collector.influx import setup_bucket

    influx = settings_from(influx_url=url, influx_bucket=bucket, influx_org=org).influx
    if not influx.url:
        typer.echo("give --url or STATION_INFLUX_URL", err=True)
        raise typer.Exit(2)
    url = influx.url
    try:
        for step in setup_bucket(influx, retention_s=retention_days * 86400):
            typer.echo(step)
    except Exception as exc:  # noqa: BLE001 - unreachable server, refused token…
        typer.echo(f"{url}: {type(exc).__name__}: {str(exc)[:300]}", err=True)
        raise typer.Exit(1)


def occupancy_eval(file: Path = typer.Argument(..., help="A labelled recording of one room."),
                   fmt: str = typer.Option("uci", "--format",
                                           help="uci (the UCI Occupancy Detection files) | columns (named "
                                                "columns: time, occupied|people, co2_ppm, light_lux, motion, door)"),
                   signals: str = typer.Option("all", "--signals",
                                               help="all | a list of co2, light, motion, door (e.g. co2,light)"),
                   volume_m3: float = typer.Option(50.0, "--volume", help="Room volume (m³)."),
                   ventilation_ach: float = typer.Option(2.0, "--ach",
                                                         help="First guess of air changes per hour (then learned)."),
                   capacity: int = typer.Option(0, "--capacity", help="Seats (0: from the volume).")) -> None:
    """Replay a labelled recording through the occupancy engine; print one JSON object of scores."""
    from collector.evaluate import EvalError, evaluate_csv

    try:
        scores = evaluate_csv(file, fmt, signals=signals, volume_m3=volume_m3, ventilation_ach=ventilation_ach,
                              capacity=capacity or None)
    except EvalError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2)
    typer.echo(json.dumps(scores))


def privacy_held(state_dir: Optional[Path] = None) -> list[dict]:
    """What the collector's stores hold (``station privacy report``): the history (InfluxDB
    when STATION_INFLUX_URL is set, else the embedded file) and the dead letters."""
    from collector.deadletter import DeadLetters
    from collector.retention import CollectorRetention
    from station.history import InfluxHistory, SqliteHistory

    settings = settings_from(state_dir=state_dir)
    history = letters = None
    if settings.influx.url:
        history = InfluxHistory(settings.influx.url, settings.influx.bucket, token=settings.influx.token)
    elif (settings.state_dir / "history.sqlite").exists():
        history = SqliteHistory(settings.state_dir / "history.sqlite")
    if (settings.state_dir / "dead-letters.sqlite").exists():
        letters = DeadLetters(settings.state_dir / "dead-letters.sqlite")
    try:
        return CollectorRetention(history, letters, settings.retention).held()
    finally:
        for store in (history, letters):
            if store is not None:
                store.close()


def forget_card_hashes(hashes: list[str], state_dir: Optional[Path] = None) -> int:
    """Delete the collector's dead letters that hold one of these card hashes (after an
    erasure in the API, which cannot reach the collector's files); how many went."""
    from collector.deadletter import DeadLetters

    path = settings_from(state_dir=state_dir).state_dir / "dead-letters.sqlite"
    if not path.exists():
        return 0
    letters = DeadLetters(path)
    try:
        return sum(letters.forget(h) for h in hashes)
    finally:
        letters.close()
