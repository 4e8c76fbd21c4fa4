"""Edge node configuration file (YAML), validated at start with file, line and reason.

    node: ls-porte-salle-aiguillage
    inventory: /etc/station/la-station.yaml      # relative paths are from this file
    data_dir: /var/lib/station                   # outbox and grant cache (required)
    mqtt:
      host: broker.la-station.lan
      port: 8883
      password_file: /etc/station/secrets/mqtt-password   # never the password itself
      tls_ca: /etc/station/ca.pem
    keys:                                        # required on a door node
      public_key: /etc/station/keys/signing.pub.pem
      # next_public_key: /etc/station/keys/signing.next.pub.pem   # during a key rotation
      hmac_key: /etc/station/secrets/site-hmac.key
    access:                                      # optional; these are the defaults
      unlock_s: 5
      lockout_after: 5
      lockout_window_s: 30
      lockout_s: 60
      staff_when_expired: true
    sensors:                                     # room nodes; default from the profile
      co2: uart                                  # uart, analog or none
      serial_port: /dev/serial0
      light: ldr                                 # ldr or none
      climate: sht31                             # sht31 (I2C 0x44 on /dev/i2c-1) or none

The MQTT username is the node id. Secrets are read from files or the environment
(``STATION_MQTT_PASSWORD``), never from this file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from station.access import NodeKeys, load_node_keys
from station.durable import private_dir
from station.ids import Ident
from station.inventory import ConfigError, Inventory, NodeProfile, load_inventory
from station.mqtt import MqttSettings
from station.yamlfile import describe, line_of, read

from .access import AccessSettings


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KeysSection(Section):
    public_key: Path
    next_public_key: Path | None = Field(default=None, description="Also trusted, during a key rotation.")
    hmac_key: Path


class OutboxSection(Section):
    event_cap: int = Field(default=200_000, ge=100)
    telemetry_cap: int = Field(default=20_000, ge=10)
    #: CNIL n° 42: movement records at most three months; an event still undelivered
    #: after this is dropped (station/privacy.py).
    max_event_age_days: int = Field(default=92, ge=1, le=92)


class SensorsSection(Section):
    co2: Literal["uart", "analog", "none"] | None = None
    serial_port: str = "/dev/serial0"
    light: Literal["ldr", "none"] = "ldr"
    climate: Literal["sht31", "none"] = "sht31"
    i2c_bus: int = Field(default=1, ge=0, le=10)


class EdgeConfig(Section):
    node: Ident
    inventory: Path
    profile: Path | None = Field(default=None, description="Hardware profile; default from the node's kind.")
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    data_dir: Path
    keys: KeysSection | None = None
    access: AccessSettings = Field(default_factory=AccessSettings)
    outbox: OutboxSection = Field(default_factory=OutboxSection)
    sensors: SensorsSection = Field(default_factory=SensorsSection)
    telemetry_interval_s: float = Field(default=60.0, ge=1, le=3600)


def load_edge_config(path: Path | str) -> tuple[EdgeConfig, Inventory, str]:
    """Load the config and its inventory; return them with the config's hash.

    Raises ConfigError (``file:line: field: reason``) on any problem, including a node id
    the inventory does not list and a door node without keys.
    """
    path = Path(path)
    data, lines = read(path)
    _resolve_paths(data, path.resolve().parent)
    try:
        config = EdgeConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(path, exc, lines)) from None
    if config.mqtt.password is not None:
        raise ConfigError([f"{path}:{line_of(('mqtt', 'password'), lines)}: mqtt.password: never the password itself "
                           "in this file; use mqtt.password_file or STATION_MQTT_PASSWORD"])
    inventory = load_inventory(config.inventory)
    try:
        _, node = inventory.node(config.node)
    except KeyError:
        raise ConfigError([f"{path}:{line_of(('node',), lines)}: node: {config.node!r} is not a node of "
                           f"{config.inventory}"]) from None
    if node.profile in (NodeProfile.door_node, NodeProfile.machine_node) and config.keys is None:
        raise ConfigError([f"{path}:{line_of(('node',), lines)}: keys: a {node.profile.value.replace('_', ' ')} needs "
                           "keys.public_key and keys.hmac_key to verify grant lists and hash badges"])
    digest = hashlib.sha256(path.read_bytes() + config.inventory.read_bytes()).hexdigest()[:12]
    return config, inventory, digest


#: Paths in the config file, read relative to the file's folder.
PATHS = (("inventory",), ("profile",), ("data_dir",), ("keys", "public_key"), ("keys", "next_public_key"),
         ("keys", "hmac_key"), ("mqtt", "password_file"), ("mqtt", "tls_ca"))


def _resolve_paths(data, base: Path) -> None:
    """Make the file's relative paths absolute (from its folder), before validation."""
    if not isinstance(data, dict):
        return
    for loc in PATHS:
        holder = data
        for key in loc[:-1]:
            holder = holder.get(key) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and isinstance(holder.get(loc[-1]), str) and holder[loc[-1]]:
            value = Path(holder[loc[-1]]).expanduser()
            holder[loc[-1]] = str(value if value.is_absolute() else base / value)


