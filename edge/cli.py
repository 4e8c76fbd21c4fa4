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
                          access=cfg.access.settings(), outbox_event_cap=cfg.outbox.event_cap,
                          outbox_telemetry_cap=cfg.outbox.telemetry_cap).start(wait=None)
    wait_for_signal()
    node_agent.stop()


@app.command("keys")
def edge_keys(out: Path = typer.Option(..., "--out", help="Directory for the development key set.")) -> None:
    """Write a development key set: the site's Ed25519 key pair and HMAC key (kept if present)."""
    from edge.keys import generate_dev_keys

    for role, path in generate_dev_keys(out).items():
        typer.echo(f"{role}: {path}")


@app.command("simulate")
def edge_simulate(inventory: Path = InventoryOpt, mqtt_host: str = MqttHostOpt, mqtt_port: int = MqttPortOpt,
                  site: Optional[list[str]] = typer.Option(None, "--site", help="Site(s) to simulate; default all."),
                  speed: float = typer.Option(60.0, "--speed", help="Clock acceleration."),
                  truth: Optional[Path] = typer.Option(None, "--truth", help="Write ground truth CSV here."),
                  seed: int = typer.Option(7, "--seed"),
                  keys_dir: Optional[Path] = typer.Option(
                      None, "--keys-dir", help="Site key set to use (created if missing); default: a temporary one."),
                  publish_grants: bool = typer.Option(
                      True, "--publish-grants/--no-publish-grants",
                      help="Publish the simulated members' signed grant lists (off when the API publishes them)."),
                  verbose: bool = VerboseOpt) -> None:
    """Run every node of the inventory's sites on mock pins against a real broker."""
    from edge.simulator import BuildingSimulator
    from station.clock import AcceleratedClock
    from station.demo import demo_start
    from station.mqtt import MqttSettings

    setup_logging(verbose)
    inv = load_or_fail(inventory)
    clock = AcceleratedClock(demo_start(inv), speed)
    sim = BuildingSimulator(inv, MqttSettings(host=mqtt_host, port=mqtt_port), clock=clock, sites=site,
                            seed=seed, truth_csv=truth, keys_dir=keys_dir, publish_grants=publish_grants).start()
    wait_for_signal()
    sim.stop()
