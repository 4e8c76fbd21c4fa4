"""`station edge …`: run one node, or simulate a whole site."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from station.cli_common import (InventoryOpt, MqttHostOpt, MqttPortOpt, VerboseOpt, fail, load_or_fail,
                                setup_logging, wait_for_signal)
from station.inventory import ConfigError

app = typer.Typer(help="Edge nodes (Raspberry Pi) and the building simulator.", no_args_is_help=True)


@app.command("run")
def edge_run(config: Path = typer.Option(..., "--config", help="Edge node configuration (YAML)."),
             validate_config: bool = typer.Option(False, "--validate-config", help="Check the config and exit."),
             verbose: bool = VerboseOpt) -> None:
    """Run one edge node on its GPIO pins (GPIOZERO_PIN_FACTORY=mock on a laptop)."""
    from edge.config import check_data_dir, load_edge_config, mqtt_settings, room_sensors, site_keys
    from edge.profiles import load_profile

    try:
        cfg, inv, digest = load_edge_config(config)
        _, node = inv.node(cfg.node)
        profile = load_profile(cfg.profile or node.profile.value)
        if profile.profile != node.profile.value:
            raise ConfigError([f"{config}: profile: {profile.profile} profile for a {node.profile.value}"])
        keys = site_keys(cfg)
        check_data_dir(cfg)
        mqtt = mqtt_settings(cfg)
    except ConfigError as exc:
        fail(exc)
    if validate_config:
        typer.echo(f"{config}: ok — node {cfg.node} ({node.profile.value}), config hash {digest}")
        return
    setup_logging(verbose)
    from edge.node import EdgeNode

    try:
        sensors = room_sensors(cfg, profile) if node.profile.value == "room_node" else None
    except ConfigError as exc:
        fail(exc)
    node_agent = EdgeNode(inv, cfg.node, mqtt, profile=profile, config_hash=digest, sensors=sensors,
                          telemetry_interval_s=cfg.telemetry_interval_s, data_dir=cfg.data_dir, keys=keys,
                          access=cfg.access, outbox_event_cap=cfg.outbox.event_cap,
                          outbox_telemetry_cap=cfg.outbox.telemetry_cap,
                          outbox_max_event_age_days=cfg.outbox.max_event_age_days).start(wait=None)
    wait_for_signal()
    node_agent.stop()


@app.command("simulate")
def edge_simulate(inventory: Path = InventoryOpt, mqtt_host: str = MqttHostOpt, mqtt_port: int = MqttPortOpt,
                  site: Optional[list[str]] = typer.Option(None, "--site", help="Site(s) to simulate; default all."),
                  speed: float = typer.Option(60.0, "--speed", help="Clock acceleration."),
                  truth: Optional[Path] = typer.Option(None, "--truth", help="Write ground truth CSV here."),
                  seed: int = typer.Option(7, "--seed"),
                  keys_dir: Optional[Path] = typer.Option(
                      None, "--keys-dir", help="The site's key set (station api keys DIR): nodes get its public and "
                                               "HMAC keys. Default: a throw-away one (then no API can sign for them)."),
                  api: Optional[str] = typer.Option(
                      None, "--api", help="The API's base URL: the simulated people become its members and book "
                                          "through it. Without it nobody badges (the exit button stands in)."),
                  api_admin: Optional[str] = typer.Option(
                      None, "--api-admin", help="The administrator who enrols them (password in "
                                                "STATION_SIM_ADMIN_PASSWORD)."),
                  verbose: bool = VerboseOpt) -> None:
    """Run every node of the inventory's sites on mock pins against a real broker."""
    import os
    import random

    from edge.simulator import ApiPeople, BuildingSimulator
    from station.clock import AcceleratedClock, weekday_morning
    from station.mqtt import MqttSettings

    setup_logging(verbose)
    inv = load_or_fail(inventory)
    people = None
    if api:
        password = os.environ.get("STATION_SIM_ADMIN_PASSWORD")
        if not api_admin or not password:
            typer.echo("--api needs --api-admin and STATION_SIM_ADMIN_PASSWORD", err=True)
            raise typer.Exit(2)
        people = ApiPeople(api, api_admin, password, inv, rng=random.Random(seed))
    clock = AcceleratedClock(weekday_morning(inv.sites[0].timezone), speed)
    sim = BuildingSimulator(inv, MqttSettings(host=mqtt_host, port=mqtt_port), clock=clock, sites=site,
                            seed=seed, truth_csv=truth, keys_dir=keys_dir, people=people).start()
    wait_for_signal()
    sim.stop()


def privacy_held(data_dir: Path) -> list[dict]:
    """What a node's outbox holds (``station privacy report --edge-data-dir``): undelivered
    events (they may carry card hashes) and telemetry; delivered rows are gone."""
    from edge.outbox import Outbox

    path = Path(data_dir) / "outbox.sqlite3"
    if not path.exists():
        return []
    box = Outbox(path)
    try:
        events, oldest = box.oldest_event()
        return [{"store": f"edge outbox {path}", "what": "undelivered events (card hashes)", "rows": events,
                 "oldest": oldest.isoformat() if oldest else None, "horizon_days": box.max_event_age.days},
                {"store": f"edge outbox {path}", "what": "undelivered telemetry (no person)",
                 "rows": box.count("telemetry"), "oldest": None, "horizon_days": None}]
    finally:
        box.close()
