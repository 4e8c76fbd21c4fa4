"""Edge node configuration file (YAML), validated at start with file, line and reason.

    node: ls-porte-salle-aiguillage
    inventory: /etc/station/la-station.yaml      # relative paths are from this file
    mqtt:
      host: broker.la-station.lan
      port: 8883
      password_file: /etc/station/secrets/mqtt-password   # never the password itself
      tls_ca: /etc/station/ca.pem
    data_dir: /var/lib/station

The MQTT username is the node id. Secrets are read from files or the environment
(``STATION_MQTT_PASSWORD``), never from this file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from station.inventory import ConfigError, Inventory, load_inventory
from station.mqtt import MqttSettings
from station.yamlfile import load


class MqttSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    password_file: Path | None = None
    tls_ca: Path | None = None
    keepalive_s: int = Field(default=30, ge=5, le=300)


class EdgeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    inventory: Path
    profile: Path | None = Field(default=None, description="Hardware profile; default from the node's kind.")
    mqtt: MqttSection = Field(default_factory=MqttSection)
    data_dir: Path = Path("/var/lib/station")
    telemetry_interval_s: float = Field(default=60.0, ge=1, le=3600)


def load_edge_config(path: Path | str) -> tuple[EdgeConfig, Inventory, str]:
    """Load the config and its inventory; return them with the config's hash.

    Raises ConfigError (``file:line: field: reason``) on any problem, including a node id
    the inventory does not list.
    """
    path = Path(path)
    config = load(path, EdgeConfig)
    base = path.resolve().parent
    resolve = lambda p: p if p is None or p.is_absolute() else (base / p)  # noqa: E731
    config = config.model_copy(update={
        "inventory": resolve(config.inventory), "profile": resolve(config.profile),
        "data_dir": resolve(config.data_dir),
        "mqtt": config.mqtt.model_copy(update={"password_file": resolve(config.mqtt.password_file),
                                               "tls_ca": resolve(config.mqtt.tls_ca)})})
    inventory = load_inventory(config.inventory)
    try:
        inventory.node(config.node)
    except KeyError:
        raise ConfigError([f"{path}:1: node: {config.node!r} is not a node of {config.inventory}"]) from None
    digest = hashlib.sha256(path.read_bytes() + config.inventory.read_bytes()).hexdigest()[:12]
    return config, inventory, digest


def mqtt_settings(config: EdgeConfig) -> MqttSettings:
    password = os.environ.get("STATION_MQTT_PASSWORD")
    if config.mqtt.password_file is not None:
        try:
            password = config.mqtt.password_file.read_text().strip()
        except OSError as exc:
            raise ConfigError([f"mqtt.password_file: cannot read {config.mqtt.password_file}: {exc.strerror}"]) from None
    return MqttSettings(host=config.mqtt.host, port=config.mqtt.port, username=config.node,
                        password=password, tls_ca=str(config.mqtt.tls_ca) if config.mqtt.tls_ca else None,
                        keepalive=config.mqtt.keepalive_s)
