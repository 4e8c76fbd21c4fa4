"""`station edge …`: run one node, or simulate a whole site."""

from __future__ import annotations

import os
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
    from edge.config import load_edge_config, mqtt_settings
    from edge.profiles import load_profile

    try:
        cfg, inv, digest = load_edge_config(config)
        _, node = inv.node(cfg.node)
        profile = load_profile(cfg.profile or node.profile.value)
        mqtt = mqtt_settings(cfg)
    except ConfigError as exc:
        fail(exc)
    if validate_config:
        typer.echo(f"{config}: ok — node {cfg.node} ({node.profile.value}), config hash {digest}")
        return
    setup_logging(verbose)
    from edge.node import EdgeNode

    node_agent = EdgeNode(inv, cfg.node, mqtt, profile=profile, config_hash=digest,
                          telemetry_interval_s=cfg.telemetry_interval_s).start(wait=None)
    wait_for_signal()
    node_agent.stop()


@app.command("simulate")
def edge_simulate(inventory: Path = InventoryOpt, mqtt_host: str = MqttHostOpt, mqtt_port: int = MqttPortOpt,
                  site: Optional[list[str]] = typer.Option(None, "--site", help="Site(s) to simulate; default all."),
                  speed: float = typer.Option(60.0, "--speed", help="Clock acceleration."),
                  truth: Optional[Path] = typer.Option(None, "--truth", help="Write ground truth CSV here."),
                  seed: int = typer.Option(7, "--seed"),
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
                            seed=seed, truth_csv=truth).start()
    wait_for_signal()
    sim.stop()