def site_keys(config: EdgeConfig) -> NodeKeys | None:
    """Read the key files named in the config (ConfigError names the file)."""
    if config.keys is None:
        return None
    return load_node_keys(config.keys.public_key, config.keys.hmac_key, config.keys.next_public_key)


def check_data_dir(config: EdgeConfig) -> None:
    """The data directory must exist (or be creatable) and be writable."""
    try:
        private_dir(config.data_dir)  # 0700 when we create it: outbox and grant cache
    except OSError as exc:
        raise ConfigError([f"data_dir: cannot create {config.data_dir}: {exc.strerror}"]) from None
    if not os.access(config.data_dir, os.W_OK):
        raise ConfigError([f"data_dir: {config.data_dir} is not writable"])


def mqtt_settings(config: EdgeConfig) -> MqttSettings:
    """The node's broker settings: its account is its node id; the password comes from
    ``mqtt.password_file`` or the environment (``STATION_MQTT_PASSWORD``)."""
    mqtt = config.mqtt
    if mqtt.username not in (None, config.node) or mqtt.client_id not in (None, config.node):
        raise ConfigError([f"mqtt: a node's broker account and client id are its node id ({config.node})"])
    password = os.environ.get("STATION_MQTT_PASSWORD")
    if mqtt.password_file is not None:
        try:
            password = mqtt.password_file.read_text().strip()
        except OSError as exc:
            raise ConfigError([f"mqtt.password_file: cannot read {mqtt.password_file}: {exc.strerror}"]) from None
    return mqtt.model_copy(update={"username": config.node, "client_id": config.node, "password": password,
                                   "password_file": None})


def room_sensors(config: EdgeConfig, profile, pin_factory=None):
    """Build a room node's sensors from the config and the profile's options."""
    from .devices.analog import AnalogCo2, LdrLight, open_mcp3008
    from .devices.mhz19 import MHZ19B
    from .node import RoomSensors

    co2_source = config.sensors.co2 or profile.options.get("co2_source", "none")
    sensors = RoomSensors()
    if co2_source == "uart":
        try:
            sensors.co2 = MHZ19B(config.sensors.serial_port)
        except Exception as exc:  # noqa: BLE001 - pyserial raises SerialException (an OSError) or ValueError
            raise ConfigError([f"sensors.serial_port: cannot open {config.sensors.serial_port}: {exc}"]) from None
    elif co2_source == "analog":
        sensors.co2 = AnalogCo2(open_mcp3008(int(profile.options.get("analog_co2_channel", 1)),
                                             pin_factory=pin_factory))
    if config.sensors.climate == "sht31" and profile.buses.get("i2c1"):
        from .devices.sht31 import SHT31, LinuxI2c
        try:
            sensors.climate = SHT31(LinuxI2c(config.sensors.i2c_bus))
        except OSError as exc:
            raise ConfigError([f"sensors.i2c_bus: cannot open /dev/i2c-{config.sensors.i2c_bus}: "
                               f"{exc.strerror}"]) from None
    if config.sensors.light == "ldr" and profile.buses.get("spi0"):
        sensors.light = LdrLight(open_mcp3008(int(profile.options.get("light_channel", 0)), pin_factory=pin_factory))
    return sensors
